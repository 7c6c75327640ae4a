// libFuzzer target: the AWS shared config/credentials INI parser must either parse or throw
// dsql::credentials_error, never crash, hang or throw anything else.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "credentials/shared_config.hpp"
#include "dsql/errors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // The first byte picks the file kind so both grammars get coverage from one corpus.
  const auto kind = (data[0] & 1) != 0 ? dsql::aws_config::file_kind::credentials
                                       : dsql::aws_config::file_kind::config;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    const auto parsed = dsql::aws_config::parse(text, kind, "fuzz");
    for (const auto& [name, section] : parsed.profiles) {
      if (name != section.name) __builtin_trap();  // the map key and the section must agree
    }
  } catch (const dsql::credentials_error&) {
  }
  return 0;
}
