#!/usr/bin/env bash
# Build the Debian packages into dist/: libdsql-dev (headers, static libraries, CMake package,
# dsql.pc) and dsql-tools (the dsql command, dsql local included), from a Release build in
# build-package/. The libraries are static, so there is no libdsql1 (see cmake/DsqlPackaging).
source "$(dirname "$0")/common.sh"

install_packages

BUILD="$ROOT/build-package"
echo "==> Release build in $BUILD"
configure_and_build "$BUILD" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
  -DDSQL_BUILD_TOOLS=ON -DDSQL_INSTALL=ON -DDSQL_BUILD_TESTS=OFF -DDSQL_BUILD_EXAMPLES=OFF \
  -DDSQL_BUILD_BENCHMARKS=OFF -DDSQL_FUZZ=OFF -DDSQL_SANITIZE= \
  -DDSQL_WITH_PQXX=ON -DDSQL_WITH_SOCI=ON --

echo "==> Packaging into $ROOT/dist"
mkdir -p "$ROOT/dist"
rm -f "$ROOT/dist/"*.deb
cpack --config "$BUILD/CPackConfig.cmake" -B "$ROOT/dist"
rm -rf "$ROOT/dist/_CPack_Packages"
for deb in "$ROOT/dist/"*.deb; do
  echo "    $(basename "$deb"): $(dpkg-deb -f "$deb" Depends)"
done
