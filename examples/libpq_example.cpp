// Connect with the connector and use libpq directly: create the owner table, insert a row, read
// it back and delete it. Exits 0 only when every step was checked.

#include <libpq-fe.h>

#include <iostream>

#include "dsql/dsql.hpp"
#include "example_env.hpp"

int main() {
  try {
    dsql::connection conn = dsql::connect(examples::config_from_env());
    PGconn* raw = conn.raw();  // plain libpq from here on
    std::cout << "Connected to " << PQhost(raw) << " as " << PQuser(raw)
              << " (TLS: " << (PQsslInUse(raw) ? PQsslAttribute(raw, "protocol") : "off") << ")\n";

    // DSQL runs one DDL statement per transaction and no DDL next to DML: autocommit suits it.
    conn.exec(
        "CREATE TABLE IF NOT EXISTS owner (id uuid NOT NULL DEFAULT gen_random_uuid(), name "
        "varchar(30) NOT NULL, city varchar(80) NOT NULL, telephone varchar(20), PRIMARY KEY "
        "(id))");
    conn.exec_params(
        "INSERT INTO owner (name, city, telephone) VALUES ($1, $2, $3)",
        {std::string("John Doe"), std::string("Anytown"), std::string("555-555-1999")});

    dsql::result rows = conn.exec_params("SELECT name, city, telephone FROM owner WHERE name = $1",
                                         {std::string("John Doe")});
    if (rows.rows() < 1 || rows.value(0, 1) != "Anytown" || rows.value(0, 2) != "555-555-1999") {
      std::cerr << "the inserted owner did not come back\n";
      return 1;
    }
    std::cout << "Read back: " << rows.value(0, 0) << ", " << rows.value(0, 1) << ", "
              << rows.value(0, 2) << "\n";

    const dsql::result deleted =
        conn.exec_params("DELETE FROM owner WHERE name = $1", {std::string("John Doe")});
    const dsql::result left =
        conn.exec_params("SELECT count(*) FROM owner WHERE name = $1", {std::string("John Doe")});
    if (deleted.affected_rows() < 1 || left.value(0, 0) != "0") {
      std::cerr << "the owner was not deleted\n";
      return 1;
    }
    std::cout << "Deleted " << deleted.affected_rows() << " row(s); libpq example passed\n";
    return 0;
  } catch (const dsql::error& e) {
    std::cerr << "libpq example failed: " << e.what() << "\n";
    return 1;
  }
}
