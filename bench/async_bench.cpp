// dsql::async measured against the blocking API, in one run against one endpoint:
//   1. SELECT 1 throughput: one thread driving an async_pool (8 connections, 64 tasks) against
//      8 threads on a dsql::pool of 8, alternating, several repetitions each.
//   2. A 5-statement transaction (BEGIN, 5 INSERTs, COMMIT) sent statement by statement against
//      the same in one pipeline, through a relay that adds latency; round trips are counted by
//      the relay (client sends that followed an answer).
//   3. The event loop while 200 async_connects are in flight: how late a 1 ms timer on the same
//      thread fires; the same with blocking connects run on the loop thread, for contrast.
//
//   build/bench/bench_async [--seconds S] [--repetitions R] [--only throughput|pipeline|latency]
//
// Starts its own `dsql local` (so it needs the tests built), or uses
// DSQL_BENCH_ENDPOINT_JSON=<dir>/endpoint.json. Prints a table; figures go to BENCHMARKS.md.
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "bench_endpoint.hpp"
#include "dsql/pool.hpp"
#include "support/async.hpp"
#include "support/tcp_relay.hpp"

namespace {

using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

// ---- 1. throughput ----

double thread_cpu_seconds() {
  timespec t{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

double last_async_cpu_per_op_us = 0;  // the loop thread's CPU time per SELECT 1

double blocking_rate(const dsql::config& cfg, double seconds) {
  dsql::pool_options o;
  o.max_size = 8;
  dsql::pool p(cfg, o);
  {
    std::vector<dsql::lease> warm;
    for (int i = 0; i < 8; ++i) warm.push_back(p.acquire());
  }
  std::atomic<bool> stop{false};
  std::atomic<long> ops{0};
  std::vector<std::thread> threads;
  const auto start = clock_type::now();
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      long mine = 0;
      while (!stop) {
        auto l = p.acquire();
        l->exec("SELECT 1");
        ++mine;
      }
      ops += mine;
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  return static_cast<double>(ops.load()) / seconds_since(start);
}

double async_rate(const dsql::config& cfg, double seconds) {
  asio::io_context io;
  dsql::pool_options o;
  o.max_size = 8;
  o.max_concurrent_connects = 8;
  dsql::async_pool pool(io.get_executor(), cfg, o);
  long ops = 0;
  const auto loop = [&](clock_type::time_point until, bool count) -> asio::awaitable<void> {
    while (clock_type::now() < until) {
      auto lease = co_await pool.async_acquire(asio::use_awaitable);
      co_await lease->async_exec("SELECT 1", asio::use_awaitable);
      if (count) ++ops;
    }
  };
  const auto spawn_all = [&](clock_type::time_point until, bool count) {
    for (int t = 0; t < 64; ++t) asio::co_spawn(io, loop(until, count), asio::detached);
  };
  spawn_all(clock_type::now() + milliseconds(300), false);  // open the 8 connections
  io.run();
  io.restart();
  const auto start = clock_type::now();
  spawn_all(start + std::chrono::duration_cast<clock_type::duration>(
                        std::chrono::duration<double>(seconds)),
            true);
  const double cpu_before = thread_cpu_seconds();
  io.run();  // one thread: this one
  const double elapsed = seconds_since(start);
  last_async_cpu_per_op_us = (thread_cpu_seconds() - cpu_before) * 1e6 / static_cast<double>(ops);
  return static_cast<double>(ops) / elapsed;
}

void throughput(const dsql::config& cfg, double seconds, int repetitions) {
  std::vector<double> blocking, async;
  const bool only_async = std::getenv("DSQL_BENCH_ONLY_ASYNC") != nullptr;  // for profiling
  for (int r = 0; r < repetitions; ++r) {
    blocking.push_back(only_async ? 1.0 : blocking_rate(cfg, seconds));
    async.push_back(async_rate(cfg, seconds));
    std::printf(
        "  repetition %d: blocking 8 threads %.0f/s, async 1 thread %.0f/s (loop thread "
        "%.1f us CPU per SELECT)\n",
        r + 1, blocking.back(), async.back(), last_async_cpu_per_op_us);
  }
  std::printf(
      "SELECT 1 throughput (median of %d, %.0f s each): blocking pool, 8 threads: %.0f/s; "
      "async pool, 1 thread, 64 tasks: %.0f/s; async / blocking = %.2f\n\n",
      repetitions, seconds, median(blocking), median(async), median(async) / median(blocking));
}

// ---- 2. pipeline ----

struct pipeline_figures {
  double ms_per_tx = 0;
  double round_trips = 0;
};

pipeline_figures transactions(asio::io_context& io, dsql::async_connection& c,
                              dsql::test::tcp_relay& relay, const std::string& table, int count,
                              bool pipelined, int& next_id) {
  pipeline_figures f;
  const auto turns = relay.client_turns();
  const auto start = clock_type::now();
  dsql::test::run_coroutine(io, [&]() -> asio::awaitable<void> {
    for (int t = 0; t < count; ++t) {
      std::vector<dsql::statement> tx{{"BEGIN", {}}};
      for (int i = 0; i < 5; ++i) {
        tx.push_back({"INSERT INTO " + table + " VALUES ($1, 1)", {std::to_string(next_id++)}});
      }
      tx.push_back({"COMMIT", {}});
      if (pipelined) {
        co_await c.async_pipeline(tx, asio::use_awaitable);
      } else {
        for (auto& s : tx) co_await c.async_exec_params(s.sql, s.params, asio::use_awaitable);
      }
    }
  });
  f.ms_per_tx = seconds_since(start) * 1000.0 / count;
  f.round_trips = static_cast<double>(relay.client_turns() - turns) / count;
  return f;
}

void pipeline(const dsql::config& base, std::uint16_t port) {
  const std::string table = "bench_pipeline_" + std::to_string(::getpid());
  dsql::connect(base).exec("CREATE TABLE " + table + " (id int PRIMARY KEY, v bigint)");
  int next_id = 0;
  std::printf("5-statement transaction (BEGIN, 5 INSERTs, COMMIT), one connection:\n");
  std::printf("  %-22s %-28s %-28s %s\n", "added latency", "one statement per trip", "pipeline",
              "speed-up");
  for (const int one_way_ms : {0, 1, 5}) {
    dsql::test::tcp_relay relay(port, std::chrono::milliseconds(one_way_ms));
    dsql::config cfg = base;
    cfg.port = relay.port();
    asio::io_context io;
    dsql::async_connection c;
    dsql::test::run_coroutine(io, [&]() -> asio::awaitable<void> {
      c = co_await dsql::async_connect(io.get_executor(), cfg, asio::use_awaitable);
    });
    const int count = one_way_ms == 0 ? 400 : (one_way_ms == 1 ? 100 : 30);
    transactions(io, c, relay, table, 5, false, next_id);  // warm-up
    const auto seq = transactions(io, c, relay, table, count, false, next_id);
    const auto pipe = transactions(io, c, relay, table, count, true, next_id);
    char label[64];
    std::snprintf(label, sizeof label, "%d ms each way", one_way_ms);
    std::printf("  %-22s %6.2f ms, %4.1f round trips  %6.2f ms, %4.1f round trips  %.1fx\n", label,
                seq.ms_per_tx, seq.round_trips, pipe.ms_per_tx, pipe.round_trips,
                seq.ms_per_tx / pipe.ms_per_tx);
  }
  std::printf("\n");
}

// ---- 3. the event loop while connects are in flight ----

struct lateness {
  double max_ms = 0, p99_ms = 0;
  int ticks = 0;
  double cpu_ms = 0, runnable_ms = 0;  // the loop thread's, meanwhile
  // The most CPU the loop thread used between two ticks: how long its own handlers ever kept
  // the timer waiting, whatever the scheduler did.
  double max_cpu_between_ticks_ms = 0;
};

// This thread's time on a CPU and time runnable but waiting for one, in ms (Linux schedstat).
std::pair<double, double> thread_schedstat() {
  std::ifstream in("/proc/thread-self/schedstat");
  double on_cpu_ns = 0, waiting_ns = 0;
  in >> on_cpu_ns >> waiting_ns;
  return {on_cpu_ns / 1e6, waiting_ns / 1e6};
}

// Runs a 1 ms timer on `io` until `done()` and reports how late it fired.
template <class Done>
lateness watch_timer(asio::io_context& io, Done done) {
  std::vector<double> late;
  double last_cpu = thread_cpu_seconds(), most_cpu = 0;
  asio::steady_timer tick(io);
  auto scheduled = clock_type::now() + milliseconds(1);
  std::function<void(const dsql::detail::net_error_code&)> on_tick;
  on_tick = [&](const dsql::detail::net_error_code&) {
    const auto now = clock_type::now();
    const double cpu = thread_cpu_seconds();
    most_cpu = std::max(most_cpu, (cpu - last_cpu) * 1000.0);
    last_cpu = cpu;
    late.push_back(std::chrono::duration<double, std::milli>(now - scheduled).count());
    if (done()) return;
    scheduled = now + milliseconds(1);
    tick.expires_at(scheduled);
    tick.async_wait(on_tick);
  };
  tick.expires_at(scheduled);
  tick.async_wait(on_tick);
  const auto before = thread_schedstat();
  io.run();
  const auto after = thread_schedstat();
  return {percentile(late, 1.0),      percentile(late, 0.99),       static_cast<int>(late.size()),
          after.first - before.first, after.second - before.second, most_cpu};
}

void loop_latency(const dsql::config& cfg) {
  constexpr int connects = 200;
  asio::io_context io;
  int pending = connects, ok = 0, failed = 0;
  std::string first_error;
  const auto start = clock_type::now();
  for (int i = 0; i < connects; ++i) {
    dsql::async_connect(io.get_executor(), cfg,
                        [&](std::exception_ptr e, dsql::async_connection c) {
                          --pending;
                          if (!e) {
                            ++ok;
                            c.close();
                            return;
                          }
                          ++failed;
                          try {
                            std::rethrow_exception(e);
                          } catch (const std::exception& x) {
                            if (first_error.empty()) first_error = x.what();
                          }
                        });
  }
  const auto async_late = watch_timer(io, [&] { return pending == 0; });
  const double took = seconds_since(start);
  std::printf(
      "1 ms timer while %d async_connects are in flight (%.2f s; %d connected, %d "
      "refused%s%s):\n  late by at most %.2f ms (p99 %.2f ms) over %d ticks; meanwhile the loop "
      "thread ran %.0f ms and waited %.0f ms for a CPU; at most %.2f ms of its CPU between two "
      "ticks\n",
      connects, took, ok, failed, first_error.empty() ? "" : ": ", first_error.c_str(),
      async_late.max_ms, async_late.p99_ms, async_late.ticks, async_late.cpu_ms,
      async_late.runnable_ms, async_late.max_cpu_between_ticks_ms);

  // The contrast: the same loop with blocking connects run on its thread, one handler each.
  constexpr int blocking = 20;
  asio::io_context io2;
  int left = blocking;
  for (int i = 0; i < blocking; ++i) {
    asio::post(io2, [&] {
      dsql::connect(cfg);
      --left;
    });
  }
  const auto blocking_late = watch_timer(io2, [&] { return left == 0; });
  std::printf(
      "1 ms timer while %d blocking dsql::connect calls run on the loop thread:\n"
      "  late by at most %.2f ms (p99 %.2f ms) over %d ticks; at most %.2f ms of its CPU between "
      "two ticks\n",
      blocking, blocking_late.max_ms, blocking_late.p99_ms, blocking_late.ticks,
      blocking_late.max_cpu_between_ticks_ms);
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 5;
  int repetitions = 3;
  std::string only;  // throughput, pipeline or latency; empty: all three
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--seconds") == 0) seconds = std::atof(argv[i + 1]);
    if (std::strcmp(argv[i], "--repetitions") == 0) repetitions = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--only") == 0) only = argv[i + 1];
  }
  try {
    const dsql::config cfg = bench::endpoint_config();
    if (only.empty() || only == "throughput") throughput(cfg, seconds, repetitions);
    if (only.empty() || only == "pipeline") pipeline(cfg, cfg.port);
    if (only.empty() || only == "latency") loop_latency(cfg);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "bench_async: " << e.what() << "\n";
    return 1;
  }
}
