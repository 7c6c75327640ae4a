// The local endpoint's token verifier: accepts every token AWS's own signers made, and refuses
// each kind of forgery with the right hint (or none).

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "dsql/token.hpp"
#include "local/token_verifier.hpp"
#include "sigv4/sigv4.hpp"
#include "unit/test_support.hpp"

namespace dsql::local {
namespace {

using namespace std::chrono_literals;

nlohmann::json vectors() {
  return nlohmann::json::parse(test::read_file(test::data_path("dsql_token_vectors.json")));
}

// Signs an arbitrary parameter set correctly, so that a test can make exactly one check fail.
std::string sign(const std::string& host, sigv4::query_params params, const std::string& secret,
                 const std::string& key_region, const std::string& key_service = "dsql") {
  std::string amz_date;
  std::string scope;
  for (const auto& [k, v] : params) {
    if (k == "X-Amz-Date") amz_date = v;
    if (k == "X-Amz-Credential") scope = v.substr(v.find('/') + 1);
  }
  const std::string canonical =
      sigv4::presigned_get_canonical_request(sigv4::canonical_query(params), host);
  const sigv4::hmac_key key(
      sigv4::derive_signing_key(secret, amz_date.substr(0, 8), key_region, key_service));
  const std::string signature =
      sigv4::to_hex(key.mac(sigv4::string_to_sign(amz_date, scope, canonical)));
  params.emplace_back("X-Amz-Signature", signature);
  std::string token = host + "/?";
  bool first = true;
  for (const auto& [k, v] : params) {
    if (!first) token += "&";
    first = false;
    token += sigv4::uri_encode(k) + "=" + sigv4::uri_encode(v);
  }
  return token;
}

class verifier : public ::testing::Test {
 protected:
  const std::string host = "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws";
  const std::string region = "us-east-1";
  const std::string date = "20260115T123456Z";
  std::vector<std::string> hostnames{host, "localhost", "127.0.0.1"};
  std::vector<identity> identities{
      {"AKIDLOCAL", "local/secret+key", "", "arn:aws:iam::000000000000:role/dsql-local"},
      {"ASIASESSION", "session/secret", "the-session-token", "arn:aws:iam::000000000000:role/s"}};
  std::chrono::system_clock::time_point now = test::at("2026-01-15T12:40:00Z");

  sigv4::query_params params(const std::string& action = "DbConnectAdmin",
                             const std::string& akid = "AKIDLOCAL",
                             const std::string& expires = "900",
                             const std::string& scope_region = "us-east-1",
                             const std::string& scope_service = "dsql") {
    return {{"Action", action},
            {"X-Amz-Algorithm", "AWS4-HMAC-SHA256"},
            {"X-Amz-Credential", akid + "/" + date.substr(0, 8) + "/" + scope_region + "/" +
                                     scope_service + "/aws4_request"},
            {"X-Amz-Date", date},
            {"X-Amz-Expires", expires},
            {"X-Amz-SignedHeaders", "host"}};
  }

  verify_result check(const std::string& token, const std::string& user = "admin") {
    verify_input in;
    in.password = token;
    in.user = user;
    in.hostnames = &hostnames;
    in.region = region;
    in.identities = &identities;
    in.now = now;
    in.skew = 300s;
    return verify_token(in);
  }

  std::string good(const std::string& action = "DbConnectAdmin") {
    return sign(host, params(action), "local/secret+key", region);
  }
};

TEST(verifier_vectors, accepts_every_aws_made_token_in_its_validity_window) {
  const auto all = vectors();
  ASSERT_GE(all["cases"].size(), 9u);
  for (const auto& c : all["cases"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    std::vector<std::string> names{c["hostname"].get<std::string>()};
    std::vector<identity> ids{{c["access_key_id"].get<std::string>(),
                               c["secret_access_key"].get<std::string>(),
                               c.value("session_token", std::string()), "arn:aws:iam::1:role/x"}};
    const std::string token = c["token"].get<std::string>();
    const std::string region = c["region"].get<std::string>();  // verify_input only views it
    const bool admin = c["action"] == "DbConnectAdmin";
    const auto start = test::at(c["time"].get<std::string>());
    const auto expires = std::chrono::seconds(c["expires_in"].get<int>());
    for (const auto when : {start, start + expires}) {
      verify_input in;
      in.password = token;
      in.user = admin ? "admin" : "app_user";
      in.hostnames = &names;
      in.region = region;
      in.identities = &ids;
      in.now = when;
      const auto r = verify_token(in);
      EXPECT_TRUE(r.ok) << r.reason;
      EXPECT_EQ(r.who, &ids[0]);
      EXPECT_EQ(r.action, c["action"].get<std::string>());
    }
    // One second past the window the same token is refused as expired.
    verify_input late;
    late.password = token;
    late.user = admin ? "admin" : "app_user";
    late.hostnames = &names;
    late.region = region;
    late.identities = &ids;
    late.now = start + expires + 1s;
    const auto r = verify_token(late);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.hint.rfind("Signature expired: ", 0), 0u) << r.hint;
  }
}

TEST_F(verifier, accepts_a_token_from_the_library_signer_in_any_parameter_order) {
  credentials creds;
  creds.access_key_id = "AKIDLOCAL";
  creds.secret_access_key = "local/secret+key";
  const std::string token = generate_token(
      {host, region, token_action::db_connect_admin, std::chrono::seconds(900)}, creds, now);
  EXPECT_TRUE(check(token).ok);
  // Reverse the parameters: a verifier must treat the query as a set.
  const std::size_t q = token.find("/?");
  std::string rest = token.substr(q + 2);
  std::vector<std::string> parts;
  for (std::size_t pos = 0;;) {
    const std::size_t amp = rest.find('&', pos);
    parts.push_back(rest.substr(pos, amp - pos));
    if (amp == std::string::npos) break;
    pos = amp + 1;
  }
  std::string reversed = token.substr(0, q + 2);
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
    reversed += *it + (it + 1 == parts.rend() ? "" : "&");
  }
  EXPECT_TRUE(check(reversed).ok);
}

TEST_F(verifier, accepts_any_endpoint_name_case_insensitively) {
  EXPECT_TRUE(check(sign("LocalHost", params(), "local/secret+key", region)).ok);
  EXPECT_TRUE(check(good()).ok);
  // A name the endpoint does not answer to is refused, without a hint.
  const auto r = check(sign("other.dsql.us-east-1.on.aws", params(), "local/secret+key", region));
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.hint.empty());
}

TEST_F(verifier, accepts_non_admin_with_db_connect) {
  const auto r = check(good("DbConnect"), "app_user");
  EXPECT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.who->principal_arn, "arn:aws:iam::000000000000:role/dsql-local");
}

TEST_F(verifier, refuses_admin_with_db_connect_with_hint) {
  const auto r = check(good("DbConnect"), "admin");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.hint, "Wrong user to action mapping. user: admin, action: DbConnect");
}

TEST_F(verifier, refuses_non_admin_with_db_connect_admin_with_hint) {
  const auto r = check(good("DbConnectAdmin"), "app_user");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.hint, "Wrong user to action mapping. user: app_user, action: DbConnectAdmin");
}

TEST_F(verifier, refuses_a_tampered_signature_without_hint) {
  std::string token = good();
  const std::size_t pos = token.find("X-Amz-Signature=") + 16;
  token[pos] = token[pos] == '0' ? '1' : '0';
  const auto r = check(token);
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.hint.empty());
  EXPECT_EQ(r.reason, "signature does not match");
}

TEST_F(verifier, refuses_other_region_and_other_service_scopes) {
  // Correctly signed, but for another region or service than the endpoint's.
  const auto other_region =
      check(sign(host, params("DbConnectAdmin", "AKIDLOCAL", "900", "us-west-2"),
                 "local/secret+key", "us-west-2"));
  EXPECT_FALSE(other_region.ok);
  EXPECT_TRUE(other_region.hint.empty());
  const auto other_service =
      check(sign(host, params("DbConnectAdmin", "AKIDLOCAL", "900", "us-east-1", "rds-db"),
                 "local/secret+key", "us-east-1", "rds-db"));
  EXPECT_FALSE(other_service.ok);
  // Scope says dsql but the key was derived for another service: the signature fails.
  EXPECT_FALSE(check(sign(host, params(), "local/secret+key", region, "rds-db")).ok);
}

TEST_F(verifier, refuses_a_wrong_host) {
  const auto r = check(sign("other.dsql.us-east-1.on.aws", params(), "local/secret+key", region));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "token signed for another host");
}

TEST_F(verifier, refuses_an_unknown_key_and_a_wrong_secret) {
  EXPECT_EQ(
      check(sign(host, params("DbConnectAdmin", "AKIDOTHER"), "local/secret+key", region)).reason,
      "unknown access key");
  EXPECT_EQ(check(sign(host, params(), "not/the/secret", region)).reason,
            "signature does not match");
}

TEST_F(verifier, requires_the_configured_session_token_exactly) {
  auto p = params("DbConnectAdmin", "ASIASESSION");
  auto with = p;
  with.emplace_back("X-Amz-Security-Token", "the-session-token");
  EXPECT_TRUE(check(sign(host, with, "session/secret", region)).ok);
  auto wrong = p;
  wrong.emplace_back("X-Amz-Security-Token", "another-token");
  EXPECT_EQ(check(sign(host, wrong, "session/secret", region)).reason,
            "session token does not match the access key");
  EXPECT_FALSE(check(sign(host, p, "session/secret", region)).ok);
  // A long-term key does not take a session token.
  auto extra = params();
  extra.emplace_back("X-Amz-Security-Token", "the-session-token");
  EXPECT_FALSE(check(sign(host, extra, "local/secret+key", region)).ok);
}

TEST_F(verifier, refuses_an_expired_token_with_the_aws_style_hint) {
  now = test::at("2026-01-15T12:50:00Z");  // date + 904 s
  const auto r = check(good());
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.hint, "Signature expired: 20260115T123456Z is now earlier than 20260115T123500Z");
}

TEST_F(verifier, refuses_a_future_dated_token_beyond_the_skew) {
  now = test::at("2026-01-15T12:29:55Z");  // 301 s before the date
  const auto r = check(good());
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.hint,
            "Signature not yet current: 20260115T123456Z is still later than 20260115T123455Z");
  now = test::at("2026-01-15T12:29:56Z");  // exactly the skew
  EXPECT_TRUE(check(good()).ok);
}

TEST_F(verifier, refuses_expires_out_of_range) {
  for (const char* e : {"0", "604801"}) {
    SCOPED_TRACE(e);
    const auto r =
        check(sign(host, params("DbConnectAdmin", "AKIDLOCAL", e), "local/secret+key", region));
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.reason, "X-Amz-Expires out of range");
    EXPECT_TRUE(r.hint.empty());
  }
  EXPECT_TRUE(
      check(sign(host, params("DbConnectAdmin", "AKIDLOCAL", "604800"), "local/secret+key", region))
          .ok);
}

TEST_F(verifier, refuses_duplicated_missing_and_malformed_parameters) {
  const std::string token = good();
  EXPECT_EQ(check(token + "&Action=DbConnectAdmin").reason, "duplicated query parameter");
  for (const char* name : {"Action=", "X-Amz-Algorithm=", "X-Amz-Credential=", "X-Amz-Date=",
                           "X-Amz-Expires=", "X-Amz-SignedHeaders=", "X-Amz-Signature="}) {
    SCOPED_TRACE(name);
    const std::size_t pos = token.find(name);
    ASSERT_NE(pos, std::string::npos);
    std::size_t end = token.find('&', pos);
    std::string cut = token;
    if (end == std::string::npos) {
      cut.erase(pos - 1);
    } else {
      cut.erase(pos, end - pos + 1);
    }
    EXPECT_EQ(check(cut).reason.rfind("missing ", 0), 0u) << check(cut).reason;
  }
  std::string bad_escape = token;
  bad_escape.replace(bad_escape.find("%2F"), 3, "%2G");
  EXPECT_EQ(check(bad_escape).reason, "malformed percent-escape");
  EXPECT_EQ(check(token + "%").reason, "malformed percent-escape");
  EXPECT_EQ(check(token + "&novalue").reason, "malformed query parameter");
  EXPECT_EQ(check("https://" + token).reason, "token has a URL scheme");
  EXPECT_EQ(check(host + "?Action=DbConnectAdmin").reason, "token is not <host>/?<query>");
  EXPECT_FALSE(check("").ok);
  EXPECT_FALSE(check("/?").ok);
}

TEST_F(verifier, refuses_wrong_algorithm_and_signed_headers) {
  auto alg = params();
  alg[1].second = "AWS4-HMAC-SHA1";
  EXPECT_EQ(check(sign(host, alg, "local/secret+key", region)).reason, "unsupported algorithm");
  auto sh = params();
  sh[5].second = "host;x-amz-date";
  EXPECT_EQ(check(sign(host, sh, "local/secret+key", region)).reason,
            "signed headers are not just host");
}

TEST_F(verifier, refuses_a_scope_date_other_than_the_amz_date) {
  auto p = params();
  p[2].second = "AKIDLOCAL/20260114/us-east-1/dsql/aws4_request";
  EXPECT_FALSE(check(sign(host, p, "local/secret+key", region)).ok);
}

TEST_F(verifier, refusal_reasons_never_contain_the_token_or_secret) {
  const std::string token = good();
  std::string tampered = token;
  tampered.back() = tampered.back() == 't' ? 'x' : 't';
  for (const auto& t : {tampered, token + "&Action=DbConnect", token.substr(0, 40)}) {
    const auto r = check(t, "app_user");
    EXPECT_EQ(r.reason.find("="), std::string::npos);
    EXPECT_EQ(r.reason.find("secret"), std::string::npos);
    EXPECT_EQ(r.hint.find("Signature="), std::string::npos);
  }
}

}  // namespace
}  // namespace dsql::local
