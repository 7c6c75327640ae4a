#pragma once

// One client connection to the front: plaintext preamble, TLS, startup, token check, backend
// login, then a message-by-message relay. Everything runs on the front's single io_context
// thread, so the shared state below needs no locks. Three files: session.cpp (lifetime, I/O),
// session_startup.cpp (until the backend is ready), session_relay.cpp (statements and replies).

#include <asio.hpp>
#include <asio/ssl.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "local/conflict_monitor.hpp"
#include "local/front_bookkeeping.hpp"
#include "local/front_server.hpp"
#include "local/front_statements.hpp"
#include "local/relay_rules.hpp"
#include "local/startup_rules.hpp"
#include "local/wire_protocol.hpp"

namespace dsql::local {

class session;

// One endpoint the front serves: its settings, its quota and whether it is stopped.
struct endpoint_state {
  endpoint_options options;
  connection_quota quota;
  bool stopped = false;
  endpoint_state(endpoint_options o, connection_quota::clock::time_point now)
      : options(std::move(o)), quota(options.quotas, now) {}
};

struct front_context {
  asio::io_context& io;
  asio::ssl::context& tls;
  const front_options& options;
  front_bookkeeping& bookkeeping;
  fault_counters faults;
  // Stops or starts the endpoint named by cluster id or region (DSQL LOCAL STOP|START ENDPOINT);
  // the error to report, or nullopt.
  std::function<std::optional<wire::error_info>(bool stop, const std::string& which)>
      control_endpoint;
  // The BackendKeyData the front handed out, mapped to its session.
  std::unordered_map<std::uint64_t, std::weak_ptr<session>> cancel_keys;
  // Each session's PostgreSQL backend, for the conflict monitor.
  std::unordered_map<std::uint32_t, std::weak_ptr<session>> backend_pids;
  conflict_monitor* conflicts = nullptr;
  std::unordered_map<std::uint64_t, std::weak_ptr<session>> live;
  std::uint64_t next_id = 1;

  void log(const std::string& line) const {
    if (options.log) options.log(line);
  }
  std::chrono::system_clock::time_point now() const {
    return options.clock ? options.clock() : std::chrono::system_clock::now();
  }
};

class session : public std::enable_shared_from_this<session> {
 public:
  session(front_context& ctx, endpoint_state& endpoint, asio::ip::tcp::socket socket);
  void start();
  // Drops the connection at once.
  void close();
  // The endpoint stops: a client that speaks the protocol by now is told so (FATAL 57P01, as
  // PostgreSQL says it at shutdown) before the connection closes.
  void terminate();
  // Forwards a client's CancelRequest to the backend running this session's query.
  void cancel_backend_query();
  const endpoint_state& endpoint() const noexcept { return endpoint_; }

  // For the conflict monitor (conflict_adjudicator.hpp).
  std::uint32_t backend_pid() const noexcept { return backend_pid_; }
  // The client sent nothing since PostgreSQL said it is in a transaction.
  bool idle_in_transaction() const noexcept;
  // Since when the session is idle in its transaction, or busy with a statement.
  std::chrono::steady_clock::time_point state_since() const noexcept { return state_since_; }
  // Rolls the transaction back on the backend; the client, which believes it still open, gets
  // OC000 (OC001 for a schema conflict) for its next statement or COMMIT. Only while
  // idle_in_transaction().
  void doom(bool schema);
  // The running statement is about to be cancelled: its 57014 is DSQL's OC000 (or OC001).
  void cancel_for_conflict(bool schema);
  // ... but the wait had ended, so nothing was cancelled.
  void conflict_cancel_not_sent() noexcept { conflict_cancel_ = conflict_cancel::none; }
  // Doomed or cancelled, and not yet told: an earlier settlement is still under way.
  bool losing_conflict() const noexcept {
    return conflict_cancel_ != conflict_cancel::none || internal_replies_ > 0;
  }

 private:
  enum class phase { preamble, tls, startup, authenticating, backend_startup, relay, closed };
  enum class pending_reply { none, commit_failure };

  // Preamble (plaintext) and TLS.
  void wait_first_byte();
  void read_preamble_packet();
  void on_preamble_packet(const std::string& packet);
  void handshake();
  void read_startup_in_tls();
  void on_startup(const wire::startup_packet& startup);
  void read_password();
  void on_password(const std::string& password);
  void connect_backend();
  void on_backend_message(wire::message m);

  // Relay.
  void read_client();
  void read_backend();
  void process_client_messages();
  bool on_client_message(wire::message& m);  // false: stop processing (paused)
  bool on_query(const wire::message& m);
  void on_parse(wire::message& m);
  bool run_front_command(const statement_class& c);
  void front_reply(const std::string& tag);
  void forward_raise(const wire::error_info& error);
  void resume_client();
  void relay_backend_message(wire::message& m);
  void on_connection_age();

  // Output.
  void send_client(std::string bytes);
  void send_backend(std::string bytes);
  void write_client();
  void write_backend();
  void fail(const wire::error_info& error);  // FATAL to the client, then close
  void close_after_flush();
  std::string tag() const;

  front_context& ctx_;
  endpoint_state& endpoint_;
  bool holds_quota_ = false;
  std::uint64_t id_;
  asio::ssl::stream<asio::ip::tcp::socket> client_;
  asio::local::stream_protocol::socket backend_;
  asio::steady_timer startup_timer_;
  asio::steady_timer age_timer_;
  phase phase_ = phase::preamble;
  bool tls_active_ = false;
  bool direct_tls_ = false;
  int preamble_rounds_ = 0;
  std::string sni_;
  std::string peer_;

  std::string user_;
  std::vector<std::pair<std::string, std::string>> backend_params_;
  bool negotiate_minor_ = false;

  std::array<char, 16384> client_buf_{};
  std::array<char, 16384> backend_buf_{};
  std::string packet_;
  wire::message_reader client_reader_{wire::max_client_message};
  wire::message_reader backend_reader_{wire::max_backend_message};
  bool client_read_in_flight_ = false;
  bool backend_read_in_flight_ = false;

  std::deque<std::string> client_out_;
  std::deque<std::string> backend_out_;
  std::size_t client_out_bytes_ = 0;
  std::size_t backend_out_bytes_ = 0;
  bool client_writing_ = false;
  bool backend_writing_ = false;
  // While messages from one read are handled, writes are queued and sent together afterwards:
  // a reply such as RowDescription, DataRow, CommandComplete, ReadyForQuery then leaves in one
  // TLS write instead of two.
  int held_writes_ = 0;
  struct write_hold;
  bool close_after_flush_ = false;

  std::uint32_t front_pid_ = 0;
  std::uint32_t front_key_ = 0;
  std::uint32_t backend_pid_ = 0;
  std::uint32_t backend_key_ = 0;

  char txn_status_ = 'I';
  int outstanding_ = 0;  // Query/Sync/FunctionCall sent to the backend, not yet answered by 'Z'
  bool paused_ = false;  // client reads stop while the front answers a statement itself
  std::optional<wire::message> stashed_;
  pending_reply pending_ = pending_reply::none;
  bool age_expired_ = false;
  // Extended-protocol messages sent since the last Sync: the client is mid-statement.
  bool extended_pending_ = false;
  // ReadyForQuery replies to the front's own queries (a doom) still to come; their messages
  // never reach the client.
  int internal_replies_ = 0;
  // The front cancelled the running statement to settle a conflict.
  conflict_cancel conflict_cancel_ = conflict_cancel::none;
  std::chrono::steady_clock::time_point state_since_{};
  void expect_ready();
};

}  // namespace dsql::local
