// Writing many rows from C++ within DSQL's limits: dsql::batch_writer cuts them into batches of
// at most 3,000 rows (and a few MiB), writes each as one COPY transaction, retries conflicts,
// and runs batches on several pooled connections at once. Deleting many rows needs batches too.
// Exits 0 only when every row is counted. (result::value is a view into the result: copy it
// before the result goes away.)

#include <iostream>
#include <string>

#include "dsql/dsql.hpp"
#include "example_env.hpp"

int main() {
  constexpr int rows = 10000;
  try {
    dsql::pool_options po;
    po.max_size = 5;
    dsql::pool pool(examples::config_from_env(), po);
    dsql::exec_with_retry(pool,
                          "CREATE TABLE IF NOT EXISTS load_example (id uuid PRIMARY KEY DEFAULT "
                          "gen_random_uuid(), run text NOT NULL, n integer NOT NULL, note text)");
    const std::string run =
        std::to_string(std::chrono::system_clock::now().time_since_epoch().count());

    dsql::batch_writer_options options;
    options.table = "load_example";
    options.columns = {"run", "n", "note"};  // id takes its default
    // Batches written at once (LOAD_WORKERS, default 4).
    options.workers = static_cast<std::size_t>(std::stoul(examples::env_or("LOAD_WORKERS", "4")));
    dsql::batch_writer writer(pool, options);
    for (int i = 0; i < rows; ++i) {
      const std::string n = std::to_string(i);
      writer.append({run, n, i % 10 == 0 ? std::nullopt : std::optional<std::string_view>("ok")});
    }
    writer.finish();  // sends the last batch and waits for every commit
    const dsql::batch_writer_stats s = writer.stats();
    std::cout << "wrote " << s.rows_committed << " rows in " << s.batches_committed << " batches ("
              << s.retries << " retries)\n";

    const std::string count(
        dsql::exec_with_retry(pool, "SELECT count(*) FROM load_example WHERE run = $1", {run})
            .value(0, 0));
    // A transaction may modify at most 3,000 rows: delete in batches too.
    std::size_t deleted = 0;
    for (;;) {
      const auto r = dsql::exec_with_retry(
          pool,
          "DELETE FROM load_example WHERE id IN (SELECT id FROM load_example WHERE run = $1 "
          "LIMIT 2000)",
          {run});
      if (r.affected_rows() == 0) break;
      deleted += r.affected_rows();
    }
    std::cout << "counted " << count << ", deleted " << deleted << "\n";
    if (count != std::to_string(rows) || deleted != static_cast<std::size_t>(rows)) {
      std::cerr << "load example failed\n";
      return 1;
    }
    std::cout << "load example passed\n";
    return 0;
  } catch (const dsql::error& e) {
    std::cerr << "load example failed: " << e.what() << "\n";
    return 1;
  }
}
