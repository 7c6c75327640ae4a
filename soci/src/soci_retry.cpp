#include <soci/postgresql/soci-postgresql.h>

#include "dsql/soci.hpp"

namespace dsql {

std::optional<occ_info> classify_soci_occ(const std::exception& e, bool include_plain_40001) {
  if (const auto* pg = dynamic_cast<const ::soci::postgresql_soci_error*>(&e)) {
    if (auto info = classify_occ(pg->sqlstate(), pg->what(), include_plain_40001)) return info;
  }
  if (dynamic_cast<const sql_error*>(&e) != nullptr) {
    if (auto info = classify_occ(e, include_plain_40001)) return info;
  }
  if (const auto* nested = dynamic_cast<const std::nested_exception*>(&e)) {
    if (const auto inner = nested->nested_ptr()) {
      try {
        std::rethrow_exception(inner);
      } catch (const std::exception& cause) {
        return classify_soci_occ(cause, include_plain_40001);
      } catch (...) {
      }
    }
  }
  return std::nullopt;
}

bool is_soci_occ_conflict(const std::exception& e) {
  return classify_soci_occ(e, true).has_value();
}

}  // namespace dsql
