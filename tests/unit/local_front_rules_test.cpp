// The front's decisions without sockets: startup packets, connection quotas, what a relayed
// Query or Parse becomes, how PostgreSQL's errors reach the client, and write-conflict settling.

#include <gtest/gtest.h>

#include <map>

#include "local/conflict_adjudicator.hpp"
#include "local/connection_quota.hpp"
#include "local/relay_rules.hpp"
#include "local/startup_rules.hpp"

namespace dsql::local {
namespace {

wire::startup_packet startup(std::vector<std::pair<std::string, std::string>> params) {
  wire::startup_packet p;
  p.kind = wire::startup_kind::startup;
  p.protocol = 3u << 16;
  p.params = std::move(params);
  return p;
}

std::string refusal(const std::variant<backend_login, wire::error_info>& r) {
  const auto* e = std::get_if<wire::error_info>(&r);
  return e ? e->sqlstate + " " + e->message : "accepted";
}

TEST(startup_rules, accepts_dsql_parameters_and_adds_the_front_options) {
  const auto r = check_startup(startup({{"user", "app"},
                                        {"database", "postgres"},
                                        {"application_name", "x"},
                                        {"options", "-c search_path=app -c enable_seqscan=off"}}),
                               "-c dsql_rules.client_session=on");
  const auto* login = std::get_if<backend_login>(&r);
  ASSERT_NE(login, nullptr) << refusal(r);
  EXPECT_EQ(login->user, "app");
  const std::map<std::string, std::string> params(login->params.begin(), login->params.end());
  EXPECT_EQ(params.at("TimeZone"), "UTC");  // DSQL's zone unless the client names one
  EXPECT_EQ(params.at("options"),
            "-c dsql_rules.client_session=on -c search_path=app -c enable_seqscan=off");
}

TEST(startup_rules, refuses_what_dsql_refuses_at_connect) {
  EXPECT_EQ(refusal(check_startup(startup({{"user", "app"}, {"database", "other"}}), "")),
            "3D000 database \"other\" does not exist");
  EXPECT_EQ(
      refusal(check_startup(
          startup({{"user", "app"}, {"database", "postgres"}, {"client_min_messages", "debug"}}),
          "")),
      "0A000 setting configuration parameter \"client_min_messages\" not supported");
  EXPECT_EQ(
      refusal(check_startup(startup({{"user", "app"},
                                     {"database", "postgres"},
                                     {"options", "-c default_transaction_read_only=on"}}),
                            "")),
      "0A000 setting configuration parameter \"default_transaction_read_only\" not supported");
  EXPECT_EQ(refusal(check_startup(
                startup({{"user", "app"}, {"database", "postgres"}, {"options", "--single"}}), "")),
            "0A000 setting configuration parameter \"options\" not supported");
  EXPECT_EQ(refusal(check_startup(startup({{"database", "postgres"}}), "")).substr(0, 5), "28000");
  // The front's own superuser cannot be reached through the front.
  EXPECT_EQ(refusal(check_startup(startup({{"user", "postgres"}}), "")).substr(0, 5), "28000");
}

TEST(connection_quota, refuses_beyond_the_open_connection_limit_until_one_closes) {
  const auto t0 = connection_quota::clock::now();
  connection_quota q({2, 0, 0}, t0);
  EXPECT_EQ(q.admit(t0), connection_quota::verdict::admitted);
  EXPECT_EQ(q.admit(t0), connection_quota::verdict::admitted);
  EXPECT_EQ(q.admit(t0), connection_quota::verdict::too_many_connections);
  q.release();
  EXPECT_EQ(q.admit(t0), connection_quota::verdict::admitted);
  EXPECT_EQ(q.open(), 2u);
}

TEST(connection_quota, meters_new_connections_with_a_token_bucket) {
  const auto t0 = connection_quota::clock::now();
  connection_quota q({0, 10, 3}, t0);  // burst 3, then 10 per second
  for (int i = 0; i < 3; ++i) EXPECT_EQ(q.admit(t0), connection_quota::verdict::admitted);
  EXPECT_EQ(q.admit(t0), connection_quota::verdict::rate_exceeded);
  // A tenth of a second refills one token, and never more than the burst.
  EXPECT_EQ(q.admit(t0 + std::chrono::milliseconds(100)), connection_quota::verdict::admitted);
  EXPECT_EQ(q.admit(t0 + std::chrono::milliseconds(100)), connection_quota::verdict::rate_exceeded);
  const auto later = t0 + std::chrono::seconds(60);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(q.admit(later), connection_quota::verdict::admitted);
  EXPECT_EQ(q.admit(later), connection_quota::verdict::rate_exceeded);
}

TEST(relay_rules, forwards_plain_queries_untouched_and_rewrites_async_ddl) {
  fault_counters faults;
  const std::string sql = "SELECT 1; CREATE INDEX ASYNC i ON t (a)";
  const auto plan = plan_query(sql, classify_query(sql), 'I', faults);
  EXPECT_EQ(plan.what, query_plan::action::forward);
  EXPECT_EQ(plan.sql,
            "SELECT 1; CALL sys.dsql_local_create_index_async($q$ CREATE INDEX  i ON t (a)$q$)");
  const std::string plain = "UPDATE t SET a = 1";
  EXPECT_EQ(plan_query(plain, classify_query(plain), 'T', faults).sql, plain);
}

TEST(relay_rules, an_armed_oc001_replaces_the_first_eligible_statement_only) {
  fault_counters faults;
  faults.fail_statement = 1;
  const std::string sql = "BEGIN; SELECT 1; SELECT 2";
  const auto plan = plan_query(sql, classify_query(sql), 'I', faults);
  EXPECT_TRUE(plan.injected_oc001);
  EXPECT_EQ(faults.fail_statement, 0u);
  EXPECT_EQ(plan.sql.rfind("BEGIN; SELECT sys.dsql_local_raise($q$40001$q$", 0), 0u) << plan.sql;
  EXPECT_NE(plan.sql.find("; SELECT 2"), std::string::npos);
  // Not in an aborted transaction, nor for transaction control.
  faults.fail_statement = 1;
  EXPECT_FALSE(plan_query("SELECT 1", classify_query("SELECT 1"), 'E', faults).injected_oc001);
  EXPECT_FALSE(plan_query("COMMIT", classify_query("COMMIT"), 'T', faults).injected_oc001);
  EXPECT_EQ(faults.fail_statement, 1u);
}

TEST(relay_rules, an_armed_commit_fails_only_inside_a_transaction) {
  fault_counters faults;
  faults.fail_commit = 1;
  const auto q = classify_query("COMMIT");
  EXPECT_TRUE(answered_by_front(q, faults));
  EXPECT_EQ(plan_query("COMMIT", q, 'I', faults).what, query_plan::action::forward);
  EXPECT_EQ(faults.fail_commit, 1u);
  EXPECT_EQ(plan_query("COMMIT", q, 'T', faults).what, query_plan::action::fail_commit);
  EXPECT_EQ(faults.fail_commit, 0u);
}

TEST(relay_rules, front_commands_are_answered_alone_and_only_as_simple_queries) {
  fault_counters faults;
  const std::string alone = "DSQL LOCAL RESET FAULTS";
  EXPECT_EQ(plan_query(alone, classify_query(alone), 'I', faults).what,
            query_plan::action::front_command);
  const std::string mixed = "SELECT 1; DSQL LOCAL RESET FAULTS";
  const auto plan = plan_query(mixed, classify_query(mixed), 'I', faults);
  EXPECT_EQ(plan.what, query_plan::action::forward);
  EXPECT_NE(plan.sql.find("must be sent alone"), std::string::npos);
  wire::parse_message parse;
  parse.query = alone;
  const auto parsed = plan_parse(parse, 'I', faults);
  ASSERT_TRUE(parsed.query);
  EXPECT_NE(parsed.query->find("as simple queries"), std::string::npos);
}

TEST(relay_rules, an_armed_oc001_spares_named_prepared_statements) {
  fault_counters faults;
  faults.fail_statement = 1;
  wire::parse_message named;
  named.statement = "s1";
  named.query = "SELECT $1";
  EXPECT_FALSE(plan_parse(named, 'I', faults).injected_oc001);
  wire::parse_message unnamed = named;
  unnamed.statement.clear();
  const auto plan = plan_parse(unnamed, 'I', faults);
  ASSERT_TRUE(plan.injected_oc001);
  EXPECT_NE(plan.query->find("$1::text"), std::string::npos);
}

wire::error_fields error_fields(std::string code, std::string message) {
  return {{'S', "ERROR"}, {'V', "ERROR"}, {'C', std::move(code)}, {'M', std::move(message)}};
}

TEST(relay_rules, postgresql_conflicts_reach_the_client_as_dsql_oc000) {
  for (const char* code : {"40001", "40P01", "55P03"}) {
    const auto t =
        translate_error(error_fields(code, "could not serialize access"), conflict_cancel::none);
    ASSERT_TRUE(t) << code;
    EXPECT_EQ(*wire::find_field(*t, 'C'), "40001");
    EXPECT_EQ(*wire::find_field(*t, 'M'), "change conflicts with another transaction (OC000)");
  }
  // DSQL's own texts (from dsql_rules) and other errors pass as they are; a cancel is a
  // conflict only when the front cancelled for one.
  EXPECT_FALSE(translate_error(
      error_fields("40001", "schema has been updated by another transaction (OC001)"),
      conflict_cancel::none));
  EXPECT_FALSE(translate_error(error_fields("23505", "duplicate key"), conflict_cancel::none));
  EXPECT_FALSE(
      translate_error(error_fields("57014", "canceling statement"), conflict_cancel::none));
  const auto data =
      translate_error(error_fields("57014", "canceling statement"), conflict_cancel::data);
  ASSERT_TRUE(data);
  EXPECT_EQ(*wire::find_field(*data, 'M'), "change conflicts with another transaction (OC000)");
  const auto schema =
      translate_error(error_fields("57014", "canceling statement"), conflict_cancel::schema);
  ASSERT_TRUE(schema);
  EXPECT_EQ(*wire::find_field(*schema, 'M'),
            "schema has been updated by another transaction (OC001)");
}

using std::chrono::milliseconds;
using state = session_view::state;
constexpr milliseconds grace{10};

std::vector<verdict> settle(const std::vector<lock_wait>& waits,
                            const std::map<std::uint32_t, session_view>& sessions) {
  return adjudicate(
      waits,
      [&](std::uint32_t pid) -> std::optional<session_view> {
        auto it = sessions.find(pid);
        if (it == sessions.end()) return std::nullopt;
        return it->second;
      },
      grace);
}

session_view idle(int ms) {
  return {state::idle_in_transaction, milliseconds(ms)};
}
session_view busy(int ms) {
  return {state::busy, milliseconds(ms)};
}
session_view losing() {
  return {state::losing, milliseconds(0)};
}

std::string describe(const std::vector<verdict>& v) {
  std::string out;
  for (const auto& x : v) {
    out += (x.what == verdict::action::doom ? "doom " : "cancel ") + std::to_string(x.pid) +
           (x.schema ? " OC001; " : " OC000; ");
  }
  return out;
}

TEST(conflict_adjudicator, classifies_only_row_and_table_lock_waits_as_conflicts) {
  EXPECT_EQ(classify_wait("transactionid", "ShareLock"), wait_kind::row);
  EXPECT_EQ(classify_wait("tuple", "ExclusiveLock"), wait_kind::row);
  EXPECT_EQ(classify_wait("speculative token", "ShareLock"), wait_kind::row);
  EXPECT_EQ(classify_wait("relation", "AccessExclusiveLock"), wait_kind::schema_change);
  EXPECT_EQ(classify_wait("relation", "RowExclusiveLock"), wait_kind::behind_schema_change);
  // Two writers growing one table wait on its extension lock: no conflict on DSQL.
  EXPECT_EQ(classify_wait("extend", "ExclusiveLock"), std::nullopt);
  EXPECT_EQ(classify_wait("page", "ExclusiveLock"), std::nullopt);
  EXPECT_EQ(classify_wait("virtualxid", "ShareLock"), std::nullopt);
}

TEST(conflict_adjudicator, gives_an_idle_holder_the_grace_to_commit_first) {
  // Just idle: it may be about to commit, and then it is the first committer; wait.
  EXPECT_EQ(describe(settle({{2, {1}, wait_kind::row}}, {{1, idle(1)}, {2, busy(3)}})), "");
  // Idle past the grace: it loses, the waiter goes on.
  EXPECT_EQ(describe(settle({{2, {1}, wait_kind::row}}, {{1, idle(20)}, {2, busy(20)}})),
            "doom 1 OC000; ");
}

TEST(conflict_adjudicator, cancels_a_waiter_behind_a_running_statement_after_the_grace) {
  EXPECT_EQ(describe(settle({{2, {1}, wait_kind::row}}, {{1, busy(50)}, {2, busy(3)}})), "");
  EXPECT_EQ(describe(settle({{2, {1}, wait_kind::row}}, {{1, busy(50)}, {2, busy(30)}})),
            "cancel 2 OC000; ");
}

TEST(conflict_adjudicator, a_schema_change_wins_at_once_and_its_losers_get_oc001) {
  EXPECT_EQ(describe(settle({{3, {1, 2}, wait_kind::schema_change}},
                            {{1, idle(0)}, {2, busy(0)}, {3, busy(2)}})),
            "doom 1 OC001; cancel 2 OC001; ");
  // A statement behind an open schema change waits for the grace, then loses with OC001.
  EXPECT_EQ(
      describe(settle({{2, {1}, wait_kind::behind_schema_change}}, {{1, idle(500)}, {2, busy(3)}})),
      "");
  EXPECT_EQ(describe(settle({{2, {1}, wait_kind::behind_schema_change}},
                            {{1, idle(500)}, {2, busy(30)}})),
            "cancel 2 OC001; ");
}

TEST(conflict_adjudicator, settles_each_conflict_once_and_leaves_internal_holders_alone) {
  // Two statements waiting on each other: one loses, the other then goes on.
  EXPECT_EQ(describe(settle({{1, {2}, wait_kind::row}, {2, {1}, wait_kind::row}},
                            {{1, busy(30)}, {2, busy(30)}})),
            "cancel 1 OC000; ");
  // The job worker (not a client session) holding the lock: wait for it.
  EXPECT_EQ(describe(settle({{2, {99}, wait_kind::row}}, {{2, busy(100)}})), "");
  // A holder or a waiter already losing from an earlier round: nothing more to decide.
  EXPECT_EQ(describe(settle({{2, {1}, wait_kind::row}}, {{1, losing()}, {2, busy(100)}})), "");
  EXPECT_EQ(describe(settle({{2, {1}, wait_kind::row}}, {{1, idle(100)}, {2, losing()}})), "");
}

}  // namespace
}  // namespace dsql::local
