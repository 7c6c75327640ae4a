#pragma once

// A small libcurl wrapper for the credential sources: one request, bounded in time and size.
// It never logs, and its error messages name the host and what went wrong, never a header value
// or a body (both may hold tokens or keys).

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "dsql/errors.hpp"

namespace dsql::http {

struct request {
  std::string method = "GET";  // GET, PUT or POST
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(1)};
  std::chrono::milliseconds timeout{std::chrono::seconds(5)};  // the whole exchange
  // Metadata endpoints are link-local: a proxy could only get in the way (or see the token).
  bool use_proxy = true;
};

struct response {
  long status = 0;
  std::string body;
  // The answer's headers, names lowercased (a repeated header keeps its last value).
  std::map<std::string, std::string> headers;
};

// Why no HTTP answer came back. `connect` means nothing is listening or the host is
// unreachable within the connect timeout: for the metadata service that is how "not on EC2"
// looks, so the chain treats it differently from a server that answered badly.
enum class failure { connect, timeout, other };

class transport_error : public error {
 public:
  transport_error(const std::string& what, failure kind) : error(what), kind_(kind) {}
  failure kind() const noexcept { return kind_; }

 private:
  failure kind_;
};

// Bodies larger than this are refused: credential answers are a few kilobytes.
inline constexpr std::size_t max_body_bytes = 1 << 20;

// Performs the request. Redirects are not followed. Throws transport_error when no complete
// answer arrived; any HTTP status is returned, not thrown.
response perform(const request& r);

// perform() up to `attempts` times, `delay` apart, while the answer is a transport failure or a
// 5xx (or 429) status; the last outcome is returned or thrown.
response perform_with_retries(const request& r, int attempts, std::chrono::milliseconds delay);
// The same with a request made afresh for every attempt: a DPoP proof may be used only once.
response perform_with_retries(const std::function<request()>& make, int attempts,
                              std::chrono::milliseconds delay);

// "host:port" of a URL for messages ("the URL" could carry a query with identifiers).
std::string describe_endpoint(const std::string& url);

// Form encoding for STS bodies: the SigV4 unreserved set kept, everything else %XX.
std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields);

// The scheme and host (brackets stripped from IPv6 literals) and port of a URL, via curl's
// parser; throws config_error on a malformed URL.
struct url_parts {
  std::string scheme, host, port, path;
};
url_parts parse_url(const std::string& url);

}  // namespace dsql::http
