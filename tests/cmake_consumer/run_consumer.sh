#!/usr/bin/env bash
# run_consumer.sh MODE SOURCE_DIR BUILD_DIR WORK_DIR
#   install:      cmake --install the project's build tree into WORK_DIR/prefix, then build the
#                 consumer with find_package(dsql) and separately with pkg-config.
#   subdirectory: build the consumer with add_subdirectory(SOURCE_DIR).
set -euo pipefail
mode="$1" src="$2" build="$3" work="$4"
rm -rf "$work" && mkdir -p "$work"
case "$mode" in
  install)
    cmake --install "$build" --prefix "$work/prefix" >/dev/null
    cmake -S "$src/tests/cmake_consumer/project" -B "$work/consumer" -G Ninja \
      -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
    cmake --build "$work/consumer" >/dev/null
    "$work/consumer/consumer"
    if [ -x "$work/consumer/async_consumer" ]; then "$work/consumer/async_consumer"; fi
    if [ -x "$work/consumer/soci_consumer" ]; then "$work/consumer/soci_consumer"; fi
    pc_dir="$(dirname "$(find "$work/prefix" -name dsql.pc | head -n 1)")"
    flags="$(PKG_CONFIG_PATH="$pc_dir" pkg-config --cflags --libs dsql)"
    # shellcheck disable=SC2086
    c++ -std=c++17 "$src/tests/cmake_consumer/project/main.cpp" -o "$work/pc_consumer" $flags \
      -Wl,-rpath,"$(PKG_CONFIG_PATH="$pc_dir" pkg-config --variable=libdir dsql)"
    "$work/pc_consumer"
    ;;
  subdirectory)
    cmake -S "$src/tests/cmake_consumer/project" -B "$work/consumer" -G Ninja \
      -DDSQL_CONSUMER_MODE=subdirectory -DDSQL_SOURCE_DIR="$src" >/dev/null
    cmake --build "$work/consumer" >/dev/null
    "$work/consumer/consumer"
    if [ -x "$work/consumer/async_consumer" ]; then "$work/consumer/async_consumer"; fi
    if [ -x "$work/consumer/soci_consumer" ]; then "$work/consumer/soci_consumer"; fi
    ;;
  *) echo "unknown mode $mode" >&2; exit 2 ;;
esac
