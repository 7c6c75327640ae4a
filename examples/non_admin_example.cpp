// A non-admin role with its own schema. The role needs a DbConnect token (the connector signs
// one for any user but admin) and an IAM mapping made by admin:
//   CREATE ROLE example WITH LOGIN;
//   AWS IAM GRANT example TO '<IAM role or user ARN>';
// With IAM_PRINCIPAL_ARN set, this example makes that set-up itself as admin first.
// Exits 0 only when the role wrote and read its own table in its own schema.

#include <iostream>

#include "dsql/dsql.hpp"
#include "example_env.hpp"

namespace {

void set_up_role(const std::string& role, const std::string& principal_arn) {
  dsql::config admin_cfg = examples::config_from_env();
  admin_cfg.user = "admin";
  dsql::connection admin = dsql::connect(admin_cfg);
  // DSQL takes one DDL statement per transaction; each runs on its own in autocommit.
  if (admin.exec_params("SELECT 1 FROM pg_roles WHERE rolname = $1", {role}).rows() == 0) {
    admin.exec("CREATE ROLE " + role + " WITH LOGIN");
  }
  if (admin
          .exec_params(
              "SELECT 1 FROM sys.iam_pg_role_mappings WHERE pg_role_name = $1 AND arn = $2",
              {role, principal_arn})
          .rows() == 0) {
    admin.exec("AWS IAM GRANT " + role + " TO '" + principal_arn + "'");
  }
  admin.exec("CREATE SCHEMA IF NOT EXISTS myschema");
  admin.exec("GRANT USAGE, CREATE ON SCHEMA myschema TO " + role);
}

}  // namespace

int main() {
  try {
    dsql::config cfg = examples::config_from_env();
    if (cfg.user == "admin") cfg.user = "example";
    const std::string arn = examples::env_or("IAM_PRINCIPAL_ARN", "");
    if (!arn.empty()) set_up_role(cfg.user, arn);

    dsql::connection conn = dsql::connect(cfg);
    conn.exec("SET search_path = myschema");
    conn.exec(
        "CREATE TABLE IF NOT EXISTS notes (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), "
        "body text NOT NULL)");
    conn.exec_params("INSERT INTO notes (body) VALUES ($1)", {std::string("from " + cfg.user)});
    const auto who = conn.exec("SELECT current_user, current_schema()");
    const auto n = conn.exec_params("SELECT count(*) FROM notes WHERE body = $1",
                                    {std::string("from " + cfg.user)});
    conn.exec_params("DELETE FROM notes WHERE body = $1", {std::string("from " + cfg.user)});
    if (who.value(0, 0) != cfg.user || who.value(0, 1) != "myschema" || n.value(0, 0) == "0") {
      std::cerr << "the role did not work in its own schema\n";
      return 1;
    }
    std::cout << "connected as " << who.value(0, 0) << " in schema " << who.value(0, 1)
              << "; non-admin example passed\n";
    return 0;
  } catch (const dsql::error& e) {
    std::cerr << "non-admin example failed: " << e.what() << "\n";
    return 1;
  }
}
