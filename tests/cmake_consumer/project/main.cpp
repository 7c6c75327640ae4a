// Signs a known token through the public API only: proves headers, library and link work.
#include <dsql/dsql.hpp>

#include <iostream>

int main() {
  dsql::credentials creds{"akid", "secret", "token", std::nullopt, "test"};
  dsql::token_request req{"peccy.dsql.us-east-1.on.aws", "us-east-1",
                          dsql::token_action::db_connect, std::chrono::seconds(450)};
  const auto t = std::chrono::system_clock::from_time_t(1724716800);  // 2024-08-27T00:00:00Z
  const std::string token = dsql::generate_token(req, creds, t);
  const std::string expected_signature =
      "9fdb9de7ca6822832943d5a4e1b02411d302a2b8204bd7e8193aa4875fbd5a58";
  if (token.find(expected_signature) == std::string::npos) {
    std::cerr << "unexpected token\n";
    return 1;
  }
  std::cout << "dsql " << dsql::version << " consumer OK\n";
  return 0;
}
