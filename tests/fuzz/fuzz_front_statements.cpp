// Fuzzes the front's SQL classifier and rewrites (local/front_statements.hpp, relay_rules.hpp),
// which read every statement a client sends. Beyond not crashing, it checks what keeps user text
// from becoming SQL: a dollar-quoted literal closes exactly at its end, and a raised error or a
// rewritten ASYNC statement stays one statement, whatever the text holds.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "local/front_statements.hpp"
#include "local/relay_rules.hpp"

namespace {

void require(bool ok) {
  if (!ok) __builtin_trap();
}

// One statement, covering all of `sql` but for surrounding whitespace.
bool one_statement(const std::string& sql) {
  return dsql::local::split_statements(sql).size() == 1;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dsql::local;
  const std::string input(reinterpret_cast<const char*>(data), size);

  const std::string quoted = dollar_quote(input);
  const std::size_t tag_end = quoted.find('$', 1) + 1;
  const std::string tag = quoted.substr(0, tag_end);
  require(quoted.size() >= 2 * tag.size() &&
          quoted.compare(quoted.size() - tag.size(), tag.size(), tag) == 0);
  require(quoted.find(tag, tag.size()) == quoted.size() - tag.size());

  // An error carrying the text is one statement: nothing of the text runs.
  require(one_statement(raise_statement({"42501", input, input})));
  require(one_statement(raise_statement({"40001", input, {}}, 3)));

  fault_counters faults;
  faults.fail_statement = size > 0 && (data[0] & 1) ? 1 : 0;
  faults.fail_commit = size > 0 && (data[0] & 2) ? 1 : 0;
  const char status = size > 1 ? "ITE"[data[1] % 3] : 'I';
  const classified_query query = classify_query(input);
  for (std::size_t i = 0; i < query.spans.size(); ++i) {
    require(query.spans[i].begin <= query.spans[i].end && query.spans[i].end <= input.size());
    if (const auto& rewritten = query.classes[i].rewritten) {
      // The CALL that submits an async job is one statement too.
      if (rewritten->rfind("CALL ", 0) == 0) require(one_statement(*rewritten));
    }
  }
  const query_plan plan = plan_query(input, query, status, faults);
  if (plan.what == query_plan::action::forward && !plan.injected_oc001) {
    bool rewrites = false;
    for (const auto& c : query.classes) rewrites = rewrites || c.rewritten.has_value();
    if (!rewrites && !query.classes.empty()) {
      bool front = false;
      for (const auto& c : query.classes) front = front || c.front_command();
      if (!front) require(plan.sql == input);
    }
  }
  wire::parse_message parse;
  parse.query = input;
  (void)plan_parse(parse, status, faults);
  return 0;
}
