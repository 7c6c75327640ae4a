// SOCI through the connector: a struct mapped to a table with soci::type_conversion, and the
// four CRUD operations on it, each in a transaction retried on OCC conflicts. Exits 0 only
// when every step reads back what it wrote.

#include <soci/soci.h>
#include <iostream>
#include <string>

#include "dsql/soci.hpp"
#include "example_env.hpp"

struct owner {
  std::string id;  // uuid, kept as text on the client
  std::string name;
  std::string city;
  std::string telephone;
};

namespace soci {
// Column names <-> members, so that use(owner) binds :id, :name, ... and into(owner) fills it.
template <>
struct type_conversion<owner> {
  typedef values base_type;
  static void from_base(const values& v, indicator, owner& o) {
    o.id = v.get<std::string>("id");
    o.name = v.get<std::string>("name");
    o.city = v.get<std::string>("city");
    o.telephone = v.get<std::string>("telephone", std::string());  // NULL: no telephone
  }
  static void to_base(const owner& o, values& v, indicator& ind) {
    v.set("id", o.id);
    v.set("name", o.name);
    v.set("city", o.city);
    v.set("telephone", o.telephone, o.telephone.empty() ? i_null : i_ok);
    ind = i_ok;
  }
};
}  // namespace soci

namespace {

constexpr const char* select_owner =
    "SELECT id::text AS id, name, city, telephone FROM owner WHERE id = :id";

bool fail(const std::string& what) {
  std::cerr << "soci example failed: " << what << "\n";
  return false;
}

bool run() {
  dsql::soci_pool pool(examples::config_from_env());
  {
    // DSQL: a DDL statement runs in a transaction of its own, never beside DML; autocommit
    // gives it one.
    auto l = pool.acquire();
    *l << "CREATE TABLE IF NOT EXISTS owner (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), "
          "name varchar(30) NOT NULL, city varchar(80) NOT NULL, telephone varchar(20))";
  }

  // Create: the server makes the id; the row goes in through the mapping.
  owner o{"", "John Doe", "Anytown", "555-555-1999"};
  o.id = dsql::run_transaction(pool, [&](soci::session& sql) {
    std::string id;
    sql << "SELECT gen_random_uuid()::text", soci::into(id);
    owner row = o;
    row.id = id;
    sql << "INSERT INTO owner (id, name, city, telephone) VALUES (:id::uuid, :name, :city, "
           ":telephone)",
        soci::use(row);
    return id;
  });

  // Read it back into the struct.
  owner back = dsql::run_transaction(pool, [&](soci::session& sql) {
    owner row;
    sql << select_owner, soci::use(o.id), soci::into(row);
    return row;
  });
  if (back.name != o.name || back.city != o.city || back.telephone != o.telephone) {
    return fail("read back " + back.name + ", " + back.city + ", " + back.telephone);
  }

  // Update two columns and check them.
  dsql::run_transaction(pool, [&](soci::session& sql) {
    owner moved = back;
    moved.city = "Springfield";
    moved.telephone.clear();  // stored as NULL
    sql << "UPDATE owner SET city = :city, telephone = :telephone WHERE id = :id::uuid",
        soci::use(moved);
  });
  owner updated;
  *pool.acquire() << select_owner, soci::use(o.id), soci::into(updated);
  if (updated.city != "Springfield" || !updated.telephone.empty()) {
    return fail("update not read back: " + updated.city);
  }

  // Delete, then count what is left of it.
  int left = -1;
  dsql::run_transaction(pool, [&](soci::session& sql) {
    sql << "DELETE FROM owner WHERE id = :id::uuid", soci::use(o.id);
    sql << "SELECT count(*) FROM owner WHERE id = :id::uuid", soci::use(o.id), soci::into(left);
  });
  if (left != 0) return fail("the row survived its DELETE");

  std::cout << "owner " << o.id << ": created, read, updated, deleted; soci example passed\n";
  return true;
}

}  // namespace

int main() {
  try {
    return run() ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "soci example failed: " << e.what() << "\n";
    return 1;
  }
}
