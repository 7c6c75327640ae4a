#include "connect_report.hpp"

#include <string>
#include <vector>

#include "dsql/errors.hpp"
#include "observe.hpp"

namespace dsql::detail {
namespace {

std::vector<log_field> where(const resolved_config& s, std::chrono::nanoseconds took) {
  return {{"host", s.target.host},
          {"port", std::to_string(s.target.port)},
          {"user", s.source.user},
          {"duration_ms", millis(took)}};
}

}  // namespace

connect_report::connect_report(const resolved_config& settings) noexcept : settings_(settings) {
  // log_on(warn) holds at debug and info too: failures are the events worth the clock read.
  active_ = log_on(log_level::warn) || metrics_on();
  if (!active_) return;
  start_ = std::chrono::steady_clock::now();
  count(metric::connects_attempted);
  if (log_on(log_level::debug)) {
    log(log_level::debug, "connect.start",
        {{"host", settings_.target.host},
         {"port", std::to_string(settings_.target.port)},
         {"user", settings_.source.user}});
  }
}

void connect_report::succeeded() noexcept {
  if (!active_) return;
  active_ = false;
  const std::chrono::nanoseconds took = std::chrono::steady_clock::now() - start_;
  count(metric::connects_succeeded);
  observe_connect_latency(took, true);
  if (log_on(log_level::debug)) log(log_level::debug, "connect.success", where(settings_, took));
}

void connect_report::failed(const std::exception_ptr& error) noexcept {
  if (!active_) return;
  active_ = false;
  const std::chrono::nanoseconds took = std::chrono::steady_clock::now() - start_;
  observe_connect_latency(took, false);
  log_level level = log_level::warn;
  const char* name = "connect.failure";
  std::vector<log_field> extra;
  try {
    std::rethrow_exception(error);
  } catch (const rate_limited_error& e) {
    // Expected under a connect storm and retried: not a warning.
    level = log_level::info;
    name = "connect.rate_limited";
    extra = {{"sqlstate", e.sqlstate()}};
  } catch (const auth_error& e) {
    extra = {
        {"sqlstate", e.sqlstate()}, {"error", e.server_message()}, {"diagnosis", e.diagnosis()}};
  } catch (const quota_error& e) {
    extra = {{"sqlstate", e.sqlstate()}, {"error", e.server_message()}};
  } catch (const std::exception& e) {
    extra = {{"error", e.what()}};
  } catch (...) {
    extra = {{"error", "unknown error"}};
  }
  count(level == log_level::info ? metric::connects_rate_limited : metric::connects_failed);
  if (!log_on(level)) return;
  try {
    auto fields = where(settings_, took);
    for (auto& f : extra) fields.push_back(std::move(f));
    log(level, name, std::move(fields));
  } catch (...) {
  }
}

}  // namespace dsql::detail
