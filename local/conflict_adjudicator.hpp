#pragma once

// DSQL never makes a writer wait: two transactions that write one row both go on, and the first
// to commit wins; the other learns it at COMMIT (40001 OC000). A schema change never waits
// either: transactions using the table learn it as OC001. PostgreSQL makes the second writer,
// or the DDL, wait on the other's lock instead. The front settles every such wait within
// milliseconds, deciding here, without I/O, from who waits on whom:
//   - a write waits on holders that are idle in their transaction: if they stay idle for the
//     grace period (they were not about to commit, which would make them the first committer
//     and the waiter the loser), they are doomed: rolled back, their next statement or COMMIT
//     fails with OC000, as the later committer's COMMIT does on DSQL; the waiter goes on;
//   - a write waits behind a running statement: after the grace period the waiter is
//     cancelled, and fails with OC000 at once;
//   - a schema change (DDL taking a strong table lock) waits: the holders lose at once, with
//     OC001, doomed if idle, cancelled if running;
//   - a statement waits behind a schema change: after the grace period it is cancelled (OC001);
//   - a holder that is not a client session (the job worker building an index) is waited for.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace dsql::local {

enum class wait_kind {
  row,                   // a row another transaction wrote or locked
  schema_change,         // the waiter changes the table's schema (a strong table lock)
  behind_schema_change,  // the waiter uses a table whose schema another transaction changes
};

// What a lock wait reported by pg_stat_activity (wait_event, and pg_locks.mode of the lock
// requested) is in DSQL's terms; nullopt for PostgreSQL's own short-lived waits (a relation
// being extended, a page, a virtual transaction), which DSQL has no counterpart of and which
// end by themselves: two loads into one table must not conflict because both grow it.
std::optional<wait_kind> classify_wait(const std::string& wait_event, const std::string& mode);

struct lock_wait {
  std::uint32_t waiter = 0;  // backend pid
  std::vector<std::uint32_t> holders;
  wait_kind kind = wait_kind::row;
};

struct session_view {
  enum class state {
    idle_in_transaction,  // its client sent nothing since PostgreSQL said "in a transaction"
    busy,                 // running a statement, or mid-way through one
    losing,               // already doomed or cancelled by an earlier round: its locks will go
  };
  state what = state::busy;
  std::chrono::milliseconds for_how_long{0};  // idle, or busy, since
};

struct verdict {
  enum class action { doom, cancel };
  std::uint32_t pid = 0;
  action what = action::doom;
  bool schema = false;  // OC001 rather than OC000
};

// `view_of` says what a backend pid's session is doing; nullopt for a backend that is not a
// client session. Each conflict is settled once: a waiter or holder already losing is left alone.
std::vector<verdict> adjudicate(
    const std::vector<lock_wait>& waits,
    const std::function<std::optional<session_view>(std::uint32_t)>& view_of,
    std::chrono::milliseconds grace);

}  // namespace dsql::local
