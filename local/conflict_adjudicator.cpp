#include "local/conflict_adjudicator.hpp"

#include <algorithm>

namespace dsql::local {
namespace {

bool contains(const std::vector<std::uint32_t>& v, std::uint32_t pid) {
  return std::find(v.begin(), v.end(), pid) != v.end();
}

}  // namespace

adjudication adjudicate(const std::vector<lock_wait>& waits,
                        const std::function<std::optional<holder_state>(std::uint32_t)>& state_of) {
  adjudication out;
  for (const lock_wait& w : waits) {
    if (w.holders.empty() || contains(out.cancel, w.waiter) || contains(out.doom, w.waiter)) {
      continue;
    }
    if (state_of(w.waiter) == holder_state::losing) continue;
    bool internal_holder = false, busy_holder = false, losing_holder = false;
    for (std::uint32_t h : w.holders) {
      // A holder already losing in this round releases its locks: nothing more to decide.
      if (contains(out.cancel, h) || contains(out.doom, h)) continue;
      const auto state = state_of(h);
      if (!state) {
        internal_holder = true;
      } else if (*state == holder_state::busy) {
        busy_holder = true;
      } else if (*state == holder_state::losing) {
        losing_holder = true;
      }
    }
    if (internal_holder || losing_holder) continue;
    if (busy_holder) {
      out.cancel.push_back(w.waiter);
    } else {
      for (std::uint32_t h : w.holders) {
        if (!contains(out.doom, h) && !contains(out.cancel, h)) out.doom.push_back(h);
      }
    }
  }
  return out;
}

}  // namespace dsql::local
