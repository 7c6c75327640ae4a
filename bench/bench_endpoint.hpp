#pragma once

// The endpoint a benchmark runs against: DSQL_BENCH_ENDPOINT_JSON=<dir>/endpoint.json, else a
// `dsql local` started here and stopped at exit (when the tests, and so the fixture, are built).

#include <cstdlib>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "dsql/config.hpp"
#include "dsql/credentials.hpp"

#ifdef DSQL_BENCH_CAN_START_LOCAL
#include "local_endpoint.hpp"
#endif

namespace bench {

inline dsql::config endpoint_config() {
  static std::once_flag once;
  static dsql::config cfg;
  std::call_once(once, [] {
    if (const char* path = std::getenv("DSQL_BENCH_ENDPOINT_JSON")) {
      std::ifstream in(path);
      const auto j = nlohmann::json::parse(in);
      cfg.host = j.at("hostname").get<std::string>();
      cfg.port = j.at("port").get<std::uint16_t>();
      cfg.region = j.at("region").get<std::string>();
      cfg.sslrootcert = j.at("ca_file").get<std::string>();
      cfg.credentials = std::make_shared<dsql::static_credentials_provider>(
          dsql::credentials{j.at("access_key_id").get<std::string>(),
                            j.at("secret_access_key").get<std::string>(),
                            "",
                            {},
                            "endpoint.json"});
      return;
    }
#ifdef DSQL_BENCH_CAN_START_LOCAL
    static dsql::test::local_endpoint ep;
    cfg = ep.config();
#else
    throw std::runtime_error("set DSQL_BENCH_ENDPOINT_JSON to a dsql local endpoint.json");
#endif
  });
  return cfg;
}

}  // namespace bench
