#include <soci/postgresql/soci-postgresql.h>

#include "dsql/soci.hpp"

namespace dsql {

namespace {

// One exception, not what is nested inside it.
std::optional<occ_info> classify_one(const std::exception& e, bool include_plain_40001) {
  if (const auto* pg = dynamic_cast<const ::soci::postgresql_soci_error*>(&e)) {
    if (auto info = classify_occ(pg->sqlstate(), pg->what(), include_plain_40001)) return info;
  }
  return detail::classify_sql_error(e, include_plain_40001);
}

}  // namespace

std::optional<occ_info> classify_soci_occ(const std::exception& e, bool include_plain_40001) {
  return detail::classify_nested(e, include_plain_40001, &classify_one);
}

bool is_soci_occ_conflict(const std::exception& e) {
  return classify_soci_occ(e, true).has_value();
}

}  // namespace dsql
