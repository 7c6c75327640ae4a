// The local endpoint's wire protocol helpers and statement classifier.

#include <gtest/gtest.h>

#include "local/front_statements.hpp"
#include "local/wire_protocol.hpp"

namespace dsql::local {
namespace {

using wire::startup_kind;

std::string u32(std::uint32_t v) {
  std::string s;
  wire::append_u32(s, v);
  return s;
}

const wire::error_info* error_of(const std::variant<wire::startup_packet, wire::error_info>& r) {
  return std::get_if<wire::error_info>(&r);
}

TEST(startup_packet, parses_a_startup_message) {
  const std::string p = wire::build_startup({{"user", "admin"}, {"database", "postgres"}});
  const auto r = wire::parse_startup(p);
  ASSERT_FALSE(error_of(r));
  const auto& s = std::get<wire::startup_packet>(r);
  EXPECT_EQ(s.kind, startup_kind::startup);
  EXPECT_EQ(s.protocol, wire::protocol_3_0);
  ASSERT_NE(s.param("user"), nullptr);
  EXPECT_EQ(*s.param("user"), "admin");
  EXPECT_EQ(*s.param("database"), "postgres");
  EXPECT_EQ(s.param("options"), nullptr);
}

TEST(startup_packet, parses_ssl_gssenc_and_cancel_requests) {
  const auto ssl = wire::parse_startup(u32(8) + u32(wire::ssl_request_code));
  EXPECT_EQ(std::get<wire::startup_packet>(ssl).kind, startup_kind::ssl_request);
  const auto gss = wire::parse_startup(u32(8) + u32(wire::gssenc_request_code));
  EXPECT_EQ(std::get<wire::startup_packet>(gss).kind, startup_kind::gssenc_request);
  const auto cancel = wire::parse_startup(wire::build_cancel_request(1234, 0xdeadbeef));
  const auto& c = std::get<wire::startup_packet>(cancel);
  EXPECT_EQ(c.kind, startup_kind::cancel_request);
  EXPECT_EQ(c.cancel_pid, 1234u);
  EXPECT_EQ(c.cancel_key, 0xdeadbeefu);
  // A cancel request of the wrong length is malformed.
  EXPECT_TRUE(error_of(wire::parse_startup(u32(12) + u32(wire::cancel_request_code) + u32(1))));
}

TEST(startup_packet, refuses_bad_lengths_before_reading_the_body) {
  EXPECT_TRUE(wire::check_startup_length(0));
  EXPECT_TRUE(wire::check_startup_length(7));
  EXPECT_FALSE(wire::check_startup_length(8));
  EXPECT_FALSE(wire::check_startup_length(10000));
  EXPECT_TRUE(wire::check_startup_length(10001));
  EXPECT_TRUE(wire::check_startup_length(0xffffffffu));
  EXPECT_EQ(wire::check_startup_length(1 << 20)->sqlstate, "08P01");
}

TEST(startup_packet, refuses_truncated_and_malformed_packets) {
  const std::string good = wire::build_startup({{"user", "admin"}});
  for (std::size_t n = 0; n < good.size(); ++n) {
    SCOPED_TRACE(n);
    EXPECT_TRUE(error_of(wire::parse_startup(good.substr(0, n))));
  }
  // Length word claims more (or less) than the packet holds.
  std::string lying = good;
  lying.replace(0, 4, u32(static_cast<std::uint32_t>(good.size() + 1)));
  EXPECT_TRUE(error_of(wire::parse_startup(lying)));
  // Missing the final NUL, a name without a value, bytes after the terminator.
  std::string body = u32(wire::protocol_3_0) + std::string("user\0admin", 10);
  EXPECT_TRUE(
      error_of(wire::parse_startup(u32(static_cast<std::uint32_t>(body.size() + 4)) + body)));
  body = u32(wire::protocol_3_0) + std::string("user\0\0", 6);
  EXPECT_TRUE(
      error_of(wire::parse_startup(u32(static_cast<std::uint32_t>(body.size() + 4)) + body)));
  body = u32(wire::protocol_3_0) + std::string("\0junk", 5);
  EXPECT_TRUE(
      error_of(wire::parse_startup(u32(static_cast<std::uint32_t>(body.size() + 4)) + body)));
  // Duplicate parameters are ambiguous.
  EXPECT_TRUE(error_of(wire::parse_startup(wire::build_startup({{"user", "a"}, {"user", "b"}}))));
}

TEST(startup_packet, refuses_unsupported_protocols_and_oversized_packets) {
  const std::string body = u32(2u << 16) + std::string("\0", 1);
  const auto r = wire::parse_startup(u32(static_cast<std::uint32_t>(body.size() + 4)) + body);
  ASSERT_TRUE(error_of(r));
  EXPECT_EQ(error_of(r)->sqlstate, "0A000");
  const std::string big = wire::build_startup({{"user", std::string(20000, 'x')}});
  EXPECT_EQ(error_of(wire::parse_startup(big))->message, "invalid length of startup packet");
  // A minor version above 0 is accepted; the front negotiates down to 3.0.
  std::string p32 = wire::build_startup({{"user", "admin"}});
  p32.replace(4, 4, u32((3u << 16) | 2));
  EXPECT_FALSE(error_of(wire::parse_startup(p32)));
}

TEST(message_reader, splits_a_stream_into_messages_at_any_chunking) {
  const std::string stream = wire::frame('Q', std::string("SELECT 1\0", 9)) + wire::frame('X', "") +
                             wire::frame('p', std::string(5000, 'a') + '\0');
  for (std::size_t chunk : {1u, 2u, 3u, 7u, 4096u, 100000u}) {
    SCOPED_TRACE(chunk);
    wire::message_reader reader(wire::max_client_message);
    std::vector<wire::message> got;
    for (std::size_t i = 0; i < stream.size(); i += chunk) {
      const std::string part = stream.substr(i, chunk);
      reader.feed(part.data(), part.size());
      while (auto m = reader.next()) got.push_back(*m);
    }
    ASSERT_EQ(got.size(), 3u);
    EXPECT_EQ(got[0].type, 'Q');
    EXPECT_EQ(*wire::parse_query(got[0].body), "SELECT 1");
    EXPECT_EQ(got[1].type, 'X');
    EXPECT_TRUE(got[1].body.empty());
    EXPECT_EQ(wire::parse_password(got[2].body)->size(), 5000u);
    EXPECT_FALSE(reader.error());
  }
}

TEST(message_reader, flags_impossible_and_oversized_lengths) {
  wire::message_reader small(wire::max_password_message);
  const std::string huge = std::string("p") + u32(1 << 20);
  small.feed(huge.data(), huge.size());
  EXPECT_FALSE(small.next());
  EXPECT_TRUE(small.error());
  wire::message_reader bad(wire::max_client_message);
  const std::string three = std::string("Q") + u32(3);
  bad.feed(three.data(), three.size());
  EXPECT_FALSE(bad.next());
  EXPECT_TRUE(bad.error());
}

TEST(password_message, accepts_long_passwords_and_rejects_malformed_ones) {
  // 16 KiB is well within the cap; a 1 MiB password message is refused by the cap, not by a crash.
  const std::string pw(16 * 1024, 'x');
  EXPECT_EQ(wire::parse_password(pw + '\0'), pw);
  EXPECT_LE(16u * 1024u + 1u, wire::max_password_message);
  EXPECT_LT(wire::max_password_message, 1024u * 1024u);
  EXPECT_FALSE(wire::parse_password(""));
  EXPECT_FALSE(wire::parse_password("abc"));
  EXPECT_FALSE(wire::parse_password(std::string("a\0b\0", 4)));
}

TEST(backend_messages, error_response_has_the_fields_clients_read) {
  const std::string e = wire::error_response(
      "FATAL", {"28000", "unable to accept connection, access denied", "Signature expired: x"});
  ASSERT_EQ(e[0], 'E');
  EXPECT_EQ(wire::read_u32(e, 1), e.size() - 1);
  const auto fields = wire::parse_error_fields(e.substr(5));
  ASSERT_TRUE(fields);
  EXPECT_EQ(*wire::find_field(*fields, 'S'), "FATAL");
  EXPECT_EQ(*wire::find_field(*fields, 'V'), "FATAL");
  EXPECT_EQ(*wire::find_field(*fields, 'C'), "28000");
  EXPECT_EQ(*wire::find_field(*fields, 'M'), "unable to accept connection, access denied");
  EXPECT_EQ(*wire::find_field(*fields, 'H'), "Signature expired: x");
  const std::string no_hint = wire::error_response("ERROR", {"0A000", "m", ""});
  EXPECT_EQ(wire::find_field(*wire::parse_error_fields(no_hint.substr(5)), 'H'), nullptr);
  EXPECT_EQ(wire::ready_for_query('I'), std::string("Z\0\0\0\x05I", 6));
  EXPECT_EQ(wire::authentication_request(3), std::string("R\0\0\0\x08\0\0\0\x03", 9));
  const auto ps =
      wire::parse_parameter_status(wire::parameter_status("server_version", "16.15").substr(5));
  EXPECT_EQ(ps->second, "16.15");
}

TEST(parse_message, round_trips_with_a_new_query) {
  std::string body = std::string("stmt\0SELECT $1\0", 15) + std::string("\0\x01\0\0\0\x17", 6);
  auto p = wire::parse_parse(body);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->statement, "stmt");
  EXPECT_EQ(p->query, "SELECT $1");
  p->query = "SELECT 2";
  const std::string framed = wire::build_parse(*p);
  EXPECT_EQ(framed.substr(5),
            std::string("stmt\0SELECT 2\0", 14) + std::string("\0\x01\0\0\0\x17", 6));
}

statement_kind kind(std::string_view sql) {
  return classify_statement(sql).kind;
}

TEST(front_statements, leaves_dsql_dialect_to_postgresql) {
  // These are refused by the dsql_rules library, on PostgreSQL's own parse trees.
  EXPECT_EQ(kind("BEGIN ISOLATION LEVEL SERIALIZABLE"), statement_kind::begin);
  EXPECT_EQ(kind("SAVEPOINT a"), statement_kind::other);
  EXPECT_EQ(kind("SET TRANSACTION READ ONLY"), statement_kind::other);
  EXPECT_EQ(kind("ROLLBACK TO SAVEPOINT a"), statement_kind::other);
}

TEST(front_statements, rewrites_async_ddl_into_the_job_procedures) {
  auto c = classify_statement("create unique index  ASYNC if not exists i ON t (a) WHERE a > 0");
  ASSERT_TRUE(c.rewritten);
  EXPECT_EQ(*c.rewritten,
            "CALL sys.dsql_local_create_index_async($q$create unique index   if not exists i ON "
            "t (a) WHERE a > 0$q$)");
  c = classify_statement("/* x */ ALTER TABLE ASYNC app.t VALIDATE CONSTRAINT c_fk");
  ASSERT_TRUE(c.rewritten);
  EXPECT_EQ(*c.rewritten,
            "CALL sys.dsql_local_alter_table_async($q$/* x */ ALTER TABLE  app.t VALIDATE "
            "CONSTRAINT c_fk$q$)");
  // A table named async, a quoted "ASYNC", and plain DDL are left alone.
  EXPECT_FALSE(classify_statement("ALTER TABLE async ADD COLUMN c text").rewritten);
  EXPECT_FALSE(classify_statement("CREATE INDEX \"ASYNC\" ON t (a)").rewritten);
  EXPECT_FALSE(classify_statement("CREATE TABLE t (id int)").rewritten);
  // The statement's own dollar quotes cannot close the literal early.
  c = classify_statement("CREATE INDEX ASYNC i ON t ((a || $q$x$q$))");
  ASSERT_TRUE(c.rewritten);
  EXPECT_NE(c.rewritten->find("$q0$CREATE INDEX  i ON t ((a || $q$x$q$))$q0$"), std::string::npos)
      << *c.rewritten;
}

TEST(front_statements, passes_allowed_transaction_control_and_ordinary_statements) {
  EXPECT_EQ(kind("BEGIN"), statement_kind::begin);
  EXPECT_EQ(kind("begin isolation level repeatable read"), statement_kind::begin);
  EXPECT_EQ(kind("START TRANSACTION READ ONLY"), statement_kind::begin);
  EXPECT_EQ(kind("COMMIT"), statement_kind::commit);
  EXPECT_EQ(kind("end work;"), statement_kind::commit);
  EXPECT_EQ(kind("commit transaction"), statement_kind::commit);
  EXPECT_EQ(kind("ROLLBACK"), statement_kind::rollback);
  EXPECT_EQ(kind("abort"), statement_kind::rollback);
  EXPECT_EQ(kind("SELECT 'SAVEPOINT'"), statement_kind::other);
  EXPECT_EQ(kind("SET search_path = app"), statement_kind::other);
  EXPECT_EQ(kind("/* only a comment */ "), statement_kind::empty);
  EXPECT_EQ(kind(""), statement_kind::empty);
}

TEST(front_statements, parses_dsql_local_fault_commands) {
  auto c = classify_statement("DSQL LOCAL FAIL NEXT COMMIT WITH OC000");
  EXPECT_EQ(c.kind, statement_kind::fail_next_commit);
  EXPECT_EQ(c.times, 1u);
  c = classify_statement("dsql local fail next statement with oc001 times 3;");
  EXPECT_EQ(c.kind, statement_kind::fail_next_statement);
  EXPECT_EQ(c.times, 3u);
  EXPECT_TRUE(c.front_command());
  EXPECT_EQ(kind("DSQL LOCAL RESET FAULTS"), statement_kind::reset_faults);
  for (const char* bad : {"DSQL LOCAL FAIL NEXT COMMIT WITH OC001", "DSQL LOCAL FAIL NEXT COMMIT",
                          "DSQL LOCAL FAIL NEXT STATEMENT WITH OC001 TIMES 0",
                          "DSQL LOCAL FAIL NEXT STATEMENT WITH OC001 TIMES x",
                          "DSQL LOCAL FAIL NEXT STATEMENT WITH OC001 TIMES 2 extra"}) {
    SCOPED_TRACE(bad);
    c = classify_statement(bad);
    EXPECT_EQ(c.kind, statement_kind::malformed);
    EXPECT_EQ(c.error.sqlstate, "42601");
  }
}

TEST(front_statements, parses_aws_iam_grant_and_revoke) {
  auto c = classify_statement("AWS IAM GRANT App_Role TO 'arn:aws:iam::111122223333:role/app';");
  EXPECT_EQ(c.kind, statement_kind::iam_grant);
  EXPECT_EQ(c.role, "app_role");
  EXPECT_EQ(c.arn, "arn:aws:iam::111122223333:role/app");
  c = classify_statement("aws iam revoke \"Mixed\" from 'arn:aws:iam::111122223333:user/u'");
  EXPECT_EQ(c.kind, statement_kind::iam_revoke);
  EXPECT_EQ(c.role, "Mixed");
  EXPECT_EQ(classify_statement("AWS IAM GRANT r TO arn").kind, statement_kind::malformed);
  EXPECT_TRUE(valid_iam_arn("arn:aws:iam::111122223333:role/app"));
  EXPECT_TRUE(valid_iam_arn("arn:aws-us-gov:iam::111122223333:user/a/b"));
  EXPECT_FALSE(valid_iam_arn("arn:aws:iam::1111:role/app"));
  EXPECT_FALSE(valid_iam_arn("arn:aws:s3::111122223333:role/app"));
  EXPECT_FALSE(valid_iam_arn("arn:aws:iam::111122223333:role/"));
  EXPECT_FALSE(valid_iam_arn("app"));
}

TEST(front_statements, splits_on_top_level_semicolons_only) {
  const std::string sql =
      "BEGIN; SELECT 'a;b', \"c;d\" /* ; */ -- ;\n; DO $x$ BEGIN; END $x$ ;; SAVEPOINT s";
  const auto spans = split_statements(sql);
  ASSERT_EQ(spans.size(), 4u);
  auto text = [&](std::size_t i) {
    return sql.substr(spans[i].begin, spans[i].end - spans[i].begin);
  };
  EXPECT_EQ(text(0), "BEGIN");
  EXPECT_EQ(classify_statement(text(1)).kind, statement_kind::other);
  EXPECT_EQ(text(2), " DO $x$ BEGIN; END $x$ ");
  EXPECT_EQ(text(3), " SAVEPOINT s");
  EXPECT_TRUE(split_statements("  ;; -- nothing").empty());
}

TEST(front_statements, raise_statement_dollar_quotes_every_argument) {
  // Quotes, backslashes and dollar signs cannot end a literal early, whatever
  // standard_conforming_strings says: every argument is dollar-quoted with a tag it lacks.
  const std::string sql = raise_statement({"42501", "it's \\' $q$ odd", "x$q"});
  EXPECT_EQ(sql, "SELECT sys.dsql_local_raise($q$42501$q$, $q0$it's \\' $q$ odd$q0$, $q0$x$q$q0$)");
}

TEST(front_statements, dollar_quote_picks_a_tag_that_closes_only_at_the_end) {
  EXPECT_EQ(dollar_quote("plain"), "$q$plain$q$");
  EXPECT_EQ(dollar_quote("a$q"), "$q0$a$q$q0$");
  EXPECT_EQ(dollar_quote("$q$ and $q0$"), "$q1$$q$ and $q0$$q1$");
  EXPECT_EQ(dollar_quote(""), "$q$$q$");
}

}  // namespace
}  // namespace dsql::local

namespace dsql::local {
namespace {

TEST(front_statements, ParameterCountIsTheDeclaredTypesOrTheHighestReference) {
  const std::string two_declared("\x00\x02\x00\x00\x00\x17\x00\x00\x00\x19", 10);
  EXPECT_EQ(parse_parameter_count("SELECT $1", two_declared), 2);
  EXPECT_EQ(parse_parameter_count("SELECT $1, $3", std::string("\x00\x00", 2)), 3);
  EXPECT_EQ(parse_parameter_count("SELECT 1", ""), 0);
  EXPECT_EQ(parse_parameter_count("SELECT $12 + $2", ""), 12);
}

TEST(front_statements, RaiseWithParametersReferencesEachOne) {
  wire::error_info e;
  e.sqlstate = "40001";
  e.message = "schema has been updated by another transaction (OC001)";
  const std::string sql = raise_statement(e, 3);
  EXPECT_NE(sql.find("sys.dsql_local_raise($q$40001$q$, $q$schema has been updated"),
            std::string::npos);
  EXPECT_NE(sql.find("$1::text, $2::text, $3::text"), std::string::npos) << sql;
  EXPECT_EQ(sql.find("$4::text"), std::string::npos);
  EXPECT_EQ(raise_statement(e, 0).find("FROM"), std::string::npos);
}

}  // namespace
}  // namespace dsql::local
