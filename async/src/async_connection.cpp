// async_connection: the handle, and the operation that sends statements and reads their results.
#include <libpq-fe.h>

#include "connection_impl.hpp"
#include "dsql/async/connection.hpp"

#if DSQL_ASYNC_BOOST_ASIO
#include <boost/asio/system_executor.hpp>
#else
#include <asio/system_executor.hpp>
#endif

namespace dsql {
namespace detail {
namespace {

[[noreturn]] void throw_lost(PGconn* conn, const char* doing) {
  std::string why = conn != nullptr ? PQerrorMessage(conn) : "the connection is closed";
  while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
  throw connection_error(std::string(doing) + ": " + why);
}

// Sends the statements (all of them, in pipeline mode), flushes, and reads every result, the
// way connection::exec does: the last result, or the first error once the rest is drained.
class exec_op final : public io_op {
 public:
  using single_done = completion<std::exception_ptr, result>;
  using many_done = completion<std::exception_ptr, std::vector<result>>;

  exec_op(exec_mode mode, std::vector<statement> statements, single_done done)
      : mode_(mode), statements_(std::move(statements)), single_(std::move(done)) {}
  exec_op(exec_mode mode, std::vector<statement> statements, many_done done)
      : mode_(mode), statements_(std::move(statements)), many_(std::move(done)) {
    results_.resize(statements_.size());
  }

  bool advance(async_connection_impl& c) override {
    PGconn* conn = c.conn();
    if (phase_ == phase::send) {
      if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) {
        throw connection_error("the connection is closed");
      }
      send(conn);
      phase_ = phase::flush;
    }
    if (phase_ == phase::flush) {
      const int rc = PQflush(conn);
      if (rc < 0) throw_lost(conn, "could not send the statement");
      if (rc > 0) {
        // The server may be answering while we still send: read, or both sides stall.
        if (PQconsumeInput(conn) == 0) throw_lost(conn, "connection lost");
        c.await_io(true, true);
        return false;
      }
      phase_ = phase::read;
      // Nothing can have come back yet: wait rather than try a read that would fail.
      c.await_io(true, false);
      return false;
    }
    for (;;) {
      if (PQconsumeInput(conn) == 0) throw_lost(conn, "connection lost");
      while (PQisBusy(conn) == 0) {
        if (!take(conn, PQgetResult(conn))) return true;
      }
      if (!c.tls_pending()) break;
    }
    c.await_io(true, false);
    return false;
  }

  void complete(async_connection_impl&, std::exception_ptr error) override {
    if (!error) error = first_error_;
    if (single_) {
      single_(error, error ? result() : std::move(last_));
    } else {
      many_(error, error ? std::vector<result>() : std::move(results_));
    }
  }

 private:
  enum class phase { send, flush, read };

  static std::vector<const char*> values(const statement& s) {
    std::vector<const char*> v;
    v.reserve(s.params.size());
    for (const auto& p : s.params) v.push_back(p ? p->c_str() : nullptr);
    return v;
  }

  static int send_params(PGconn* conn, const statement& s) {
    const auto v = values(s);
    return PQsendQueryParams(conn, s.sql.c_str(), static_cast<int>(v.size()), nullptr, v.data(),
                             nullptr, nullptr, 0);
  }

  void send(PGconn* conn) {
    bool ok = true;
    if (mode_ == exec_mode::simple) {
      ok = PQsendQuery(conn, statements_.front().sql.c_str()) != 0;
    } else if (mode_ == exec_mode::params) {
      ok = send_params(conn, statements_.front()) != 0;
    } else {
      ok = PQenterPipelineMode(conn) != 0;
      for (const auto& s : statements_) ok = ok && send_params(conn, s) != 0;
      ok = ok && PQpipelineSync(conn) != 0;
    }
    if (!ok) throw_lost(conn, "could not send the statement");
  }

  // One result from PQgetResult; false once the operation has read everything.
  bool take(PGconn* conn, PGresult* raw) {
    result res(raw);
    if (mode_ != exec_mode::pipeline) {
      if (raw == nullptr) return false;
      switch (PQresultStatus(raw)) {
        case PGRES_TUPLES_OK:
        case PGRES_COMMAND_OK:
        case PGRES_EMPTY_QUERY:
          last_ = std::move(res);
          return true;
        case PGRES_COPY_IN:
        case PGRES_COPY_OUT:
        case PGRES_COPY_BOTH:
          throw error("COPY is not supported by async_exec; use the blocking connection");
        default:
          if (!first_error_) first_error_ = result_error(conn, raw);
          return true;
      }
    }
    if (raw == nullptr) {
      ++index_;  // the end of one statement's results
      return true;
    }
    switch (PQresultStatus(raw)) {
      case PGRES_PIPELINE_SYNC:
        if (PQexitPipelineMode(conn) == 0) throw_lost(conn, "could not leave pipeline mode");
        return false;
      case PGRES_PIPELINE_ABORTED:  // after an earlier error: the statement did not run
        return true;
      case PGRES_TUPLES_OK:
      case PGRES_COMMAND_OK:
      case PGRES_EMPTY_QUERY:
        if (index_ < results_.size()) results_[index_] = std::move(res);
        return true;
      default:
        if (!first_error_) first_error_ = result_error(conn, raw);
        return true;
    }
  }

  exec_mode mode_;
  std::vector<statement> statements_;
  single_done single_;
  many_done many_;
  phase phase_ = phase::send;
  result last_;
  std::vector<result> results_;
  std::size_t index_ = 0;
  std::exception_ptr first_error_;
};

template <class Done>
void start_exec_op(async_connection_impl* impl, exec_mode mode, std::vector<statement> statements,
                   Done done) {
  if (impl == nullptr || impl->closing()) {
    done.post(std::make_exception_ptr(connection_error("the connection is closed")), {});
    return;
  }
  if (!impl->try_claim()) {
    done.post(std::make_exception_ptr(
                  error("another operation is running on this connection; wait for it first")),
              {});
    return;
  }
  const auto slot = done.cancellation_slot();
  impl->start(std::make_unique<exec_op>(mode, std::move(statements), std::move(done)),
              impl->exec_timeout(), slot);
}

}  // namespace
}  // namespace detail

async_connection::async_connection() noexcept = default;

async_connection::async_connection(std::shared_ptr<detail::async_connection_impl> impl) noexcept
    : impl_(std::move(impl)) {}

async_connection::~async_connection() {
  close();
}

async_connection::async_connection(async_connection&& other) noexcept = default;

async_connection& async_connection::operator=(async_connection&& other) noexcept {
  if (this != &other) {
    close();
    impl_ = std::move(other.impl_);
  }
  return *this;
}

async_connection::executor_type async_connection::get_executor() const {
  // An empty handle still needs somewhere to report that it is empty.
  return impl_ ? impl_->executor() : executor_type(net::system_executor());
}

PGconn* async_connection::raw() const noexcept {
  return impl_ && !impl_->closing() ? impl_->conn() : nullptr;
}

bool async_connection::is_open() const noexcept {
  PGconn* c = raw();
  return c != nullptr && PQstatus(c) == CONNECTION_OK;
}

transaction_state async_connection::transaction_status() const noexcept {
  return transaction_status_of(raw());
}

bool async_connection::in_transaction() const noexcept {
  const transaction_state s = transaction_status();
  return s == transaction_state::in_transaction || s == transaction_state::failed ||
         s == transaction_state::active;
}

bool async_connection::busy() const noexcept {
  return impl_ && impl_->busy();
}

void async_connection::close() noexcept {
  if (impl_) impl_->close_soon();
}

void async_connection::set_exec_timeout(std::chrono::milliseconds timeout) noexcept {
  if (impl_) impl_->set_exec_timeout(timeout);
}

void async_connection::start_exec(detail::exec_mode mode, std::vector<statement> statements,
                                  detail::completion<std::exception_ptr, result> done) {
  detail::start_exec_op(impl_.get(), mode, std::move(statements), std::move(done));
}

void async_connection::start_exec(
    detail::exec_mode mode, std::vector<statement> statements,
    detail::completion<std::exception_ptr, std::vector<result>> done) {
  detail::start_exec_op(impl_.get(), mode, std::move(statements), std::move(done));
}

}  // namespace dsql
