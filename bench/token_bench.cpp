// Token generation with warm credentials: what a pool pays per new connection.
#include <benchmark/benchmark.h>

#include "dsql/token.hpp"

namespace {

dsql::credentials sample_credentials(bool with_session_token) {
  dsql::credentials c;
  c.access_key_id = "ASIAEXAMPLEEXAMPLE12";
  c.secret_access_key = "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY";
  if (with_session_token) c.session_token = std::string(900, 'T');  // STS tokens are ~1 KB
  return c;
}

const dsql::token_request request{"iuabtx3obgvtsv2e5wchdr2v54.dsql.eu-west-2.on.aws", "eu-west-2",
                                  dsql::token_action::db_connect_admin, std::chrono::seconds(900)};

// token_generator: cached signing key, credentials from a provider.
void BM_TokenGenerator(benchmark::State& state) {
  auto provider =
      std::make_shared<dsql::static_credentials_provider>(sample_credentials(state.range(0) != 0));
  dsql::token_generator generator(provider);
  for (auto _ : state) benchmark::DoNotOptimize(generator.generate(request));
}
BENCHMARK(BM_TokenGenerator)->Arg(0)->Arg(1)->ArgName("session_token");

// generate_token: derives the signing key every time (four more HMACs).
void BM_GenerateTokenColdKey(benchmark::State& state) {
  const auto creds = sample_credentials(false);
  const auto now = std::chrono::system_clock::now();
  for (auto _ : state) benchmark::DoNotOptimize(dsql::generate_token(request, creds, now));
}
BENCHMARK(BM_GenerateTokenColdKey);

}  // namespace

BENCHMARK_MAIN();
