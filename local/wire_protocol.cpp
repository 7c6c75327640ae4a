#include "local/wire_protocol.hpp"

#include <cstring>

namespace dsql::local::wire {
namespace {

error_info protocol_violation(std::string message) {
  return {"08P01", std::move(message), {}};
}

// Reads a NUL-terminated string at pos; advances pos past the NUL.
std::optional<std::string> read_cstring(std::string_view s, std::size_t& pos) {
  if (pos > s.size()) return std::nullopt;
  const std::size_t end = s.find('\0', pos);
  if (end == std::string_view::npos) return std::nullopt;
  std::string out(s.substr(pos, end - pos));
  pos = end + 1;
  return out;
}

void append_cstring(std::string& out, std::string_view s) {
  out.append(s.data(), s.size());
  out.push_back('\0');
}

}  // namespace

const std::string* startup_packet::param(std::string_view name) const {
  for (const auto& [k, v] : params) {
    if (k == name) return &v;
  }
  return nullptr;
}

std::uint32_t read_u32(const unsigned char* p) noexcept {
  return (static_cast<std::uint32_t>(p[0]) << 24) | (static_cast<std::uint32_t>(p[1]) << 16) |
         (static_cast<std::uint32_t>(p[2]) << 8) | static_cast<std::uint32_t>(p[3]);
}

std::uint32_t read_u32(std::string_view s, std::size_t offset) noexcept {
  return read_u32(reinterpret_cast<const unsigned char*>(s.data() + offset));
}

void append_u32(std::string& out, std::uint32_t v) {
  out.push_back(static_cast<char>((v >> 24) & 0xff));
  out.push_back(static_cast<char>((v >> 16) & 0xff));
  out.push_back(static_cast<char>((v >> 8) & 0xff));
  out.push_back(static_cast<char>(v & 0xff));
}

void append_u16(std::string& out, std::uint16_t v) {
  out.push_back(static_cast<char>((v >> 8) & 0xff));
  out.push_back(static_cast<char>(v & 0xff));
}

std::optional<error_info> check_startup_length(std::uint32_t length) {
  if (length < 8 || length > max_startup_packet) {
    return protocol_violation("invalid length of startup packet");
  }
  return std::nullopt;
}

std::variant<startup_packet, error_info> parse_startup(std::string_view packet) {
  if (packet.size() < 8) return protocol_violation("incomplete startup packet");
  const std::uint32_t length = read_u32(packet, 0);
  if (auto e = check_startup_length(length)) return *e;
  if (length != packet.size()) return protocol_violation("incomplete startup packet");

  startup_packet out;
  out.protocol = read_u32(packet, 4);
  switch (out.protocol) {
    case ssl_request_code:
    case gssenc_request_code:
      if (length != 8) return protocol_violation("invalid length of startup packet");
      out.kind = out.protocol == ssl_request_code ? startup_kind::ssl_request
                                                  : startup_kind::gssenc_request;
      return out;
    case cancel_request_code:
      if (length != 16) return protocol_violation("invalid length of cancel request packet");
      out.kind = startup_kind::cancel_request;
      out.cancel_pid = read_u32(packet, 8);
      out.cancel_key = read_u32(packet, 12);
      return out;
    default:
      break;
  }
  if ((out.protocol >> 16) != 3) {
    return error_info{"0A000",
                      "unsupported frontend protocol " + std::to_string(out.protocol >> 16) + "." +
                          std::to_string(out.protocol & 0xffff) + ": server supports 3.0 to 3.0",
                      {}};
  }
  // name\0value\0 ... \0: the final NUL must be the last byte.
  std::size_t pos = 8;
  for (;;) {
    if (pos >= packet.size()) return protocol_violation("invalid startup packet layout");
    if (packet[pos] == '\0') {
      if (pos + 1 != packet.size()) return protocol_violation("invalid startup packet layout");
      break;
    }
    auto name = read_cstring(packet, pos);
    if (!name) return protocol_violation("invalid startup packet layout");
    auto value = read_cstring(packet, pos);
    if (!value) return protocol_violation("invalid startup packet layout");
    for (const auto& [k, v] : out.params) {
      if (k == *name) return protocol_violation("duplicate startup parameter \"" + k + "\"");
    }
    out.params.emplace_back(std::move(*name), std::move(*value));
  }
  return out;
}

std::string build_startup(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string body;
  append_u32(body, protocol_3_0);
  for (const auto& [k, v] : params) {
    append_cstring(body, k);
    append_cstring(body, v);
  }
  body.push_back('\0');
  std::string out;
  append_u32(out, static_cast<std::uint32_t>(body.size() + 4));
  out += body;
  return out;
}

std::string build_cancel_request(std::uint32_t pid, std::uint32_t key) {
  std::string out;
  append_u32(out, 16);
  append_u32(out, cancel_request_code);
  append_u32(out, pid);
  append_u32(out, key);
  return out;
}

std::string frame(char type, std::string_view body) {
  std::string out;
  out.reserve(body.size() + 5);
  out.push_back(type);
  append_u32(out, static_cast<std::uint32_t>(body.size() + 4));
  out.append(body.data(), body.size());
  return out;
}

std::optional<message> message_reader::next() {
  if (error_) return std::nullopt;
  const std::size_t available = buffer_.size() - offset_;
  if (available < 5) return std::nullopt;
  const std::uint32_t length = read_u32(buffer_, offset_ + 1);
  if (length < 4 || length - 4 > max_message_) {
    error_ = true;
    return std::nullopt;
  }
  if (available < std::size_t{length} + 1) return std::nullopt;
  message m;
  m.type = buffer_[offset_];
  m.body.assign(buffer_, offset_ + 5, length - 4);
  offset_ += std::size_t{length} + 1;
  // Compact once the consumed prefix dominates, so the buffer does not grow without bound.
  if (offset_ == buffer_.size()) {
    buffer_.clear();
    offset_ = 0;
  } else if (offset_ > 65536 && offset_ * 2 > buffer_.size()) {
    buffer_.erase(0, offset_);
    offset_ = 0;
  }
  return m;
}

std::size_t message_reader::pending_announced() const noexcept {
  if (buffer_.size() - offset_ < 5) return 0;
  return std::size_t{read_u32(buffer_, offset_ + 1)} + 1;
}

std::string error_response(std::string_view severity, const error_info& error) {
  error_fields fields{{'S', std::string(severity)},
                      {'V', std::string(severity)},
                      {'C', error.sqlstate},
                      {'M', error.message}};
  if (!error.hint.empty()) fields.emplace_back('H', error.hint);
  return frame('E', build_error_fields(fields));
}

std::string authentication_request(std::uint32_t code) {
  std::string body;
  append_u32(body, code);
  return frame('R', body);
}

std::string parameter_status(std::string_view name, std::string_view value) {
  std::string body;
  append_cstring(body, name);
  append_cstring(body, value);
  return frame('S', body);
}

std::string backend_key_data(std::uint32_t pid, std::uint32_t key) {
  std::string body;
  append_u32(body, pid);
  append_u32(body, key);
  return frame('K', body);
}

std::string ready_for_query(char status) {
  return frame('Z', std::string_view(&status, 1));
}

std::string command_complete(std::string_view tag) {
  std::string body;
  append_cstring(body, tag);
  return frame('C', body);
}

std::string negotiate_protocol_version(std::uint32_t newest_minor) {
  std::string body;
  append_u32(body, (3u << 16) | newest_minor);
  append_u32(body, 0);
  return frame('v', body);
}

std::optional<std::string> parse_password(std::string_view body) {
  if (body.empty() || body.back() != '\0') return std::nullopt;
  const std::string_view text = body.substr(0, body.size() - 1);
  if (text.find('\0') != std::string_view::npos) return std::nullopt;
  return std::string(text);
}

std::optional<error_fields> parse_error_fields(std::string_view body) {
  error_fields out;
  std::size_t pos = 0;
  for (;;) {
    if (pos >= body.size()) return std::nullopt;
    const char code = body[pos++];
    if (code == '\0') return pos == body.size() ? std::optional<error_fields>(out) : std::nullopt;
    auto value = read_cstring(body, pos);
    if (!value) return std::nullopt;
    out.emplace_back(code, std::move(*value));
  }
}

std::string build_error_fields(const error_fields& fields) {
  std::string body;
  for (const auto& [code, value] : fields) {
    body.push_back(code);
    append_cstring(body, value);
  }
  body.push_back('\0');
  return body;
}

const std::string* find_field(const error_fields& fields, char code) {
  for (const auto& [c, v] : fields) {
    if (c == code) return &v;
  }
  return nullptr;
}

std::optional<std::pair<std::string, std::string>> parse_parameter_status(std::string_view body) {
  std::size_t pos = 0;
  auto name = read_cstring(body, pos);
  if (!name) return std::nullopt;
  auto value = read_cstring(body, pos);
  if (!value || pos != body.size()) return std::nullopt;
  return std::make_pair(std::move(*name), std::move(*value));
}

std::optional<std::string> parse_query(std::string_view body) {
  std::size_t pos = 0;
  auto sql = read_cstring(body, pos);
  if (!sql || pos != body.size()) return std::nullopt;
  return sql;
}

std::optional<parse_message> parse_parse(std::string_view body) {
  std::size_t pos = 0;
  parse_message out;
  auto name = read_cstring(body, pos);
  if (!name) return std::nullopt;
  auto query = read_cstring(body, pos);
  if (!query) return std::nullopt;
  out.statement = std::move(*name);
  out.query = std::move(*query);
  out.rest = std::string(body.substr(pos));
  return out;
}

std::string build_parse(const parse_message& p) {
  std::string body;
  append_cstring(body, p.statement);
  append_cstring(body, p.query);
  body += p.rest;
  return frame('P', body);
}

std::string build_query(std::string_view sql) {
  std::string body;
  append_cstring(body, sql);
  return frame('Q', body);
}

}  // namespace dsql::local::wire
