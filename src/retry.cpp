#include "dsql/retry.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <thread>

#include "observe.hpp"

namespace dsql {
namespace {

std::string_view marker(std::string_view message) {
  if (message.find("OC000") != std::string_view::npos) return "OC000";
  if (message.find("OC001") != std::string_view::npos) return "OC001";
  return {};
}

double random01() {
  // One generator per thread: retries run on many threads and must not contend on a lock.
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

// Every retry is counted and, at info, logged: conflicts that keep coming are worth seeing.
void report_retry(const retry_event& e) {
  detail::count(metric::occ_retries);
  if (!detail::log_on(log_level::info)) return;
  detail::log(log_level::info, e.sqlstate == "53400" ? "retry.rate_limited" : "retry.occ",
              {{"attempt", std::to_string(e.attempt)},
               {"sqlstate", e.sqlstate},
               {"code", e.code},
               {"delay_ms", std::to_string(e.delay.count())}});
}

}  // namespace

std::optional<occ_info> classify_occ(std::string_view sqlstate, std::string_view message,
                                     bool include_plain_40001) {
  occ_info info;
  info.sqlstate = std::string(sqlstate);
  info.message = std::string(message);
  if (sqlstate == "OC000" || sqlstate == "OC001") {
    info.code = std::string(sqlstate);
  } else if (sqlstate == "40001") {
    info.code = std::string(marker(message));
    if (info.code.empty() && !include_plain_40001) return std::nullopt;
  } else {
    return std::nullopt;
  }
  info.kind = info.code == "OC000"   ? occ_kind::data
              : info.code == "OC001" ? occ_kind::schema
                                     : occ_kind::serialization;
  return info;
}

namespace detail {

std::optional<occ_info> classify_sql_error(const std::exception& e, bool include_plain_40001) {
  const auto* sql = dynamic_cast<const sql_error*>(&e);
  if (sql == nullptr) return std::nullopt;
  // The server's own text carries the marker; what() may be our rewording of it.
  const std::string& text =
      sql->server_message().empty() ? std::string(sql->what()) : sql->server_message();
  auto info = classify_occ(sql->sqlstate(), text, include_plain_40001);
  if (info && info->code.empty()) {
    const auto in_what = marker(sql->what());
    if (!in_what.empty()) {
      info->code = std::string(in_what);
      info->kind = in_what == "OC000" ? occ_kind::data : occ_kind::schema;
    }
  }
  return info;
}

std::optional<occ_info> classify_nested(const std::exception& e, bool include_plain_40001,
                                        occ_classifier classify_one) {
  if (auto info = classify_one(e, include_plain_40001)) return info;
  if (const auto* nested = dynamic_cast<const std::nested_exception*>(&e)) {
    if (const auto inner = nested->nested_ptr()) {
      try {
        std::rethrow_exception(inner);
      } catch (const std::exception& cause) {
        return classify_nested(cause, include_plain_40001, classify_one);
      } catch (...) {
      }
    }
  }
  return std::nullopt;
}

}  // namespace detail

std::optional<occ_info> classify_occ(const std::exception& e, bool include_plain_40001) {
  return detail::classify_nested(e, include_plain_40001, &detail::classify_sql_error);
}

bool is_occ_conflict(const std::exception& e) {
  return classify_occ(e, true).has_value();
}

void validate(const retry_options& o) {
  if (o.max_attempts < 1) throw config_error("retry_options.max_attempts must be at least 1");
  if (o.initial_backoff < std::chrono::milliseconds(0)) {
    throw config_error("retry_options.initial_backoff must not be negative");
  }
  if (o.max_backoff < o.initial_backoff) {
    throw config_error("retry_options.max_backoff must not be below initial_backoff");
  }
  if (!(o.multiplier >= 1.0 && o.multiplier <= 100.0)) {
    throw config_error("retry_options.multiplier must be between 1 and 100");
  }
  if (!(o.jitter >= 0.0 && o.jitter <= 1.0)) {
    throw config_error("retry_options.jitter must be between 0 and 1");
  }
  if (o.time_budget < std::chrono::milliseconds(0)) {
    throw config_error("retry_options.time_budget must not be negative (0 means no budget)");
  }
}

std::chrono::milliseconds backoff_delay(const retry_options& o, int retry, double r) {
  const int n = std::max(retry, 1) - 1;
  const double base = static_cast<double>(o.initial_backoff.count()) *
                      std::pow(o.multiplier, static_cast<double>(std::min(n, 64)));
  const double capped = std::min(base, static_cast<double>(o.max_backoff.count()));
  const double jittered = capped * (1.0 + o.jitter * std::clamp(r, 0.0, 1.0));
  return std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(jittered));
}

namespace detail {

retry_loop::retry_loop(const retry_options& options, occ_classifier classify)
    : options_(options),
      classify_(classify ? classify : static_cast<occ_classifier>(&dsql::classify_occ)),
      start_(std::chrono::steady_clock::now()) {
  validate(options_);
}

void retry_loop::failed() {
  std::this_thread::sleep_for(next_delay());
}

std::chrono::milliseconds retry_loop::next_delay() {
  std::optional<occ_info> info;
  try {
    throw;
  } catch (const rate_limited_error& e) {
    // Refused for rate at connect: nothing of the transaction ran, and the cluster admits the
    // same connect after a wait. When attempts or time run out, the refusal itself is the answer.
    const auto delay = backoff_delay(options_, attempt_, random01());
    if (attempt_ >= options_.max_attempts ||
        (options_.time_budget.count() > 0 &&
         std::chrono::steady_clock::now() + delay - start_ > options_.time_budget)) {
      throw;
    }
    const retry_event event{attempt_, delay, e.sqlstate(), {}, e.server_message()};
    report_retry(event);
    if (options_.on_retry) options_.on_retry(event);
    ++attempt_;
    return delay;
  } catch (const std::exception& e) {
    info = classify_(e, options_.retry_plain_serialization_failure);
    if (!info) throw;
  }
  const auto give_up = [&](const std::string& why) {
    std::string what = "OCC conflict" + (info->code.empty() ? "" : " (" + info->code + ")") + " " +
                       why + ": " + info->message;
    throw occ_conflict_error(what, {info->sqlstate, info->message}, attempt_, info->code);
  };
  if (attempt_ >= options_.max_attempts) {
    give_up("persisted after " + std::to_string(attempt_) + " attempt" +
            (attempt_ == 1 ? "" : "s"));
  }
  const auto delay = backoff_delay(options_, attempt_, random01());
  if (options_.time_budget.count() > 0 &&
      std::chrono::steady_clock::now() + delay - start_ > options_.time_budget) {
    give_up("after " + std::to_string(attempt_) + " attempt" + (attempt_ == 1 ? "" : "s") +
            ": the time budget of " + std::to_string(options_.time_budget.count()) +
            " ms would run out before another");
  }
  const retry_event event{attempt_, delay, info->sqlstate, info->code, info->message};
  report_retry(event);
  if (options_.on_retry) options_.on_retry(event);
  ++attempt_;
  return delay;
}

void abandon(connection& c) noexcept {
  if (!c.is_open()) return;
  const transaction_state ts = c.transaction_status();
  if (ts != transaction_state::in_transaction && ts != transaction_state::failed) return;
  try {
    c.exec("ROLLBACK");
  } catch (...) {
    c.close();
  }
}

void abandon(lease& l) noexcept {
  if (!l) return;
  connection& c = *l;
  abandon(c);
  if (!c.is_open() || c.transaction_status() != transaction_state::idle) l.release_broken();
}

lease begin_on_fresh_lease(pool& p) {
  // Bounded: every idle connection might have died together (a restart of the endpoint).
  const std::size_t tries = p.options().max_size + 1;
  for (std::size_t i = 1;; ++i) {
    lease l = p.acquire();
    try {
      l->exec("BEGIN");
      return l;
    } catch (const connection_error&) {
      l.release_broken();
      if (i >= tries) throw;
    }
  }
}

}  // namespace detail

result exec_with_retry(pool& p, std::string_view sql,
                       const std::vector<std::optional<std::string>>& params,
                       const retry_options& options) {
  detail::retry_loop loop(options);
  for (;;) {
    try {
      lease l = p.acquire();
      return params.empty() ? l->exec(sql) : l->exec_params(sql, params);
    } catch (...) {
      loop.failed();
    }
  }
}

}  // namespace dsql
