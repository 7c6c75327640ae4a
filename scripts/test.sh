#!/usr/bin/env bash
# Install what is missing, build everything, and run the whole test suite:
#   1. the full suite (unit, integration against dsql local, examples, fuzz replay, CMake consumer)
#   2. the unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer
#   3. the pool and credential-cache tests under ThreadSanitizer
source "$(dirname "$0")/common.sh"

install_packages

echo "==> Build and full test suite"
configure_and_build "$ROOT/build" -DDSQL_BUILD_BENCHMARKS=ON --
ctest --test-dir "$ROOT/build" --output-on-failure -j "$JOBS"

if [ "${DSQL_SKIP_SANITIZERS:-0}" != "1" ]; then
  echo "==> Unit tests under AddressSanitizer and UndefinedBehaviorSanitizer"
  configure_and_build "$ROOT/build-asan" "-DDSQL_SANITIZE=address;undefined" \
    -DDSQL_BUILD_EXAMPLES=OFF --
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir "$ROOT/build-asan" --output-on-failure -j "$JOBS" -L 'unit|sanitize'

  echo "==> Thread-safety tests under ThreadSanitizer"
  configure_and_build "$ROOT/build-tsan" -DDSQL_SANITIZE=thread -DDSQL_BUILD_EXAMPLES=OFF --
  TSAN_OPTIONS=halt_on_error=1 ctest --test-dir "$ROOT/build-tsan" --output-on-failure -L threads
fi
