#include "credentials/token_cache.hpp"

#include "dsql/errors.hpp"
#include "util/printable.hpp"
#include "util/read_file.hpp"
#include "util/write_file.hpp"

namespace dsql::credential_sources {

std::unique_lock<std::mutex> lock_token_caches() {
  static std::mutex m;
  return std::unique_lock<std::mutex>(m);
}

std::optional<nlohmann::json> read_token_cache(const std::string& path, const std::string& what,
                                               const std::string& fix) {
  const std::optional<std::string> text = util::read_file(path, what, fix);
  if (!text) return std::nullopt;
  nlohmann::json doc = nlohmann::json::parse(*text, nullptr, false);
  if (!doc.is_object()) {
    throw credentials_error(what + " " + util::printable(path) + " is not a JSON object; " + fix);
  }
  return doc;
}

void write_token_cache(const std::string& path, const nlohmann::json& doc, const std::string& what,
                       const std::string& fix) {
  // dump() throws on invalid UTF-8 in a string; replace keeps the file writable whatever the
  // CLI left in fields we do not use.
  util::write_file_atomically(
      path, doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace), what, fix);
}

}  // namespace dsql::credential_sources
