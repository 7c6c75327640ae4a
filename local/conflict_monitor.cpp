#include "local/conflict_monitor.hpp"

#include <algorithm>
#include <string>

#include "local/session.hpp"

namespace dsql::local {
namespace {

using std::chrono::milliseconds;
using clock_type = std::chrono::steady_clock;

// A statement this old is checked for lock waits; a busy one again after each interval, which
// doubles up to the cap (a long statement that starts waiting late is still settled fast).
constexpr milliseconds first_check{2};
constexpr milliseconds longest_interval{8};
// How long a waiter gives idle holders to commit (making them the first committer) before they
// are taken to have lost, and a running holder to finish.
constexpr milliseconds grace{10};

// "{123,456}" from an int[] column.
std::vector<std::uint32_t> parse_pids(const char* text) {
  std::vector<std::uint32_t> out;
  std::uint32_t value = 0;
  bool digits = false;
  for (const char* p = text; p && *p; ++p) {
    if (*p >= '0' && *p <= '9') {
      value = value * 10 + static_cast<std::uint32_t>(*p - '0');
      digits = true;
    } else {
      if (digits) out.push_back(value);
      value = 0;
      digits = false;
    }
  }
  return out;
}

}  // namespace

conflict_monitor::conflict_monitor(asio::io_context& io, backend_worker_options options,
                                   std::function<std::shared_ptr<session>(std::uint32_t)> find)
    : io_(io), timer_(io), worker_(std::move(options)), find_(std::move(find)) {}

void conflict_monitor::statement_started(session& s) {
  if (stopped_) return;
  busy_[&s] = watched{clock_type::now() + first_check, first_check};
  schedule();
}

void conflict_monitor::statement_finished(session& s) {
  busy_.erase(&s);
}

void conflict_monitor::stop() {
  stopped_ = true;
  busy_.clear();
  timer_.cancel();
  worker_.stop();
}

void conflict_monitor::schedule() {
  if (timer_armed_ || query_in_flight_ || busy_.empty() || stopped_) return;
  auto next = clock_type::time_point::max();
  for (const auto& [s, w] : busy_) next = std::min(next, w.next_check);
  timer_armed_ = true;
  timer_.expires_at(next);
  timer_.async_wait([this](std::error_code ec) {
    timer_armed_ = false;
    if (!ec) check();
  });
}

void conflict_monitor::check() {
  const auto now = clock_type::now();
  std::string pids;
  for (auto& [s, w] : busy_) {
    if (w.next_check > now || s->backend_pid() == 0) continue;
    if (!pids.empty()) pids += ',';
    pids += std::to_string(s->backend_pid());
    w.interval = std::min(longest_interval, w.interval * 2);
    w.next_check = now + w.interval;
  }
  if (pids.empty()) return schedule();
  query_in_flight_ = true;
  worker_.post([this, guard = asio::make_work_guard(io_), array = "{" + pids + "}"](PGconn* conn,
                                                                                    bool last) {
    std::vector<lock_wait> waits;
    if (conn) {
      const pg_result r = pg_exec(
          conn,
          "SELECT a.pid, pg_blocking_pids(a.pid), a.wait_event, (SELECT l.mode FROM pg_locks l "
          "WHERE l.pid = a.pid AND NOT l.granted LIMIT 1) FROM pg_stat_activity a WHERE "
          "a.wait_event_type = 'Lock' AND a.pid = ANY($1::int[])",
          {array});
      if (!r || PQresultStatus(r.get()) != PGRES_TUPLES_OK) {
        if (!last && backend_worker::connection_lost(conn, r)) return false;
      } else {
        for (int i = 0; i < PQntuples(r.get()); ++i) {
          const auto kind = classify_wait(PQgetvalue(r.get(), i, 2), PQgetvalue(r.get(), i, 3));
          if (!kind) continue;
          lock_wait w;
          w.waiter = static_cast<std::uint32_t>(std::stoul(PQgetvalue(r.get(), i, 0)));
          w.holders = parse_pids(PQgetvalue(r.get(), i, 1));
          w.kind = *kind;
          waits.push_back(std::move(w));
        }
      }
    }
    asio::post(io_, [this, waits = std::move(waits)] {
      query_in_flight_ = false;
      if (stopped_) return;
      settle(waits);
      schedule();
    });
    return true;
  });
}

void conflict_monitor::settle(const std::vector<lock_wait>& waits) {
  if (waits.empty()) return;
  const auto now = clock_type::now();
  const auto verdicts = adjudicate(
      waits,
      [&](std::uint32_t pid) -> std::optional<session_view> {
        auto s = find_(pid);
        if (!s) return std::nullopt;
        session_view v;
        v.what = s->losing_conflict()       ? session_view::state::losing
                 : s->idle_in_transaction() ? session_view::state::idle_in_transaction
                                            : session_view::state::busy;
        v.for_how_long = std::chrono::duration_cast<milliseconds>(now - s->state_since());
        return v;
      },
      grace);
  std::string pids, holders;
  for (const verdict& v : verdicts) {
    auto s = find_(v.pid);
    if (!s) continue;
    if (v.what == verdict::action::doom) {
      s->doom(v.schema);
      continue;
    }
    s->cancel_for_conflict(v.schema);
    pids += (pids.empty() ? "" : ",") + std::to_string(v.pid);
    // A running holder that loses to a schema change is cancelled whatever it is doing.
    const bool waiter = std::any_of(waits.begin(), waits.end(),
                                    [&](const lock_wait& w) { return w.waiter == v.pid; });
    if (!waiter) holders += (holders.empty() ? "" : ",") + std::to_string(v.pid);
  }
  if (pids.empty()) return;
  // Cancelled from PostgreSQL itself, and a waiter only while it still waits on a lock: a
  // cancel that arrived after the wait ended could hit the client's next statement instead.
  worker_.post([this, guard = asio::make_work_guard(io_), array = "{" + pids + "}",
                running = "{" + holders + "}"](PGconn* conn, bool last) {
    std::vector<std::uint32_t> signalled;
    if (conn) {
      const pg_result r =
          pg_exec(conn,
                  "SELECT pid FROM pg_stat_activity WHERE pid = ANY($1::int[]) AND state = "
                  "'active' AND (wait_event_type = 'Lock' OR pid = ANY($2::int[])) AND "
                  "pg_cancel_backend(pid)",
                  {array, running});
      if (!r || PQresultStatus(r.get()) != PGRES_TUPLES_OK) {
        if (!last && backend_worker::connection_lost(conn, r)) return false;
      } else {
        for (int i = 0; i < PQntuples(r.get()); ++i) {
          signalled.push_back(static_cast<std::uint32_t>(std::stoul(PQgetvalue(r.get(), i, 0))));
        }
      }
    }
    asio::post(io_, [this, signalled = std::move(signalled), array] {
      for (std::uint32_t pid : parse_pids(array.c_str())) {
        if (std::find(signalled.begin(), signalled.end(), pid) != signalled.end()) continue;
        if (auto s = find_(pid)) s->conflict_cancel_not_sent();
      }
    });
    return true;
  });
}

}  // namespace dsql::local
