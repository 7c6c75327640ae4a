#!/usr/bin/env bash
# The test command's own guard: a ctest stage that runs no test must fail, one that runs tests must
# pass and be counted. Sourced from scripts/common.sh, exactly as scripts/test.sh uses it.
set -euo pipefail
source "$(dirname "$0")/../../scripts/common.sh"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/empty" "$work/one"
: > "$work/empty/CTestTestfile.cmake"
echo 'add_test(trivial /bin/true)' > "$work/one/CTestTestfile.cmake"

if (run_ctest_stage "empty" "$work/empty" >/dev/null 2>&1); then
  echo "FAIL: a stage with no tests passed"; exit 1
fi
if ! run_ctest_stage "one" "$work/one" >/dev/null 2>&1; then
  echo "FAIL: a stage with one passing test failed"; exit 1
fi
[ "${STAGE_SUMMARY[*]}" = "one: 1 tests" ] || { echo "FAIL: summary '${STAGE_SUMMARY[*]}'"; exit 1; }

echo 'add_test(broken /bin/false)' > "$work/one/CTestTestfile.cmake"
if (run_ctest_stage "broken" "$work/one" >/dev/null 2>&1); then
  echo "FAIL: a stage with a failing test passed"; exit 1
fi

# A tree made by another generator is started afresh rather than reused.
mkdir -p "$work/foreign"
printf 'CMAKE_GENERATOR:INTERNAL=Unix Makefiles\nCMAKE_HOME_DIRECTORY:INTERNAL=%s\n' "$ROOT" \
  > "$work/foreign/CMakeCache.txt"
reset_foreign_build_tree "$work/foreign" >/dev/null
[ ! -e "$work/foreign" ] || { echo "FAIL: a Makefiles tree was kept"; exit 1; }
echo "stage guard OK"
