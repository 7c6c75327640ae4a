#include "sigv4/request_signer.hpp"

#include <algorithm>
#include <cctype>

namespace dsql::sigv4 {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// SigV4 "Trimall": leading and trailing spaces removed, inner runs of spaces made one.
std::string trimall(std::string_view s) {
  std::string out;
  bool space = false;
  for (const char c : s) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

}  // namespace

signed_request sign_request(const request_to_sign& request, const signing_identity& identity,
                            std::string_view region, std::string_view service,
                            std::chrono::system_clock::time_point when) {
  const std::string amz_date = format_amz_date(when);
  const std::string date8 = amz_date.substr(0, 8);

  header_list canonical;
  canonical.emplace_back("host", trimall(request.host));
  canonical.emplace_back("x-amz-date", amz_date);
  if (!identity.session_token.empty()) {
    canonical.emplace_back("x-amz-security-token", std::string(identity.session_token));
  }
  for (const auto& [name, value] : request.headers) {
    canonical.emplace_back(lower(name), trimall(value));
  }
  std::stable_sort(canonical.begin(), canonical.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });

  std::string canonical_headers, signed_headers;
  for (std::size_t i = 0; i < canonical.size(); ++i) {
    // A header given twice becomes one line with comma-joined values, as SigV4 specifies.
    if (i > 0 && canonical[i].first == canonical[i - 1].first) {
      canonical_headers.pop_back();
      canonical_headers += "," + canonical[i].second + "\n";
      continue;
    }
    canonical_headers += canonical[i].first + ":" + canonical[i].second + "\n";
    if (!signed_headers.empty()) signed_headers += ';';
    signed_headers += canonical[i].first;
  }

  signed_request out;
  out.canonical_request = request.method + "\n" + request.path + "\n" +
                          canonical_query(request.query) + "\n" + canonical_headers + "\n" +
                          signed_headers + "\n" + sha256_hex(request.body);
  const std::string scope =
      date8 + "/" + std::string(region) + "/" + std::string(service) + "/aws4_request";
  out.string_to_sign = sigv4::string_to_sign(amz_date, scope, out.canonical_request);
  const hmac_key key(derive_signing_key(identity.secret_access_key, date8, region, service));
  out.signature = to_hex(key.mac(out.string_to_sign));

  out.headers.emplace_back(
      "Authorization", std::string(algorithm) +
                           " Credential=" + std::string(identity.access_key_id) + "/" + scope +
                           ", SignedHeaders=" + signed_headers + ", Signature=" + out.signature);
  out.headers.emplace_back("X-Amz-Date", amz_date);
  if (!identity.session_token.empty()) {
    out.headers.emplace_back("X-Amz-Security-Token", std::string(identity.session_token));
  }
  return out;
}

}  // namespace dsql::sigv4
