// Cold start through the connector: resolve credentials from the default chain, sign, connect
// with verify-full, SELECT 1, exit. bench/cold_start.sh times whole processes of this against
// cold_libpq.c.
//   bench_cold_dsql URI      e.g. postgres://admin@localhost:PORT/postgres?region=R&sslrootcert=CA
#include <cstdio>
#include <exception>

#include "dsql/connection.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s URI\n", argv[0]);
    return 2;
  }
  try {
    auto conn = dsql::connect(argv[1]);
    const auto res = conn.exec("SELECT 1");
    const auto v = res.value(0, 0);
    std::printf("%.*s\n", static_cast<int>(v.size()), v.data());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_cold_dsql: %s\n", e.what());
    return 1;
  }
  return 0;
}
