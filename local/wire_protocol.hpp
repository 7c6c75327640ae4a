#pragma once

// PostgreSQL frontend/backend protocol 3.0, as much of it as a front that authenticates clients and
// relays whole messages needs: startup packets, message framing, and the backend messages the front
// writes itself. Pure functions over bytes; no I/O.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace dsql::local::wire {

inline constexpr std::uint32_t protocol_3_0 = 196608;  // 3 << 16
inline constexpr std::uint32_t ssl_request_code = 80877103;
inline constexpr std::uint32_t cancel_request_code = 80877102;
inline constexpr std::uint32_t gssenc_request_code = 80877104;

// PostgreSQL's own MAX_STARTUP_PACKET_LENGTH; a startup packet carries no large values.
inline constexpr std::size_t max_startup_packet = 10000;
// A token with a long STS session token is a few KiB; anything beyond this is not a token.
inline constexpr std::size_t max_password_message = 64 * 1024;
// DSQL closes the connection on a message over 10 MiB (no ErrorResponse).
inline constexpr std::size_t max_client_message = 10 * 1024 * 1024;
// PostgreSQL caps a message at 1 GiB; anything larger from the backend is corruption.
inline constexpr std::size_t max_backend_message = 1024u * 1024u * 1024u;

// An error the front reports to the client (severity FATAL during startup, ERROR afterwards).
struct error_info {
  std::string sqlstate;
  std::string message;
  std::string hint;  // empty: no H field
};

enum class startup_kind { startup, ssl_request, gssenc_request, cancel_request };

struct startup_packet {
  startup_kind kind = startup_kind::startup;
  std::uint32_t protocol = 0;
  std::vector<std::pair<std::string, std::string>> params;  // startup only, in packet order
  std::uint32_t cancel_pid = 0;                             // cancel only
  std::uint32_t cancel_key = 0;

  // The value of a startup parameter, if the client sent it.
  const std::string* param(std::string_view name) const;
};

std::uint32_t read_u32(const unsigned char* p) noexcept;
std::uint32_t read_u32(std::string_view s, std::size_t offset) noexcept;
void append_u32(std::string& out, std::uint32_t v);
void append_u16(std::string& out, std::uint16_t v);

// Checks the length word of a startup packet (it counts itself) before its body is read, so that a
// client cannot make the front buffer an arbitrary amount of data.
std::optional<error_info> check_startup_length(std::uint32_t length);

// Parses a whole startup packet, length word included.
std::variant<startup_packet, error_info> parse_startup(std::string_view packet);

// Serialises a StartupMessage (protocol 3.0), length word included.
std::string build_startup(const std::vector<std::pair<std::string, std::string>>& params);
std::string build_cancel_request(std::uint32_t pid, std::uint32_t key);

// A tagged message: one type byte, then a length word that counts itself, then the body.
struct message {
  char type = 0;
  std::string body;
};

std::string frame(char type, std::string_view body);

// Accumulates bytes from a stream and splits them into whole messages.
class message_reader {
 public:
  explicit message_reader(std::size_t max_message) : max_message_(max_message) {}

  void feed(const char* data, std::size_t size) { buffer_.append(data, size); }
  // The next whole message; nullopt when more bytes are needed. Sets error() (and returns nullopt)
  // on a length below 4 or above the cap: the stream cannot be resynchronised after that.
  std::optional<message> next();
  bool error() const noexcept { return error_; }
  // Bytes of the message being read so far, and the size it announced (0 before its header).
  std::size_t pending_announced() const noexcept;
  std::size_t buffered() const noexcept { return buffer_.size() - offset_; }

 private:
  std::string buffer_;
  std::size_t offset_ = 0;
  std::size_t max_message_;
  bool error_ = false;
};

// Backend messages the front writes itself.
std::string error_response(std::string_view severity, const error_info& error);
std::string authentication_request(std::uint32_t code);  // 0 ok, 3 cleartext password
std::string parameter_status(std::string_view name, std::string_view value);
std::string backend_key_data(std::uint32_t pid, std::uint32_t key);
std::string ready_for_query(char status);
std::string command_complete(std::string_view tag);
std::string negotiate_protocol_version(std::uint32_t newest_minor);

// The cleartext password of a PasswordMessage body (NUL-terminated, nothing after it).
std::optional<std::string> parse_password(std::string_view body);

// ErrorResponse / NoticeResponse fields.
using error_fields = std::vector<std::pair<char, std::string>>;
std::optional<error_fields> parse_error_fields(std::string_view body);
std::string build_error_fields(const error_fields& fields);
const std::string* find_field(const error_fields& fields, char code);

// A ParameterStatus body split into name and value.
std::optional<std::pair<std::string, std::string>> parse_parameter_status(std::string_view body);

// Query ('Q') body: the SQL text. Parse ('P') body: statement name, SQL text, the rest verbatim.
std::optional<std::string> parse_query(std::string_view body);
struct parse_message {
  std::string statement;
  std::string query;
  std::string rest;  // parameter type count and OIDs, unchanged
};
std::optional<parse_message> parse_parse(std::string_view body);
std::string build_parse(const parse_message& p);
std::string build_query(std::string_view sql);

}  // namespace dsql::local::wire
