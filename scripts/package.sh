#!/usr/bin/env bash
# Build the Debian packages into dist/ from a Release build of shared libraries in
# build-package/: libdsql1 (libdsql.so.1 and the adapters' libraries), libdsql-dev (headers, the
# .so links, CMake package, dsql.pc) and dsql-tools (the dsql command, dsql local included).
# DSQL_PACKAGE_BUILD_DIR and DSQL_DIST_DIR choose other directories (the package test uses them).
source "$(dirname "$0")/common.sh"

install_packages

BUILD="${DSQL_PACKAGE_BUILD_DIR:-$ROOT/build-package}"
DIST="${DSQL_DIST_DIR:-$ROOT/dist}"
echo "==> Release build in $BUILD"
configure_and_build "$BUILD" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON \
  -DDSQL_BUILD_TOOLS=ON -DDSQL_INSTALL=ON -DDSQL_BUILD_TESTS=OFF -DDSQL_BUILD_EXAMPLES=OFF \
  -DDSQL_BUILD_BENCHMARKS=OFF -DDSQL_FUZZ=OFF -DDSQL_SANITIZE= \
  -DDSQL_WITH_PQXX=ON -DDSQL_WITH_SOCI=ON --

echo "==> Packaging into $DIST"
mkdir -p "$DIST"
rm -f "$DIST/"*.deb
cpack --config "$BUILD/CPackConfig.cmake" -B "$DIST"
rm -rf "$DIST/_CPack_Packages"
for deb in "$DIST/"*.deb; do
  echo "    $(basename "$deb"): $(dpkg-deb -f "$deb" Depends)"
done
