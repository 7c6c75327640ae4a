#include "credentials/http_client.hpp"

#include <curl/curl.h>
#include <dlfcn.h>

#include <cctype>
#include <memory>
#include <mutex>
#include <thread>

#include "sigv4/sigv4.hpp"
#include "util/printable.hpp"

namespace dsql::http {

namespace {

// libcurl is opened on first use rather than linked: it and the eight libraries it pulls in
// (nghttp2, ssh2, rtmp, psl, brotli, zstd...) cost every process over half a millisecond to
// map and relocate at start (BENCHMARKS.md, "Cold start"), and most processes never make an
// HTTP request: environment, profile and process credentials need none.
struct curl_api {
  decltype(&::curl_global_init) global_init;
  decltype(&::curl_easy_init) easy_init;
  decltype(&::curl_easy_setopt) easy_setopt;
  decltype(&::curl_easy_perform) easy_perform;
  decltype(&::curl_easy_getinfo) easy_getinfo;
  decltype(&::curl_easy_strerror) easy_strerror;
  decltype(&::curl_easy_cleanup) easy_cleanup;
  decltype(&::curl_slist_append) slist_append;
  decltype(&::curl_slist_free_all) slist_free_all;
  decltype(&::curl_url) url;
  decltype(&::curl_url_set) url_set;
  decltype(&::curl_url_get) url_get;
  decltype(&::curl_url_cleanup) url_cleanup;
  decltype(&::curl_free) free;
};

template <typename F>
void bind(void* lib, const char* name, F& fn) {
  fn = reinterpret_cast<F>(::dlsym(lib, name));
  if (fn == nullptr) {
    throw transport_error(std::string("the libcurl found has no ") + name +
                              "; HTTP credential sources need libcurl 7.85 or later",
                          failure::other);
  }
}

curl_api load_curl() {
  // The ABI's soname: libcurl4-openssl and libcurl4-gnutls (Debian), libcurl (RHEL), macOS.
  void* lib = nullptr;
  for (const char* name : {"libcurl.so.4", "libcurl-gnutls.so.4", "libcurl.4.dylib"}) {
    lib = ::dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (lib != nullptr) break;
  }
  if (lib == nullptr) {
    throw transport_error(
        "cannot load libcurl (libcurl.so.4), which HTTP credential sources (IMDS, containers, "
        "STS, SSO) need: install libcurl4, or use environment or profile credentials",
        failure::other);
  }
  // Never dlclose'd: curl keeps global state for the process's lifetime.
  curl_api a{};
  bind(lib, "curl_global_init", a.global_init);
  bind(lib, "curl_easy_init", a.easy_init);
  bind(lib, "curl_easy_setopt", a.easy_setopt);
  bind(lib, "curl_easy_perform", a.easy_perform);
  bind(lib, "curl_easy_getinfo", a.easy_getinfo);
  bind(lib, "curl_easy_strerror", a.easy_strerror);
  bind(lib, "curl_easy_cleanup", a.easy_cleanup);
  bind(lib, "curl_slist_append", a.slist_append);
  bind(lib, "curl_slist_free_all", a.slist_free_all);
  bind(lib, "curl_url", a.url);
  bind(lib, "curl_url_set", a.url_set);
  bind(lib, "curl_url_get", a.url_get);
  bind(lib, "curl_url_cleanup", a.url_cleanup);
  bind(lib, "curl_free", a.free);
  // curl_global_init is not thread-safe before 7.84; this runs once per process, under the
  // static's own lock.
  a.global_init(CURL_GLOBAL_DEFAULT);
  return a;
}

// Loads libcurl on the first call (thread-safe); throws transport_error when it cannot.
const curl_api& curl() {
  static const curl_api api = load_curl();
  return api;
}

struct easy_deleter {
  void operator()(CURL* c) const { curl().easy_cleanup(c); }
};
struct slist_deleter {
  void operator()(curl_slist* l) const { curl().slist_free_all(l); }
};
struct url_deleter {
  void operator()(CURLU* u) const { curl().url_cleanup(u); }
};

struct sink {
  std::string body;
  bool too_large = false;
  std::map<std::string, std::string> headers;
  std::size_t header_bytes = 0;
};

// One header line at a time (status line and blank line included); bounded like the body.
std::size_t write_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* s = static_cast<sink*>(user);
  const std::size_t n = size * count;
  s->header_bytes += n;
  if (s->header_bytes > max_body_bytes) {
    s->too_large = true;
    return 0;
  }
  const std::string line(data, n);
  const auto colon = line.find(':');
  if (colon == std::string::npos) return n;
  std::string name = line.substr(0, colon);
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const auto b = line.find_first_not_of(" \t", colon + 1);
  const auto e = line.find_last_not_of(" \t\r\n");
  s->headers[name] = b == std::string::npos || e < b ? std::string() : line.substr(b, e - b + 1);
  return n;
}

std::size_t write_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* s = static_cast<sink*>(user);
  const std::size_t n = size * count;
  if (s->body.size() + n > max_body_bytes) {
    s->too_large = true;
    return 0;  // makes curl fail the transfer with CURLE_WRITE_ERROR
  }
  s->body.append(data, n);
  return n;
}

long as_curl_ms(std::chrono::milliseconds ms) {
  return static_cast<long>(ms.count() > 0 ? ms.count() : 1);
}

bool is_loopback_host(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

}  // namespace

url_parts parse_url(const std::string& url) {
  const curl_api& api = curl();
  std::unique_ptr<CURLU, url_deleter> u(api.url());
  if (!u) throw std::bad_alloc();
  if (api.url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    throw config_error(util::quoted(url) + " is not a valid URL");
  }
  url_parts parts;
  auto get = [&](CURLUPart what, std::string& out, unsigned flags) {
    char* value = nullptr;
    if (api.url_get(u.get(), what, &value, flags) == CURLUE_OK && value != nullptr) {
      out = value;
    }
    api.free(value);
  };
  get(CURLUPART_SCHEME, parts.scheme, 0);
  get(CURLUPART_HOST, parts.host, 0);
  get(CURLUPART_PORT, parts.port, CURLU_DEFAULT_PORT);
  get(CURLUPART_PATH, parts.path, 0);
  if (parts.host.size() >= 2 && parts.host.front() == '[' && parts.host.back() == ']') {
    parts.host = parts.host.substr(1, parts.host.size() - 2);
  }
  if (parts.scheme != "http" && parts.scheme != "https") {
    throw config_error(util::quoted(url) + " is not an http or https URL");
  }
  return parts;
}

std::string describe_endpoint(const std::string& url) {
  try {
    const url_parts p = parse_url(url);
    const bool v6 = p.host.find(':') != std::string::npos;
    return util::printable(p.scheme + "://" + (v6 ? "[" + p.host + "]" : p.host) + ":" + p.port);
  } catch (const error&) {
    return "an invalid URL";
  }
}

std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [name, value] : fields) {
    if (!out.empty()) out += '&';
    sigv4::uri_encode_append(out, name);
    out += '=';
    sigv4::uri_encode_append(out, value);
  }
  return out;
}

response perform(const request& r) {
  const curl_api& api = curl();
  const std::string where = describe_endpoint(r.url);
  std::unique_ptr<CURL, easy_deleter> easy(api.easy_init());
  if (!easy) throw transport_error("cannot start an HTTP request to " + where, failure::other);
  CURL* c = easy.get();

  std::unique_ptr<curl_slist, slist_deleter> headers;
  auto add_header = [&](const std::string& line) {
    curl_slist* next = api.slist_append(headers.get(), line.c_str());
    if (next == nullptr) throw std::bad_alloc();
    headers.release();
    headers.reset(next);
  };
  for (const auto& [name, value] : r.headers) add_header(name + ": " + value);
  // Without this curl waits for "100 Continue" before sending a larger POST body.
  add_header("Expect:");

  sink out;
  char error_buffer[CURL_ERROR_SIZE] = {};
  api.easy_setopt(c, CURLOPT_URL, r.url.c_str());
  api.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  api.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  api.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM-based DNS timeouts
  api.easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, as_curl_ms(r.connect_timeout));
  api.easy_setopt(c, CURLOPT_TIMEOUT_MS, as_curl_ms(r.timeout));
  api.easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  api.easy_setopt(c, CURLOPT_WRITEFUNCTION, &write_body);
  api.easy_setopt(c, CURLOPT_WRITEDATA, &out);
  api.easy_setopt(c, CURLOPT_HEADERFUNCTION, &write_header);
  api.easy_setopt(c, CURLOPT_HEADERDATA, &out);
  api.easy_setopt(c, CURLOPT_ERRORBUFFER, error_buffer);
  api.easy_setopt(c, CURLOPT_USERAGENT, "aurora-dsql-cpp-connector");
  bool loopback = false;
  try {
    loopback = is_loopback_host(parse_url(r.url).host);
  } catch (const error&) {
    throw transport_error("cannot send an HTTP request to " + where, failure::other);
  }
  // A developer's http_proxy must not capture requests meant for this machine.
  if (!r.use_proxy || loopback) api.easy_setopt(c, CURLOPT_NOPROXY, "*");
  if (r.method == "POST") {
    api.easy_setopt(c, CURLOPT_POST, 1L);
    api.easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
    api.easy_setopt(c, CURLOPT_POSTFIELDS, r.body.c_str());
  } else if (r.method == "PUT") {
    // A PUT without a body: CURLOPT_UPLOAD would wait for data to read.
    api.easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
  } else if (r.method != "GET") {
    throw transport_error("unsupported HTTP method " + r.method, failure::other);
  }

  const CURLcode rc = api.easy_perform(c);
  if (rc != CURLE_OK) {
    if (out.too_large) {
      throw transport_error(where + " sent more than " + std::to_string(max_body_bytes >> 20) +
                                " MiB; that is not a credentials answer",
                            failure::other);
    }
    failure kind = failure::other;
    std::string why;
    curl_off_t connected = 0;  // microseconds until the TCP connection was up; 0 if never
    api.easy_getinfo(c, CURLINFO_CONNECT_TIME_T, &connected);
    if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
        rc == CURLE_COULDNT_RESOLVE_PROXY) {
      kind = failure::connect;
      why = rc == CURLE_COULDNT_CONNECT ? "could not connect" : "could not resolve the host";
    } else if (rc == CURLE_OPERATION_TIMEDOUT) {
      // Timed out before the TCP connection was up: as unreachable as a refused connection.
      kind = connected == 0 ? failure::connect : failure::timeout;
      why = connected == 0
                ? "could not connect within " + std::to_string(r.connect_timeout.count()) + " ms"
                : "no complete answer within " + std::to_string(r.timeout.count()) + " ms";
    } else {
      // curl's own words describe the transport (TLS, reset...), never our headers or body.
      why = error_buffer[0] != '\0' ? std::string(error_buffer) : api.easy_strerror(rc);
    }
    throw transport_error(where + ": " + util::printable(why, 300, util::whitespace::collapse),
                          kind);
  }
  response resp;
  api.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
  resp.body = std::move(out.body);
  resp.headers = std::move(out.headers);
  return resp;
}

response perform_with_retries(const request& r, int attempts, std::chrono::milliseconds delay) {
  return perform_with_retries([&r] { return r; }, attempts, delay);
}

response perform_with_retries(const std::function<request()>& make, int attempts,
                              std::chrono::milliseconds delay) {
  for (int attempt = 1;; ++attempt) {
    const bool last = attempt >= attempts;
    try {
      response resp = perform(make());
      if (last || (resp.status < 500 && resp.status != 429)) return resp;
    } catch (const transport_error&) {
      if (last) throw;
    }
    std::this_thread::sleep_for(delay);
  }
}

}  // namespace dsql::http
