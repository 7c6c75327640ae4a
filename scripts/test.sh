#!/usr/bin/env bash
# Install what is missing, build everything, and run the whole test suite:
#   1. the full suite (unit, integration against dsql local, examples, fuzz replay, CMake consumer,
#      the Debian packages unpacked and used by the consumer)
#   2. the unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer
#   3. the pool and credential-cache tests under ThreadSanitizer
#   4. dsql::async again, built on Boost.Asio instead of standalone Asio
# Each stage builds its own tree with every option it needs, and fails if it runs no test.
source "$(dirname "$0")/common.sh"

install_packages

# The options every stage needs, whatever an earlier configure (the demo's, or a user's) left.
FULL=(-DDSQL_BUILD_TESTS=ON -DDSQL_BUILD_TOOLS=ON -DDSQL_BUILD_EXAMPLES=ON -DDSQL_FUZZ=OFF)

echo "==> Build and full test suite"
configure_and_build "$ROOT/build" "${FULL[@]}" -DDSQL_BUILD_BENCHMARKS=ON -DDSQL_SANITIZE= \
  -DDSQL_WITH_PQXX=ON -DDSQL_WITH_SOCI=ON --
run_ctest_stage "full suite" "$ROOT/build" -j "$JOBS"

if [ "${DSQL_SKIP_SANITIZERS:-0}" != "1" ]; then
  echo "==> Unit tests under AddressSanitizer and UndefinedBehaviorSanitizer"
  configure_and_build "$ROOT/build-asan" "${FULL[@]}" "-DDSQL_SANITIZE=address;undefined" \
    -DDSQL_BUILD_EXAMPLES=OFF -DDSQL_BUILD_BENCHMARKS=OFF -- dsql_tests_unit
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    run_ctest_stage "AddressSanitizer+UndefinedBehaviorSanitizer" "$ROOT/build-asan" \
    -j "$JOBS" -L 'unit|sanitize'

  echo "==> Thread-safety tests under ThreadSanitizer"
  configure_and_build "$ROOT/build-tsan" "${FULL[@]}" -DDSQL_SANITIZE=thread \
    -DDSQL_BUILD_EXAMPLES=OFF -DDSQL_BUILD_BENCHMARKS=OFF -- dsql_tests_threads
  TSAN_OPTIONS=halt_on_error=1 run_ctest_stage "ThreadSanitizer" "$ROOT/build-tsan" -L threads
  echo "==> dsql::async on Boost.Asio"
  configure_and_build "$ROOT/build-boost" "${FULL[@]}" -DDSQL_ASYNC_ASIO=boost -DDSQL_SANITIZE= \
    -DDSQL_BUILD_BENCHMARKS=OFF -- dsql_cli dsql_async_unit_tests dsql_async_integration_tests \
    dsql_async_cxx17_tests example_async
  run_ctest_stage "Boost.Asio async" "$ROOT/build-boost" -j "$JOBS" -L async
else
  echo "==> Sanitizer and Boost.Asio stages skipped (DSQL_SKIP_SANITIZERS=1)"
fi

print_stage_summary
