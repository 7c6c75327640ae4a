#include "dsql/pqxx.hpp"

namespace dsql {

namespace {

// One exception, not what is nested inside it.
std::optional<occ_info> classify_one(const std::exception& e, bool include_plain_40001) {
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    if (auto info = classify_occ(sql->sqlstate(), sql->what(), include_plain_40001)) {
      return info;
    }
  }
#if PQXX_VERSION_MAJOR < 7
  // libpqxx 6 maps SQLSTATE 40001 to serialization_failure, which is not an sql_error and so
  // carries no SQLSTATE; the type itself says 40001.
  if (dynamic_cast<const pqxx::serialization_failure*>(&e) != nullptr) {
    if (auto info = classify_occ("40001", e.what(), include_plain_40001)) return info;
  }
#endif
  return detail::classify_sql_error(e, include_plain_40001);
}

}  // namespace

std::optional<occ_info> classify_pqxx_occ(const std::exception& e, bool include_plain_40001) {
  return detail::classify_nested(e, include_plain_40001, &classify_one);
}

bool is_pqxx_occ_conflict(const std::exception& e) {
  return classify_pqxx_occ(e, true).has_value();
}

}  // namespace dsql
