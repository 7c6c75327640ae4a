// bench_cold_libpq as a C++ program would write it (std::string, iostream): it pays for
// loading and initialising libstdc++ as the connector does, which tells that share of the
// connector's cold-start cost from the connector's own.
//   PGPASSWORD=TOKEN bench_cold_libpq_cxx HOST PORT USER SSLROOTCERT
#include <libpq-fe.h>

#include <iostream>
#include <string>

int main(int argc, char** argv) {
  if (argc != 5) {
    std::cerr << "usage: PGPASSWORD=TOKEN " << argv[0] << " HOST PORT USER SSLROOTCERT\n";
    return 2;
  }
  const std::string host = argv[1], port = argv[2], user = argv[3], ca = argv[4];
  const char* keys[] = {"host", "port", "dbname", "user", "sslmode", "sslrootcert", nullptr};
  const char* values[] = {host.c_str(),  port.c_str(), "postgres", user.c_str(),
                          "verify-full", ca.c_str(),   nullptr};
  PGconn* conn = PQconnectdbParams(keys, values, 0);
  if (PQstatus(conn) != CONNECTION_OK) {
    std::cerr << "bench_cold_libpq_cxx: " << PQerrorMessage(conn);
    PQfinish(conn);
    return 1;
  }
  PGresult* res = PQexec(conn, "SELECT 1");
  const bool ok = PQresultStatus(res) == PGRES_TUPLES_OK;
  if (ok) {
    std::cout << std::string(PQgetvalue(res, 0, 0)) << '\n';
  } else {
    std::cerr << "bench_cold_libpq_cxx: " << PQerrorMessage(conn);
  }
  PQclear(res);
  PQfinish(conn);
  return ok ? 0 : 1;
}
