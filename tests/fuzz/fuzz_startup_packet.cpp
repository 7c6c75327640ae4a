// Fuzzes everything the front parses from an unauthenticated client: the startup packet, the
// message framing, and the statement classifier that reads SQL text in the relay.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "local/front_statements.hpp"
#include "local/wire_protocol.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  if (input.size() >= 4) {
    (void)dsql::local::wire::check_startup_length(dsql::local::wire::read_u32(input, 0));
  }
  (void)dsql::local::wire::parse_startup(input);

  dsql::local::wire::message_reader reader(dsql::local::wire::max_password_message);
  reader.feed(input.data(), input.size());
  while (auto m = reader.next()) {
    (void)dsql::local::wire::parse_password(m->body);
    (void)dsql::local::wire::parse_error_fields(m->body);
    (void)dsql::local::wire::parse_parameter_status(m->body);
    if (auto p = dsql::local::wire::parse_parse(m->body)) {
      (void)dsql::local::classify_statement(p->query);
    }
  }

  for (const auto& span : dsql::local::split_statements(input)) {
    if (span.begin > span.end || span.end > input.size()) __builtin_trap();
    (void)dsql::local::classify_statement(input.substr(span.begin, span.end - span.begin));
  }
  return 0;
}
