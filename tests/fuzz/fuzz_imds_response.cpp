// libFuzzer target: the JSON the instance metadata service or a container endpoint sends must
// give credentials or throw dsql::credentials_error, and the message must never echo a secret.

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "credentials/sources.hpp"
#include "dsql/errors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto c = dsql::credential_sources::parse_imds_credentials(text, "fuzz-role");
    if (c.access_key_id.empty() || c.secret_access_key.empty() || c.session_token.empty() ||
        !c.expiration || c.source != "imds:fuzz-role") {
      __builtin_trap();
    }
  } catch (const dsql::credentials_error& e) {
    const auto doc = nlohmann::json::parse(text, nullptr, false);
    if (!doc.is_object()) return 0;
    const std::string what = e.what();
    for (const char* key : {"SecretAccessKey", "Token"}) {
      const auto it = doc.find(key);
      if (it == doc.end() || !it->is_string()) continue;
      const auto& secret = it->get_ref<const std::string&>();
      if (secret.size() >= 8 && what.find(secret) != std::string::npos) __builtin_trap();
    }
  }
  return 0;
}
