// A pool shared by threads: each thread borrows a connection per unit of work and gives it back
// by leaving scope. Exits 0 only when every insert is counted.

#include <atomic>
#include <iostream>
#include <thread>
#include <vector>

#include "dsql/dsql.hpp"
#include "example_env.hpp"

int main() {
  constexpr int threads = 4;
  constexpr int inserts_per_thread = 10;
  try {
    dsql::pool_options options;
    options.min_size = 2;
    options.max_size = 4;
    dsql::pool pool(examples::config_from_env(), options);

    pool.acquire()->exec(
        "CREATE TABLE IF NOT EXISTS pool_example (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), "
        "worker int NOT NULL, run text NOT NULL)");
    const std::string run =
        std::to_string(std::chrono::system_clock::now().time_since_epoch().count());

    std::atomic<int> failures{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        for (int i = 0; i < inserts_per_thread; ++i) {
          try {
            dsql::lease conn = pool.acquire();  // returned to the pool at the end of the scope
            conn->exec_params("INSERT INTO pool_example (worker, run) VALUES ($1, $2)",
                              {std::to_string(t), run});
          } catch (const dsql::error& e) {
            std::cerr << "worker " << t << ": " << e.what() << "\n";
            ++failures;
          }
        }
      });
    }
    for (auto& w : workers) w.join();

    dsql::lease conn = pool.acquire();
    const auto count =
        conn->exec_params("SELECT count(*) FROM pool_example WHERE run = $1", {run}).value(0, 0);
    conn->exec_params("DELETE FROM pool_example WHERE run = $1", {run});
    const dsql::pool_stats stats = pool.stats();
    std::cout << "inserted " << count << " rows from " << threads << " threads over "
              << stats.created << " connections (max " << options.max_size << ")\n";
    if (failures != 0 || count != std::to_string(threads * inserts_per_thread) ||
        stats.created > options.max_size) {
      std::cerr << "pool example failed\n";
      return 1;
    }
    std::cout << "pool example passed\n";
    return 0;
  } catch (const dsql::error& e) {
    std::cerr << "pool example failed: " << e.what() << "\n";
    return 1;
  }
}
