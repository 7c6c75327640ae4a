#include "local/conflict_adjudicator.hpp"

#include <algorithm>

namespace dsql::local {
namespace {

using state = session_view::state;

bool decided(const std::vector<verdict>& out, std::uint32_t pid) {
  return std::any_of(out.begin(), out.end(), [&](const verdict& v) { return v.pid == pid; });
}

}  // namespace

std::optional<wait_kind> classify_wait(const std::string& wait_event, const std::string& mode) {
  // A row's writer (transactionid), a row lock being queued for (tuple), an INSERT ... ON
  // CONFLICT racing another on one key (speculative token).
  static const char* const row_waits[] = {"transactionid", "tuple", "speculative token"};
  if (std::any_of(std::begin(row_waits), std::end(row_waits),
                  [&](const char* e) { return wait_event == e; })) {
    return wait_kind::row;
  }
  if (wait_event != "relation") return std::nullopt;
  static const char* const weak[] = {"AccessShareLock", "RowShareLock", "RowExclusiveLock"};
  const bool uses_the_table =
      std::any_of(std::begin(weak), std::end(weak), [&](const char* m) { return mode == m; });
  return uses_the_table ? wait_kind::behind_schema_change : wait_kind::schema_change;
}

std::vector<verdict> adjudicate(
    const std::vector<lock_wait>& waits,
    const std::function<std::optional<session_view>(std::uint32_t)>& view_of,
    std::chrono::milliseconds grace) {
  std::vector<verdict> out;
  for (const lock_wait& w : waits) {
    const auto waiter = view_of(w.waiter);
    if (w.holders.empty() || !waiter || waiter->what == state::losing || decided(out, w.waiter)) {
      continue;
    }
    std::vector<std::pair<std::uint32_t, session_view>> holders;
    bool wait_for_them = false;
    for (std::uint32_t h : w.holders) {
      const auto view = view_of(h);
      // Internal work, or a holder that already lost and will let go: nothing to decide.
      if (!view || view->what == state::losing || decided(out, h)) {
        wait_for_them = true;
      } else {
        holders.emplace_back(h, *view);
      }
    }
    if (wait_for_them) continue;
    const bool all_idle = std::all_of(holders.begin(), holders.end(), [](const auto& h) {
      return h.second.what == state::idle_in_transaction;
    });
    switch (w.kind) {
      case wait_kind::schema_change:
        for (const auto& [pid, view] : holders) {
          out.push_back({pid,
                         view.what == state::idle_in_transaction ? verdict::action::doom
                                                                 : verdict::action::cancel,
                         true});
        }
        break;
      case wait_kind::behind_schema_change:
        if (waiter->for_how_long >= grace) out.push_back({w.waiter, verdict::action::cancel, true});
        break;
      case wait_kind::row:
        if (all_idle) {
          const bool settled = std::all_of(holders.begin(), holders.end(), [&](const auto& h) {
            return h.second.for_how_long >= grace;
          });
          if (settled) {
            for (const auto& h : holders) out.push_back({h.first, verdict::action::doom, false});
          }
        } else if (waiter->for_how_long >= grace) {
          out.push_back({w.waiter, verdict::action::cancel, false});
        }
        break;
    }
  }
  return out;
}

}  // namespace dsql::local
