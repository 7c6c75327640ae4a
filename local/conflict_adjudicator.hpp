#pragma once

// DSQL never makes a writer wait: two transactions that write one row both go on, and the first
// to commit wins; the other learns it at COMMIT (40001 OC000). PostgreSQL makes the second writer
// wait on the first one's row lock instead. The front settles every such wait within
// milliseconds, deciding here, without I/O, from who waits on whom:
//   - the holders are all sessions idle in their transaction: they are doomed (rolled back; their
//     next statement or COMMIT fails with OC000, as DSQL's loser's COMMIT does) and the waiter
//     goes on, as it would have on DSQL;
//   - a holder is running a statement: the waiter is cancelled, and fails with OC000 at once;
//   - a holder is not a client session (the job worker building an index): the waiter waits.

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

namespace dsql::local {

struct lock_wait {
  std::uint32_t waiter = 0;  // backend pid
  std::vector<std::uint32_t> holders;
};

enum class holder_state {
  idle_in_transaction,  // its client sent nothing since PostgreSQL said "in a transaction"
  busy,                 // running a statement, or mid-way through one
  losing,               // already doomed or cancelled by an earlier round: its locks will go
};

struct adjudication {
  std::vector<std::uint32_t> doom;    // roll these back: their transaction lost the conflict
  std::vector<std::uint32_t> cancel;  // cancel these waiters' statements: they lost it
};

// `state_of` says what a backend pid's session is doing; nullopt for a backend that is not a
// client session. A waiter that is already losing is left alone, and so is a wait on a holder
// that is: each conflict is settled once.
adjudication adjudicate(const std::vector<lock_wait>& waits,
                        const std::function<std::optional<holder_state>(std::uint32_t)>& state_of);

}  // namespace dsql::local
