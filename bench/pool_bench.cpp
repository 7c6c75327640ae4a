// The pool's own overhead, and what it costs against dedicated connections.
//
//   DSQL_BENCH_ENDPOINT_JSON=/path/to/endpoint.json build/bench/bench_pool
// or, when the tests are built, just build/bench/bench_pool (it starts `dsql local` itself).
#include <benchmark/benchmark.h>
#include <libpq-fe.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <vector>

#include "dsql/pool.hpp"
#include "dsql/retry.hpp"

#ifdef DSQL_BENCH_CAN_START_LOCAL
#include "local_endpoint.hpp"
#endif

namespace {

constexpr int select_threads = 4;

dsql::config endpoint_config() {
  static std::once_flag once;
  static dsql::config cfg;
  std::call_once(once, [] {
    if (const char* path = std::getenv("DSQL_BENCH_ENDPOINT_JSON")) {
      std::ifstream in(path);
      const auto j = nlohmann::json::parse(in);
      cfg.host = j.at("hostname").get<std::string>();
      cfg.port = j.at("port").get<std::uint16_t>();
      cfg.region = j.at("region").get<std::string>();
      cfg.sslrootcert = j.at("ca_file").get<std::string>();
      cfg.credentials = std::make_shared<dsql::static_credentials_provider>(
          dsql::credentials{j.at("access_key_id").get<std::string>(),
                            j.at("secret_access_key").get<std::string>(),
                            "",
                            {},
                            "endpoint.json"});
      return;
    }
#ifdef DSQL_BENCH_CAN_START_LOCAL
    static dsql::test::local_endpoint ep;  // stopped at exit
    cfg = ep.config();
#else
    throw std::runtime_error("set DSQL_BENCH_ENDPOINT_JSON to a dsql local endpoint.json");
#endif
  });
  return cfg;
}

dsql::pool& shared_pool() {
  static dsql::pool p = [] {
    dsql::pool_options o;
    o.max_size = 8;
    return dsql::pool(endpoint_config(), o);
  }();
  return p;
}

// One lease at a time from one thread: the pool's bookkeeping only.
void BM_AcquireRelease(benchmark::State& state) {
  auto& p = shared_pool();
  p.acquire();  // opened before timing
  for (auto _ : state) {
    auto l = p.acquire();
    benchmark::DoNotOptimize(l.get().raw());
  }
}
BENCHMARK(BM_AcquireRelease);
// Eight threads on a pool of eight: contention on the pool's lock, never a wait for a connection.
BENCHMARK(BM_AcquireRelease)->Threads(8)->UseRealTime();

// SELECT 1 through a pool of `select_threads` connections.
void BM_PooledSelect1(benchmark::State& state) {
  static dsql::pool* p = nullptr;
  if (state.thread_index() == 0) {
    dsql::pool_options o;
    o.max_size = select_threads;
    o.min_size = select_threads;
    p = new dsql::pool(endpoint_config(), o);
    std::vector<dsql::lease> warm;
    for (int i = 0; i < select_threads; ++i) warm.push_back(p->acquire());
  }
  for (auto _ : state) {
    auto l = p->acquire();
    benchmark::DoNotOptimize(l->exec("SELECT 1"));
  }
  if (state.thread_index() == 0) state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PooledSelect1)->Threads(select_threads)->UseRealTime();

// The same on one dedicated libpq connection per thread: the ceiling for the pooled figure.
void BM_RawSelect1(benchmark::State& state) {
  dsql::connector c(endpoint_config());
  dsql::connection conn = c.connect();
  PGconn* raw = conn.raw();
  for (auto _ : state) {
    PGresult* r = PQexec(raw, "SELECT 1");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) state.SkipWithError("SELECT 1 failed");
    PQclear(r);
  }
  if (state.thread_index() == 0) state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RawSelect1)->Threads(select_threads)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
