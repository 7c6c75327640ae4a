// libFuzzer target: credential_process output parsing must either give credentials or throw
// dsql::credentials_error, and its message must never echo a secret from the input.

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "credentials/sources.hpp"
#include "dsql/errors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto c = dsql::credential_sources::parse_process_output(text, "fuzz");
    if (c.access_key_id.empty() || c.secret_access_key.empty()) __builtin_trap();
  } catch (const dsql::credentials_error& e) {
    // Comparing the whole input would flag inputs that merely equal our own hint text; the
    // secret-bearing fields are what must never show up.
    const auto doc = nlohmann::json::parse(text, nullptr, false);
    if (!doc.is_object()) return 0;
    const std::string what = e.what();
    for (const char* key : {"SecretAccessKey", "SessionToken"}) {
      const auto it = doc.find(key);
      if (it == doc.end() || !it->is_string()) continue;
      const auto& secret = it->get_ref<const std::string&>();
      if (secret.size() >= 8 && what.find(secret) != std::string::npos) __builtin_trap();
    }
  }
  return 0;
}
