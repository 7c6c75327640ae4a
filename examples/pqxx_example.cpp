// libpqxx through the connector: every pqxx::connection gets a fresh token and is never
// re-activated with a stale one. Exits 0 only when the row written is read back.

#include <iostream>
#include <pqxx/pqxx>

#include "dsql/pqxx.hpp"
#include "example_env.hpp"

// libpqxx hands notices to its error handlers as libpq's text ("NOTICE:  ...\n"); print each
// as one line of our own output instead of libpqxx's default, stderr.
class notice_printer final : public pqxx::errorhandler {
 public:
  using pqxx::errorhandler::errorhandler;
  bool operator()(const char msg[]) noexcept override {
    std::string line(msg);
    line = line.substr(0, line.find('\n'));
    std::cout << "notice: " << line.substr(0, line.find(":  ")) << ": "
              << (line.find(":  ") == std::string::npos ? line : line.substr(line.find(":  ") + 3))
              << "\n";
    return false;  // handled: libpqxx's default handler need not print it too
  }
};

int main() {
  try {
    std::unique_ptr<pqxx::connection> conn = dsql::pqxx_connect(examples::config_from_env());
    const notice_printer notices(*conn);
    {
      pqxx::nontransaction ddl(*conn);  // DSQL: DDL on its own, outside a DML transaction
      ddl.exec(
          "CREATE TABLE IF NOT EXISTS pqxx_example (id uuid PRIMARY KEY DEFAULT "
          "gen_random_uuid(), note text NOT NULL)");
    }
    std::string id;
    {
      pqxx::work w(*conn);
      id = w.exec_params1("INSERT INTO pqxx_example (note) VALUES ($1) RETURNING id",
                          "written with libpqxx")[0]
               .as<std::string>();
      w.commit();
    }
    pqxx::work r(*conn);
    const auto row = r.exec_params1("SELECT note FROM pqxx_example WHERE id = $1", id);
    if (row[0].as<std::string>() != "written with libpqxx") {
      std::cerr << "unexpected note\n";
      return 1;
    }
    r.exec_params0("DELETE FROM pqxx_example WHERE id = $1", id);
    r.commit();
    std::cout << "libpqxx " << PQXX_VERSION << ": wrote and read back row " << id
              << "; libpqxx example passed\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "libpqxx example failed: " << e.what() << "\n";
    return 1;
  }
}
