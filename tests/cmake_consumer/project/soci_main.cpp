// Uses dsql::soci through the public API only: proves its headers, SOCI's and the link work.
#include <dsql/soci.hpp>

#include <iostream>

int main() {
  dsql::config cfg;  // no host: refused before any network access
  try {
    dsql::soci_connect(cfg);
  } catch (const dsql::config_error&) {
    const bool occ = dsql::classify_occ("40001", "conflict (OC000)").has_value();
    if (!occ) return 1;
    std::cout << "dsql soci consumer OK\n";
    return 0;
  }
  std::cerr << "soci_connect accepted a config without a host\n";
  return 1;
}
