/* Cold start with bare libpq and a token made beforehand: the same host, port, user and TLS
 * settings as bench_cold_dsql, the token in PGPASSWORD (libpq reads it itself), SELECT 1, exit.
 * Plain C, so the baseline pays for nothing but libpq.
 *   PGPASSWORD=TOKEN bench_cold_libpq HOST PORT USER SSLROOTCERT */
#include <libpq-fe.h>
#include <stdio.h>

int main(int argc, char** argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: PGPASSWORD=TOKEN %s HOST PORT USER SSLROOTCERT\n", argv[0]);
    return 2;
  }
  const char* keys[] = {"host", "port", "dbname", "user", "sslmode", "sslrootcert", NULL};
  const char* values[] = {argv[1], argv[2], "postgres", argv[3], "verify-full", argv[4], NULL};
  PGconn* conn = PQconnectdbParams(keys, values, 0);
  if (PQstatus(conn) != CONNECTION_OK) {
    fprintf(stderr, "bench_cold_libpq: %s", PQerrorMessage(conn));
    PQfinish(conn);
    return 1;
  }
  PGresult* res = PQexec(conn, "SELECT 1");
  int ok = PQresultStatus(res) == PGRES_TUPLES_OK;
  if (ok)
    printf("%s\n", PQgetvalue(res, 0, 0));
  else
    fprintf(stderr, "bench_cold_libpq: %s", PQerrorMessage(conn));
  PQclear(res);
  PQfinish(conn);
  return ok ? 0 : 1;
}
