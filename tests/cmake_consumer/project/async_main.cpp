// Uses dsql::async through its CMake target only: headers, the library and its Asio all link.
#include <dsql/async.hpp>

#include <iostream>

#if DSQL_ASYNC_BOOST_ASIO
#include <boost/asio/io_context.hpp>
#else
#include <asio/io_context.hpp>
#endif

int main() {
  dsql::net::io_context io;
  dsql::config cfg;
  cfg.host = "127.0.0.1";
  cfg.port = 1;  // nothing listens there
  cfg.region = "us-east-1";
  cfg.sslrootcert = "system";
  cfg.credentials = std::make_shared<dsql::static_credentials_provider>(
      dsql::credentials{"akid", "secret", "", std::nullopt, "test"});
  bool refused = false;
  dsql::async_connect(io.get_executor(), cfg, [&](std::exception_ptr e, dsql::async_connection) {
    try {
      if (e) std::rethrow_exception(e);
    } catch (const dsql::connection_error&) {
      refused = true;
    } catch (...) {
    }
  });
  io.run();
  if (!refused) {
    std::cerr << "expected a refused connection\n";
    return 1;
  }
  std::cout << "dsql async consumer OK\n";
  return 0;
}
