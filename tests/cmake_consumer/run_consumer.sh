#!/usr/bin/env bash
# run_consumer.sh MODE SOURCE_DIR BUILD_DIR WORK_DIR
#   install:      cmake --install the project's build tree into WORK_DIR/prefix, then build the
#                 consumer with find_package(dsql) and separately with pkg-config.
#   subdirectory: build the consumer with add_subdirectory(SOURCE_DIR).
#   packages:     build the Debian packages with scripts/package.sh (shared libraries), unpack
#                 them with dpkg-deb -x into WORK_DIR/root, and build and run the consumer
#                 against that prefix only.
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
  packages)
    # What ./scripts/package.sh makes, from a shared Release tree kept beside the build tree (so
    # that a rerun only rebuilds what changed).
    DSQL_PACKAGE_BUILD_DIR="$build/package-tree" DSQL_DIST_DIR="$work/dist" \
      "$src/scripts/package.sh" >"$work/package.log" 2>&1 ||
      { cat "$work/package.log" >&2; exit 1; }
    for p in libdsql1 libdsql-dev dsql-tools; do
      ls "$work/dist/${p}_"*.deb >/dev/null || { echo "no $p package" >&2; exit 1; }
    done
    dpkg-deb -c "$work/dist/libdsql1_"*.deb | grep 'usr/lib/libdsql.so.1' >/dev/null ||
      { echo "libdsql1 holds no libdsql.so.1" >&2; exit 1; }
    for p in libdsql-dev dsql-tools; do
      dpkg-deb -f "$work/dist/${p}_"*.deb Depends | grep -q 'libdsql1 (=' ||
        { echo "$p does not depend on libdsql1" >&2; exit 1; }
    done
    # The libraries' and the command's Depends come from what they link (dpkg-shlibdeps).
    dpkg-deb -f "$work/dist/libdsql1_"*.deb Depends | grep -q 'libpq5' ||
      { echo "libdsql1 does not depend on libpq5" >&2; exit 1; }
    dpkg-deb -f "$work/dist/dsql-tools_"*.deb Depends | grep -q 'libpq5' ||
      { echo "dsql-tools does not depend on libpq5" >&2; exit 1; }
    # libcurl is opened at run time (dlopen), where dpkg-shlibdeps cannot see it.
    dpkg-deb -f "$work/dist/dsql-tools_"*.deb Depends | grep -q 'libcurl4' ||
      { echo "dsql-tools does not depend on libcurl4" >&2; exit 1; }
    root="$work/root"
    for deb in "$work/dist/"*.deb; do dpkg-deb -x "$deb" "$root"; done
    cmake_dir="$(dirname "$(find "$root" -name dsqlConfig.cmake | head -n 1)")"
    # Only the unpacked prefix: no package registry, no system prefix holding another dsql.
    cmake -S "$src/tests/cmake_consumer/project" -B "$work/consumer" -G Ninja \
      -DCMAKE_PREFIX_PATH="$root/usr" -Ddsql_DIR="$cmake_dir" \
      -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF >/dev/null
    grep -q "^dsql_DIR:[A-Z]*=$root/" "$work/consumer/CMakeCache.txt" ||
      { echo "the consumer found a dsql outside $root" >&2; exit 1; }
    cmake --build "$work/consumer" >/dev/null
    "$work/consumer/consumer"
    if [ -x "$work/consumer/async_consumer" ]; then "$work/consumer/async_consumer"; fi
    if [ -x "$work/consumer/soci_consumer" ]; then "$work/consumer/soci_consumer"; fi
    pc_dir="$(dirname "$(find "$root" -name dsql.pc | head -n 1)")"
    flags="$(PKG_CONFIG_PATH="$pc_dir" pkg-config --cflags --libs dsql)"
    # shellcheck disable=SC2086
    c++ -std=c++17 "$src/tests/cmake_consumer/project/main.cpp" -o "$work/pc_consumer" $flags
    # The unpacked prefix stands for /usr: its lib directory is where the loader looks.
    export LD_LIBRARY_PATH="$root/usr/lib"
    "$work/pc_consumer"
    ldd "$work/pc_consumer" | grep "libdsql.so.1 => $root/usr/lib/" >/dev/null ||
      { echo "the consumer does not load libdsql.so.1 from $root" >&2; exit 1; }
    # The command from dsql-tools signs a token offline (credentials from the environment).
    token="$(env -i PATH=/usr/bin:/bin LD_LIBRARY_PATH="$root/usr/lib" AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=secret \
      AWS_EC2_METADATA_DISABLED=true "$root/usr/bin/dsql" token \
      --host abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws)"
    case "$token" in
      abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws/\?Action=DbConnectAdmin*) ;;
      *) echo "unexpected token from the packaged dsql: ${token:0:60}" >&2; exit 1 ;;
    esac
    "$root/usr/bin/dsql" local --help | grep -q -- '--dir'
    echo "dsql-tools OK"
    ;;
  *) echo "unknown mode $mode" >&2; exit 2 ;;
esac
