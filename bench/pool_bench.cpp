// The pool's own overhead, and what it costs against dedicated connections.
//
//   DSQL_BENCH_ENDPOINT_JSON=/path/to/endpoint.json build/bench/bench_pool
// or, when the tests are built, just build/bench/bench_pool (it starts `dsql local` itself).
#include <benchmark/benchmark.h>
#include <libpq-fe.h>

#include <memory>
#include <mutex>
#include <vector>

#include "dsql/pool.hpp"
#include "dsql/retry.hpp"

#include "bench_endpoint.hpp"

namespace {

constexpr int select_threads = 4;

dsql::pool& shared_pool() {
  static dsql::pool p = [] {
    dsql::pool_options o;
    o.max_size = 8;
    return dsql::pool(bench::endpoint_config(), o);
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
    p = new dsql::pool(bench::endpoint_config(), o);
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
  dsql::connector c(bench::endpoint_config());
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
