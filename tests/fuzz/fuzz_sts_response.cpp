// libFuzzer target: an STS answer (any status, any bytes) must give credentials or throw
// dsql::credentials_error, never crash, and the message must never contain the secret fields of
// the document or the secrets we asked it to redact.

#include <cstddef>
#include <cstdint>
#include <string>

#include "credentials/sources.hpp"
#include "dsql/errors.hpp"

namespace {

// Whatever sits between <tag> and </tag>, if anything: a cheap over-approximation of the field.
std::string between(const std::string& text, const std::string& tag) {
  const auto open = text.find("<" + tag + ">");
  if (open == std::string::npos) return {};
  const auto start = open + tag.size() + 2;
  const auto close = text.find("</" + tag + ">", start);
  return close == std::string::npos ? std::string() : text.substr(start, close - start);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  // The first byte picks the status and the action, the rest is the body.
  const long status = (data[0] & 1) != 0 ? 200 : 400 + (data[0] >> 1);
  const std::string action = (data[0] & 2) != 0 ? "AssumeRoleWithWebIdentity" : "AssumeRole";
  const std::string xml(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::string planted = "FUZZsecretREDACTME0123456789";
  try {
    const auto c =
        dsql::credential_sources::parse_sts_response(xml, status, action, "fuzz", {planted});
    if (c.access_key_id.empty() || c.secret_access_key.empty() || c.session_token.empty() ||
        !c.expiration) {
      __builtin_trap();
    }
  } catch (const dsql::credentials_error& e) {
    const std::string what = e.what();
    if (what.find(planted) != std::string::npos) __builtin_trap();
    for (const char* tag : {"SecretAccessKey", "SessionToken"}) {
      const std::string secret = between(xml, tag);
      if (secret.size() >= 12 && what.find(secret) != std::string::npos) __builtin_trap();
    }
  }
  return 0;
}
