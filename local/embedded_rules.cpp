#include "local/embedded_rules.hpp"

// The assembler copies the built library into read-only data; DSQL_RULES_LIBRARY is its path.
asm(".section .rodata\n"
    ".balign 16\n"
    ".global dsql_rules_library_begin\n"
    "dsql_rules_library_begin:\n"
    ".incbin \"" DSQL_RULES_LIBRARY
    "\"\n"
    ".global dsql_rules_library_end\n"
    "dsql_rules_library_end:\n"
    ".previous\n");

extern "C" const char dsql_rules_library_begin[];
extern "C" const char dsql_rules_library_end[];

namespace dsql::local {

std::string_view embedded_rules_library() {
  return {dsql_rules_library_begin,
          static_cast<std::size_t>(dsql_rules_library_end - dsql_rules_library_begin)};
}

}  // namespace dsql::local
