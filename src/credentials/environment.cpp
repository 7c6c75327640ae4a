#include "credentials/sources.hpp"
#include "dsql/errors.hpp"
#include "util/env.hpp"

namespace dsql::credential_sources {

std::optional<credentials> try_environment() {
  auto id = util::get_env("AWS_ACCESS_KEY_ID");
  auto secret = util::get_env("AWS_SECRET_ACCESS_KEY");
  if (!id && !secret) return std::nullopt;
  // Half a key pair is a mistake, not "not configured": falling through to another source would
  // sign as an identity the user did not mean.
  if (!secret) {
    throw credentials_error(
        "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not; set both, or unset "
        "AWS_ACCESS_KEY_ID to use another credential source");
  }
  if (!id) {
    throw credentials_error(
        "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not; set both, or unset "
        "AWS_SECRET_ACCESS_KEY to use another credential source");
  }
  credentials c;
  c.access_key_id = std::move(*id);
  c.secret_access_key = std::move(*secret);
  c.session_token = util::get_env("AWS_SESSION_TOKEN").value_or("");
  c.source = "environment";
  return c;
}

}  // namespace dsql::credential_sources
