// Optimistic concurrency: many threads increment one counter. Conflicting transactions fail
// with SQLSTATE 40001 (OC000) and are retried whole, on a fresh connection, with backoff.
// Exits 0 only when the counter ends exactly at threads * increments.

#include <atomic>
#include <iostream>
#include <thread>
#include <vector>

#include "dsql/dsql.hpp"
#include "example_env.hpp"

int main() {
  constexpr int threads = 4;
  constexpr int increments = 10;
  try {
    dsql::pool_options options;
    options.max_size = threads;
    dsql::pool pool(examples::config_from_env(), options);
    {
      dsql::lease conn = pool.acquire();
      conn->exec(
          "CREATE TABLE IF NOT EXISTS occ_example (id text PRIMARY KEY, value bigint NOT "
          "NULL)");
      conn->exec("DELETE FROM occ_example WHERE id = 'counter'");
      conn->exec("INSERT INTO occ_example VALUES ('counter', 0)");
    }

    std::atomic<int> retries{0};
    dsql::retry_options retry;
    retry.max_attempts = 50;  // a hot counter is the worst case: let every thread finish
    retry.initial_backoff = std::chrono::milliseconds(5);
    retry.max_backoff = std::chrono::milliseconds(200);
    retry.on_retry = [&](const dsql::retry_event&) { ++retries; };

    std::atomic<int> failures{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&] {
        for (int i = 0; i < increments; ++i) {
          try {
            dsql::run_transaction(
                pool,
                [](dsql::connection& c) {
                  const auto v = std::stoll(std::string(
                      c.exec("SELECT value FROM occ_example WHERE id = 'counter'").value(0, 0)));
                  c.exec_params("UPDATE occ_example SET value = $1 WHERE id = 'counter'",
                                {std::to_string(v + 1)});
                },
                retry);
          } catch (const dsql::error& e) {
            std::cerr << e.what() << "\n";
            ++failures;
          }
        }
      });
    }
    for (auto& w : workers) w.join();

    const std::string value = std::string(
        pool.acquire()->exec("SELECT value FROM occ_example WHERE id = 'counter'").value(0, 0));
    std::cout << "counter = " << value << " (expected " << threads * increments << "), " << retries
              << " conflicts retried\n";
    if (failures != 0 || value != std::to_string(threads * increments)) {
      std::cerr << "OCC retry example failed\n";
      return 1;
    }
    std::cout << "OCC retry example passed\n";
    return 0;
  } catch (const dsql::error& e) {
    std::cerr << "OCC retry example failed: " << e.what() << "\n";
    return 1;
  }
}
