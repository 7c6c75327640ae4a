// Two dsql::migrate calls at once against one cluster, each on its own pool, as two processes
// would run: they take turns through the lock row, and each version is applied once.

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "migrate_support.hpp"

namespace dsql::test {
namespace {

TEST(MigrateConcurrently, TwoRunsAtOnceApplyEachVersionOnce) {
  local_endpoint::options eo;
  eo.extra_args = {"--index-build-delay", "100"};
  local_endpoint endpoint(eo);
  scratch_dir d;
  write_migration_set(d, "together");
  std::atomic<int> waited{0};
  std::vector<std::thread> runs;
  std::vector<std::exception_ptr> errors(2);
  std::vector<migrate_result> results(2);
  for (int i = 0; i < 2; ++i) {
    runs.emplace_back([&, i] {
      try {
        pool_options po;
        po.max_size = 2;
        pool own(endpoint.config(), po);
        migrate_options o = migrate_test_options("together");
        // Two runs at once contend for real: the retries a user would have, not the quick ones.
        o.retry = retry_options{};
        o.on_event = [&](const migrate_event& e) {
          if (e.kind == migrate_event::type::waiting_for_lock) ++waited;
        };
        results[static_cast<std::size_t>(i)] = migrate(own, d.path(), o);
      } catch (...) {
        errors[static_cast<std::size_t>(i)] = std::current_exception();
      }
    });
  }
  for (auto& t : runs) t.join();
  for (auto& e : errors) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        ADD_FAILURE() << ex.what();
      }
    }
  }
  EXPECT_EQ(results[0].applied.size() + results[1].applied.size(), 2u);
  EXPECT_EQ(results[0].statements + results[1].statements, 8u);
  pool check(endpoint.config());
  expect_set_applied_once(check, "together");
}

}  // namespace
}  // namespace dsql::test
