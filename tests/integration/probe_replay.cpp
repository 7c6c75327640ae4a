#include "probe_replay.hpp"

#include <poll.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <sstream>
#include <thread>

namespace dsql::test {
namespace {

using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;

constexpr auto step_timeout = std::chrono::seconds(20);
constexpr auto session_step_gap = std::chrono::milliseconds(150);

// Type oids the recorder printed in a form of its own (Go pgx).
constexpr Oid bool_oid = 16;
constexpr Oid uuid_oid = 2950;
constexpr Oid record_oid = 2249;
constexpr Oid inet_oid = 869;

// "{1,2,3}" or "(1,a)" as pgx prints them: "[1 2 3]", "[1 a]".
std::string bracketed(const std::string& v) {
  std::string inner = v.substr(1, v.size() - 2);
  std::string out = "[";
  for (char c : inner) {
    if (c == ',') {
      out += ' ';
    } else if (c != '"') {
      out += c;
    }
  }
  return out + "]";
}

std::string uuid_bytes(const std::string& v) {
  std::string hex;
  for (char c : v) {
    if (c != '-') hex += c;
  }
  std::string out = "[";
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    if (i > 0) out += ' ';
    out += std::to_string(std::stoi(hex.substr(i, 2), nullptr, 16));
  }
  return out + "]";
}

std::string pgx_value(PGresult* r, int row, int col) {
  if (PQgetisnull(r, row, col)) return "NULL";
  const std::string v = PQgetvalue(r, row, col);
  const Oid type = PQftype(r, col);
  if (type == bool_oid) return v == "t" ? "true" : "false";
  if (type == uuid_oid) return uuid_bytes(v);
  // pgx reads an inet as a network: a host address gets its full-length mask.
  if (type == inet_oid && v.find('/') == std::string::npos) {
    return v + (v.find(':') == std::string::npos ? "/32" : "/128");
  }
  if (v.size() >= 2 && ((v.front() == '{' && v.back() == '}' && type != 114 && type != 3802) ||
                        (type == record_oid && v.front() == '('))) {
    return bracketed(v);
  }
  return v;
}

bool wait_readable(PGconn* conn, clock_type::time_point deadline) {
  pollfd fd{PQsocket(conn), POLLIN, 0};
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
  if (left.count() <= 0) return false;
  return ::poll(&fd, 1, static_cast<int>(left.count())) > 0;
}

std::string first_word(const std::string& tag) {
  return tag.substr(0, tag.find(' '));
}

std::string describe(const step_outcome& o) {
  if (o.outcome == "error") return "error " + o.sqlstate + " " + o.message;
  return "ok " + o.tag;
}

std::string describe(const json& e) {
  if (e.value("outcome", "") == "error") {
    return "error " + e.value("sqlstate", "") + " " + e.value("message", "");
  }
  if (e.contains("results")) return "ok (" + std::to_string(e["results"].size()) + " results)";
  return "ok " + e.value("tag", "");
}

// Whether `actual` is what the cluster answered. `message_ok` says whether an error's message
// matched too; `difference` says what did not.
bool same_step(const json& expected, const step_outcome& actual, bool ignore_rows, bool& message_ok,
               std::string& difference) {
  message_ok = true;
  const std::string outcome = expected.value("outcome", "");
  if (outcome != actual.outcome) {
    difference = "expected " + describe(expected) + ", got " + describe(actual);
    return false;
  }
  if (outcome == "error") {
    if (expected.value("sqlstate", "") != actual.sqlstate) {
      difference = "expected " + describe(expected) + ", got " + describe(actual);
      return false;
    }
    message_ok = expected.value("message", "") == actual.message;
    if (!message_ok)
      difference = "message: expected " + describe(expected) + ", got " + describe(actual);
    return true;
  }
  auto same_tag = [&](const std::string& want, const std::string& got) {
    return ignore_rows ? first_word(want) == first_word(got) : want == got;
  };
  if (expected.contains("results")) {
    const auto& results = expected["results"];
    bool same = results.size() == actual.tags.size();
    for (std::size_t i = 0; same && i < results.size(); ++i) {
      same = same_tag(results[i].value("tag", ""), actual.tags[i]);
    }
    if (!same) difference = "expected results " + results.dump() + ", got " + describe(actual);
    return same;
  }
  if (expected.contains("tag") && !same_tag(expected["tag"].get<std::string>(), actual.tag)) {
    difference = "expected " + describe(expected) + ", got " + describe(actual);
    return false;
  }
  if (!ignore_rows && expected.contains("rows") && expected["rows"] != json(actual.rows)) {
    difference = "rows: expected " + expected["rows"].dump() + ", got " + json(actual.rows).dump();
    return false;
  }
  return true;
}

using pgconn_owner = std::unique_ptr<PGconn, decltype(&PQfinish)>;

struct session_record {
  std::vector<step_outcome> outcomes;
};

session_record run_session(const connect_fn& connect, const json& steps,
                           clock_type::time_point start) {
  session_record record;
  pgconn_owner conn(connect(), PQfinish);
  for (std::size_t i = 0; i < steps.size(); ++i) {
    std::this_thread::sleep_until(start + session_step_gap * static_cast<int>(i));
    record.outcomes.push_back(run_step(conn.get(), steps[i].get<std::string>(), false));
  }
  return record;
}

// Each session's answers, as comparable keys; the multiset of sessions is what a race decides.
std::vector<std::vector<std::string>> session_keys(const std::vector<std::vector<step_outcome>>& s,
                                                   bool ignore_rows) {
  std::vector<std::vector<std::string>> keys;
  for (const auto& session : s) {
    std::vector<std::string> k;
    for (const auto& o : session) {
      k.push_back(o.outcome == "error" ? "error " + o.sqlstate + " " + o.message
                                       : "ok " + (ignore_rows ? first_word(o.tag) : o.tag));
    }
    keys.push_back(std::move(k));
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

std::vector<std::vector<step_outcome>> expected_sessions(const json& sessions) {
  std::vector<std::vector<step_outcome>> out;
  for (const auto& session : sessions) {
    std::vector<step_outcome> steps;
    for (const auto& e : session) {
      step_outcome o;
      o.outcome = e.value("outcome", "");
      o.tag = e.value("tag", "");
      o.sqlstate = e.value("sqlstate", "");
      o.message = e.value("message", "");
      steps.push_back(std::move(o));
    }
    out.push_back(std::move(steps));
  }
  return out;
}

probe_result replay_two_sessions(const json& probe, const connect_fn& connect) {
  probe_result result;
  const auto& sessions = probe["sessions"];
  const bool ignore_rows = probe.value("ignore_rows", false);
  const auto start = clock_type::now() + std::chrono::milliseconds(200);
  session_record first, second;
  // The second session starts a moment after the first, so that "first" keeps its meaning.
  std::thread other(
      [&] { second = run_session(connect, sessions[1], start + std::chrono::milliseconds(30)); });
  first = run_session(connect, sessions[0], start);
  other.join();
  const std::vector<std::vector<step_outcome>> actual = {first.outcomes, second.outcomes};

  std::vector<json> shapes = {probe["expect_sessions"]};
  for (const auto& alt : probe.value("also_observed_sessions", json::array()))
    shapes.push_back(alt);
  const auto got = session_keys(actual, ignore_rows);
  for (const auto& shape : shapes) {
    const bool race = probe.value("race", false);
    auto want = session_keys(expected_sessions(shape), ignore_rows);
    if (!race) {
      // Without a race the sessions keep their places.
      want = {};
      for (const auto& s : expected_sessions(shape))
        want.push_back(session_keys({s}, ignore_rows)[0]);
      std::vector<std::vector<std::string>> in_order;
      for (const auto& s : actual) in_order.push_back(session_keys({s}, ignore_rows)[0]);
      if (in_order == want) result.outcome_and_sqlstate = result.messages = true;
    } else if (got == want) {
      result.outcome_and_sqlstate = result.messages = true;
    }
    if (result.outcome_and_sqlstate) return result;
  }
  std::ostringstream diff;
  diff << "sessions answered " << json(got).dump();
  result.difference = diff.str();
  return result;
}

probe_result replay_one_session(PGconn* conn, const json& probe) {
  probe_result result;
  result.outcome_and_sqlstate = result.messages = true;
  const bool simple = probe.value("protocol", "") == "simple";
  const bool ignore_rows = probe.value("ignore_rows", false);
  const auto& steps = probe["steps"];
  const auto& expect = probe["expect"];
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const step_outcome actual = run_step(conn, steps[i].get<std::string>(), simple);
    bool message_ok = true;
    std::string difference;
    const bool same = same_step(expect.at(i), actual, ignore_rows, message_ok, difference);
    if ((!same || !message_ok) && result.difference.empty()) {
      result.difference =
          "step " + std::to_string(i + 1) + " (" + steps[i].get<std::string>() + "): " + difference;
    }
    result.outcome_and_sqlstate = result.outcome_and_sqlstate && same;
    result.messages = result.messages && same && message_ok;
  }
  (void)run_step(conn, "ROLLBACK", true);
  return result;
}

}  // namespace

step_outcome run_step(PGconn* conn, const std::string& sql, bool simple_protocol) {
  step_outcome o;
  o.outcome = "ok";
  const int sent = simple_protocol ? PQsendQuery(conn, sql.c_str())
                                   : PQsendQueryParams(conn, sql.c_str(), 0, nullptr, nullptr,
                                                       nullptr, nullptr, 0);
  if (!sent) {
    o.outcome = "error";
    o.sqlstate = "08006";
    o.message = PQerrorMessage(conn);
    return o;
  }
  const auto deadline = clock_type::now() + step_timeout;
  for (;;) {
    while (PQisBusy(conn)) {
      if (!wait_readable(conn, deadline) || !PQconsumeInput(conn)) {
        o.outcome = "error";
        o.sqlstate = "timeout";
        o.message = "no answer within 20 s";
        return o;
      }
    }
    PGresult* r = PQgetResult(conn);
    if (!r) break;
    switch (PQresultStatus(r)) {
      case PGRES_COMMAND_OK:
      case PGRES_TUPLES_OK:
        o.tags.push_back(PQcmdStatus(r));
        o.tag = PQcmdStatus(r);
        if (PQresultStatus(r) == PGRES_TUPLES_OK) {
          o.rows.clear();
          for (int row = 0; row < PQntuples(r); ++row) {
            std::vector<std::string> values;
            for (int col = 0; col < PQnfields(r); ++col) values.push_back(pgx_value(r, row, col));
            o.rows.push_back(std::move(values));
          }
        }
        break;
      default:
        if (o.outcome != "error") {
          o.outcome = "error";
          const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
          const char* message = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
          o.sqlstate = state ? state : "";
          o.message = message ? message : PQresultErrorMessage(r);
        }
        break;
    }
    PQclear(r);
  }
  return o;
}

std::vector<probe_result> replay_probes(const nlohmann::json& file, const connect_fn& connect,
                                        const predecessor_map& predecessors) {
  std::vector<probe_result> results;
  pgconn_owner main(connect(), PQfinish);
  for (const auto& statement : file.value("setup", json::array())) {
    step_outcome o;
    for (int attempt = 0; attempt < 3; ++attempt) {
      o = run_step(main.get(), statement.get<std::string>(), false);
      if (o.sqlstate != "40001") break;
    }
    if (o.outcome != "ok") {
      probe_result failed;
      failed.name = "setup";
      failed.difference = statement.get<std::string>() + ": " + describe(o);
      results.push_back(failed);
      return results;
    }
  }
  for (const auto& probe : file.at("probes")) {
    if (auto it = predecessors.find(probe.value("name", "")); it != predecessors.end()) {
      for (const auto& statement : it->second) (void)run_step(main.get(), statement, false);
    }
    probe_result r = probe.contains("sessions") ? replay_two_sessions(probe, connect)
                                                : replay_one_session(main.get(), probe);
    r.name = probe.value("name", "");
    r.known_gap = probe.contains("known_gap");
    results.push_back(std::move(r));
  }
  return results;
}

}  // namespace dsql::test
