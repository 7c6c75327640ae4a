// Schema migrations the way DSQL takes them: the files in examples/migrations (or the directory
// given as the first argument) are applied in version order, each DDL statement in its own
// transaction, the async index waited for. Run it twice: the second run applies nothing.
// Exits 0 only when the index is valid and every version is recorded.

#include <iostream>

#include "dsql/dsql.hpp"
#include "example_env.hpp"

int main(int argc, char** argv) {
  const std::string dir =
      argc > 1 ? argv[1] : examples::env_or("MIGRATIONS_DIR", EXAMPLE_MIGRATIONS_DIR);
  try {
    dsql::pool_options po;
    po.max_size = 2;  // one for the migration, one for the lock's heartbeat
    dsql::pool pool(examples::config_from_env(), po);

    dsql::migrate_options options;
    options.on_event = [](const dsql::migrate_event& e) {
      using type = dsql::migrate_event::type;
      if (e.kind == type::migration_applied) {
        std::cout << "applied V" << e.migration->file.version << " " << e.migration->file.name
                  << " in " << e.elapsed.count() << " ms\n";
      } else if (e.kind == type::job_submitted) {
        std::cout << "  waiting for index job " << e.job_id << "\n";
      }
    };
    const dsql::migrate_result r = dsql::migrate(pool, dir, options);
    std::cout << "applied " << r.applied.size() << " migrations (" << r.already_applied
              << " already applied), " << r.statements << " statements, " << r.jobs
              << " jobs; dsql migrate's own time " << r.overhead().count() << " ms\n";

    const std::string valid(
        dsql::exec_with_retry(pool,
                              "SELECT indisvalid FROM pg_index WHERE indexrelid = "
                              "'example_orders_customer'::regclass")
            .value(0, 0));
    if (valid != "t") {
      std::cerr << "migrate example failed: the index is not valid\n";
      return 1;
    }
    std::cout << "migrate example passed\n";
    return 0;
  } catch (const dsql::migration_error& e) {
    // file() and line() say where, when a statement is the cause.
    std::cerr << "migrate example failed: " << e.what() << "\n";
    return 1;
  } catch (const dsql::error& e) {
    std::cerr << "migrate example failed: " << e.what() << "\n";
    return 1;
  }
}
