#pragma once

// The SOCI backend factory through which every dsql::soci session connects and reconnects.

#include <memory>
#include <string>

#include <libpq-fe.h>
#include <soci/postgresql/soci-postgresql.h>
#include <soci/session.h>
#include <soci/soci-backend.h>

#include "dsql/connection.hpp"
#include "dsql/notice.hpp"

namespace dsql::detail {

// Wraps SOCI's PostgreSQL factory: the connection string SOCI keeps (and replays on
// session::reconnect() and failover) has no password; each make_session adds a token from the
// connector, so a reconnect never presents an expired one. Thread-safe: sessions of a pool
// connect from several threads at once.
class soci_token_factory final : public ::soci::backend_factory {
 public:
  explicit soci_token_factory(std::shared_ptr<connector> source);

  ::soci::details::session_backend* make_session(
      const ::soci::connection_parameters& parameters) const override;

  // What a session is opened with: this factory and the password-less connection string.
  ::soci::connection_parameters parameters() const;
  connector& source() const noexcept { return *source_; }

 private:
  std::unique_ptr<::soci::postgresql_session_backend> open_backend(
      const ::soci::connection_parameters& parameters, std::string token) const;

  std::shared_ptr<connector> source_;
  std::string conninfo_;  // the connector's libpq parameters, without the password
  notice_handler on_notice_;
};

// The session's libpq handle (null when it is closed or not on the PostgreSQL backend).
PGconn* soci_libpq_handle(::soci::session& s) noexcept;

// A session open through `factory`. Throws as dsql::connect does.
std::unique_ptr<::soci::session> open_soci_session(const soci_token_factory& factory);

}  // namespace dsql::detail
