# Shared by scripts/demo.sh and scripts/test.sh: install what is missing, then build and test.
# shellcheck shell=bash

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JOBS="${JOBS:-$(nproc 2>/dev/null || echo 2)}"

# Debian 12 packages the project builds, tests and runs with.
DSQL_PACKAGES=(
  build-essential cmake ninja-build pkg-config git ca-certificates jq
  libpq-dev libssl-dev libcurl4-openssl-dev nlohmann-json3-dev libasio-dev libcli11-dev
  libpqxx-dev libsoci-dev libpugixml-dev libgtest-dev libgmock-dev libbenchmark-dev
  libboost1.81-dev libpg-query-dev time python3 doxygen
  postgresql-15 postgresql-client-15 postgresql-server-dev-15 clang-14 libclang-rt-14-dev
)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_packages() {
  local missing=()
  for p in "${DSQL_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "==> Installing: ${missing[*]}"
    as_root apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      "${missing[@]}"
  fi
}

# A build tree another generator or another source tree made cannot be reused: start it afresh.
reset_foreign_build_tree() {
  local dir="$1" cache="$1/CMakeCache.txt"
  [ -f "$cache" ] || return 0
  local generator home
  generator="$(sed -n 's/^CMAKE_GENERATOR:INTERNAL=//p' "$cache")"
  home="$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$cache")"
  if [ "$generator" != "Ninja" ] || [ "$home" != "$ROOT" ]; then
    echo "==> $dir was configured by another generator or source tree; starting it afresh"
    rm -rf "$dir"
  fi
}

# configure_and_build BUILD_DIR [cmake args...] -- [targets...]
# Every option a caller relies on is passed explicitly, so whatever state BUILD_DIR is in (made by
# the other script, configured by hand, interrupted) the result is the same. A configure that
# fails on an existing tree is retried once on a fresh one.
configure_and_build() {
  local dir="$1"; shift
  local cmake_args=() targets=()
  while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do cmake_args+=("$1"); shift; done
  [ "$#" -gt 0 ] && shift
  targets=("$@")
  reset_foreign_build_tree "$dir"
  local configure=(cmake -S "$ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
                   "${cmake_args[@]}")
  if ! "${configure[@]}" >"$dir.configure.log" 2>&1; then
    if [ -d "$dir" ]; then
      echo "==> Configuring $dir failed; retrying on a fresh tree"
      rm -rf "$dir"
    fi
    "${configure[@]}" >"$dir.configure.log" 2>&1 || { cat "$dir.configure.log" >&2; return 1; }
  fi
  rm -f "$dir.configure.log"
  if [ "${#targets[@]}" -gt 0 ]; then
    cmake --build "$dir" -j "$JOBS" --target "${targets[@]}"
  else
    cmake --build "$dir" -j "$JOBS"
  fi
}

# run_ctest_stage NAME BUILD_DIR [ctest args...]
# Runs ctest, fails when it finds no test, and records "NAME: N tests" for the summary.
STAGE_SUMMARY=()
run_ctest_stage() {
  local name="$1" dir="$2"; shift 2
  local log
  log="$(mktemp)"
  local status=0
  ctest --test-dir "$dir" --no-tests=error --output-on-failure "$@" 2>&1 | tee "$log" ||
    status=$?
  local count
  count="$(sed -n 's/.*tests passed, [0-9]* tests failed out of \([0-9]*\).*/\1/p' "$log" | tail -1)"
  rm -f "$log"
  if [ "$status" -ne 0 ]; then
    echo "==> Stage '$name' failed" >&2
    return "$status"
  fi
  if [ -z "$count" ] || [ "$count" -eq 0 ]; then
    echo "==> Stage '$name' ran no tests" >&2
    return 1
  fi
  STAGE_SUMMARY+=("$name: $count tests")
}

print_stage_summary() {
  echo "==> Tests run"
  local line
  for line in "${STAGE_SUMMARY[@]}"; do echo "    $line"; done
}
