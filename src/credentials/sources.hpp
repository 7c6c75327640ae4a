#pragma once

// The credential sources of the default chain, one per file in src/credentials/.
// Each `try_*` returns nullopt when its source is not configured (so the chain moves on), returns
// credentials when it is, and throws dsql::credentials_error naming the source and the fix when
// it is configured but fails.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "credentials/shared_config.hpp"
#include "dsql/credentials.hpp"
#include "dsql/errors.hpp"

namespace dsql::credential_sources {

// How long a credential_process may run before it is killed (botocore has no limit; a hung
// helper would otherwise hang every connection attempt).
inline constexpr std::chrono::milliseconds default_process_timeout{std::chrono::seconds(30)};

// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN.
std::optional<credentials> try_environment();

// Timeouts and attempts of the sources that use the network. Defaults are botocore's where it has
// them; tests shrink them (and point the ECS address at a local server).
struct network_settings {
  // EC2 instance metadata: per-request timeout (connect and answer) and attempts.
  // AWS_METADATA_SERVICE_TIMEOUT (seconds, fractions allowed) and
  // AWS_METADATA_SERVICE_NUM_ATTEMPTS override them.
  std::chrono::milliseconds imds_timeout{std::chrono::seconds(1)};
  int imds_attempts = 1;
  // Container endpoint (botocore: 2 s, 3 attempts, 1 s apart).
  std::chrono::milliseconds container_timeout{std::chrono::seconds(2)};
  int container_attempts = 3;
  // STS and the SSO portal: real services on the internet.
  std::chrono::milliseconds service_connect_timeout{std::chrono::seconds(3)};
  std::chrono::milliseconds service_timeout{std::chrono::seconds(10)};
  int service_attempts = 2;
  // Pause between attempts after a 5xx answer or a transport failure.
  std::chrono::milliseconds retry_delay{std::chrono::seconds(1)};
  // What AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is appended to.
  std::string container_relative_base = "http://169.254.170.2";

  // The defaults with the AWS_METADATA_SERVICE_* variables applied. Throws
  // dsql::credentials_error when one of them is not a number.
  static network_settings from_environment();
};

// Thrown (as a credentials_error) when a source is simply not there, as opposed to broken: the
// metadata service does not answer (not on EC2) or the instance has no role. The chain notes it
// and goes on; a profile that asked for the source (credential_source) reports it as an error.
class source_unavailable : public credentials_error {
 public:
  using credentials_error::credentials_error;
};

// EC2 instance metadata (IMDSv2, v1 fallback on 403/404/405 unless disabled). `profile` (may be
// null) supplies ec2_metadata_service_endpoint[_mode] and ec2_metadata_v1_disabled.
credentials fetch_imds(const network_settings& net, const aws_config::section* profile);
// nullopt when AWS_EC2_METADATA_DISABLED=true or the service is unavailable; `note` then says
// why, for the chain's message.
std::optional<credentials> try_imds(const network_settings& net, const aws_config::section* profile,
                                    std::string& note);
// Parses the credentials document; exposed for tests and the fuzzer.
credentials parse_imds_credentials(const std::string& json_text, const std::string& role);
// The JSON both IMDS and container endpoints send: AccessKeyId, SecretAccessKey, Token,
// Expiration (all required, as botocore requires them), and Code, which must be Success if sent.
credentials parse_metadata_credentials(const std::string& json_text, const std::string& who,
                                       const std::string& source);

// ECS task role / EKS Pod Identity: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI.
bool container_configured();
credentials fetch_container(const network_settings& net);
std::optional<credentials> try_container(const network_settings& net);
// Throws dsql::credentials_error unless the FULL_URI may be used (https, or http to a loopback,
// ECS or EKS address; a host name must resolve to allowed addresses only).
void check_container_uri(const std::string& url);

// An STS endpoint and the region to sign for.
struct sts_endpoint {
  std::string url;
  std::string region;
};
// AWS_ENDPOINT_URL_STS, else AWS_ENDPOINT_URL (unless AWS_IGNORE_CONFIGURED_ENDPOINT_URLS), else
// https://sts.<region>.amazonaws.com; without any region, the global https://sts.amazonaws.com
// (signed for us-east-1). Region: AWS_REGION, AWS_DEFAULT_REGION, then `profile_region`.
sts_endpoint resolve_sts_endpoint(const std::optional<std::string>& profile_region);

// The credentials in an STS AssumeRole / AssumeRoleWithWebIdentity answer. Throws
// dsql::credentials_error naming `who` for an error document or anything malformed; STS's own
// code and message are quoted, with any of `secrets` in them redacted.
credentials parse_sts_response(const std::string& xml, long http_status, const std::string& action,
                               const std::string& who,
                               const std::vector<std::string>& secrets = {});

// POSTs an STS Query API form to `endpoint` and returns the credentials in the answer (without
// `source`). Signed with SigV4 when `sign_with` is given (AssumeRole); unsigned otherwise
// (AssumeRoleWithWebIdentity, where the token is the proof). `secrets` are redacted from any
// message.
credentials call_sts(const sts_endpoint& endpoint,
                     const std::vector<std::pair<std::string, std::string>>& fields,
                     const credentials* sign_with, const std::string& action,
                     const std::string& who, const network_settings& net,
                     const std::vector<std::string>& secrets);

// Web identity from the environment: AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN,
// AWS_ROLE_SESSION_NAME. nullopt when AWS_WEB_IDENTITY_TOKEN_FILE is not set.
std::optional<credentials> try_web_identity(const network_settings& net,
                                            const std::optional<std::string>& profile_region);

struct web_identity_request {
  std::string token_file;
  std::string role_arn;
  std::string session_name;  // empty: generated
  std::optional<std::string> duration_seconds;
  std::string who;     // "web identity (AWS_WEB_IDENTITY_TOKEN_FILE)" or "AWS profile 'x'"
  std::string source;  // the credentials' source string
};
credentials assume_role_with_web_identity(const web_identity_request& request,
                                          const network_settings& net,
                                          const std::optional<std::string>& profile_region);

// A profile with role_arn: base credentials from source_profile, credential_source or
// web_identity_token_file, then STS AssumeRole. Chains of role profiles are followed; a cycle is
// an error naming the loop.
credentials assume_role_profile(const aws_config::shared_config& files,
                                const std::string& profile_name, const network_settings& net,
                                std::chrono::milliseconds process_timeout);

// IAM Identity Center: sso_session (or legacy sso_start_url), sso_account_id, sso_role_name.
// Takes the token `aws sso login` cached (sso_access_token) and asks the SSO portal for role
// credentials.
credentials sso_profile(const aws_config::shared_config& files, const std::string& profile_name,
                        const network_settings& net);
// The cache file name for a session name or a legacy start URL: hex SHA-1 + ".json".
std::string sso_cache_file_name(const std::string& session_or_start_url);

// Where an SSO access token is cached and how it is refreshed.
struct sso_token_config {
  std::string who;         // "AWS profile 'dev' (SSO)"
  std::string cache_key;   // the session name, or the start URL for legacy profiles
  std::string session;     // the [sso-session] name; empty for legacy profiles (never refreshed)
  std::string region;      // sso_region: where SSO-OIDC is
  std::string login_hint;  // "aws sso login --sso-session corp", escaped
};
// How early a cached SSO token is refreshed (botocore's SSOTokenProvider._REFRESH_WINDOW).
inline constexpr std::chrono::minutes sso_refresh_window{15};
// The access token in ~/.aws/sso/cache. Within sso_refresh_window of its expiry, a session
// profile's token is refreshed as botocore does it: SSO-OIDC CreateToken (grant refresh_token,
// with the cached clientId, clientSecret and refreshToken, while registrationExpiresAt lies
// ahead), the answer written back to the cache atomically and 0600. A failed refresh keeps a
// token that is still valid; an expired one that cannot be refreshed is an error saying why and
// to run the login hint.
std::string sso_access_token(const sso_token_config& cfg, const network_settings& net);

// `aws login` console sessions: a profile with login_session (an ARN). The credentials are the
// ones the AWS CLI cached in login_cache_directory(); within login_refresh_window of their
// expiry they are refreshed through AWS Sign-In's CreateOAuth2Token (grant refresh_token, DPoP
// proof with the cached dpopKey) and the refreshed session is written back atomically, 0600.
credentials login_profile(const aws_config::shared_config& files, const std::string& profile_name,
                          const network_settings& net);
// How early login credentials are refreshed (5 minutes in botocore, the JS and Rust SDKs).
inline constexpr std::chrono::minutes login_refresh_window{5};
// AWS_LOGIN_CACHE_DIRECTORY (a leading ~/ expanded), else ~/.aws/login/cache.
std::string login_cache_directory();
// The cache file name for a login_session: hex SHA-256 + ".json".
std::string login_cache_file_name(const std::string& login_session);

// Everything a named profile can hold, in this order: role_arn (assume-role; it comes first so
// that a role profile that also has keys never silently signs as the base identity), static
// keys, login_session (before credential_process, as in botocore), credential_process, SSO.
// `explicit_profile` is true when the user named it (an unknown explicit profile is an error; a
// missing "default" just means "not configured"). A profile without any credential setting (e.g.
// only `region`) gives nullopt.
std::optional<credentials> try_profile(
    const aws_config::shared_config& files, const std::string& profile_name, bool explicit_profile,
    std::chrono::milliseconds process_timeout = default_process_timeout,
    const network_settings& net = network_settings::from_environment());

// The profile sources other than role_arn, in order: static keys, login_session,
// credential_process, SSO. What
// an assume-role hop uses when its source_profile has static keys or no role_arn of its own.
std::optional<credentials> try_profile_without_role(const aws_config::shared_config& files,
                                                    const std::string& profile_name,
                                                    std::chrono::milliseconds process_timeout,
                                                    const network_settings& net);

// The default chain without the cache, with explicit network settings (nullopt: read from the
// environment on every resolve). default_credentials_chain() wraps it in the cache. Once a source
// has supplied credentials the chain goes back to that source first on refresh, as botocore's
// refreshable credentials do, and walks the whole chain again only if it is no longer configured.
std::shared_ptr<credentials_provider> make_default_chain(
    chain_options options, std::optional<network_settings> net = std::nullopt);

// "AWS profile 'NAME'", the name escaped and truncated: how every message names a profile.
std::string profile_label(const std::string& name);

// Removes every occurrence of each secret (8 characters or more) from text.
std::string redact(std::string text, const std::vector<std::string>& secrets);

// Runs a credential_process command line without a shell and reads its JSON (Version 1).
credentials run_credential_process(const std::string& command_line, const std::string& profile_name,
                                   std::chrono::milliseconds timeout);

// Parses credential_process output; exposed for tests and the fuzzer.
credentials parse_process_output(const std::string& json_text, const std::string& profile_name);

// Splits a command line as POSIX shlex.split does (quotes, backslash escapes, no expansion).
// Throws dsql::credentials_error on an unterminated quote or a trailing backslash.
std::vector<std::string> split_command_line(const std::string& command_line);

}  // namespace dsql::credential_sources
