// dsql load without a server: CSV and TSV records (quotes, embedded newlines, NULLs, bad lines),
// batch sizing by rows, bytes and parameters, COPY text, and the state file.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "batch/batch_encoding.hpp"
#include "delimited_reader.hpp"
#include "load_progress.hpp"
#include "load_state.hpp"

namespace dsql::cli {
namespace {

using field = std::optional<std::string>;

std::vector<std::vector<field>> read_all(const std::string& text, delimited_format f,
                                         std::vector<std::uint64_t>* lines = nullptr) {
  auto r = delimited_reader::from_text(text, "in.csv", f);
  std::vector<std::vector<field>> out;
  while (r.next()) {
    std::vector<field> row;
    for (const auto& v : r.fields()) row.push_back(v ? field(std::string(*v)) : std::nullopt);
    out.push_back(row);
    if (lines) lines->push_back(r.line());
  }
  return out;
}

std::string error_of(const std::string& text, delimited_format f = delimited_format::csv) {
  try {
    read_all(text, f);
  } catch (const input_error& e) {
    return e.what();
  }
  return "no error";
}

TEST(load_csv, quotes_embedded_newlines_nulls_and_line_numbers) {
  std::vector<std::uint64_t> lines;
  const auto rows = read_all(
      "\xEF\xBB\xBFid,name,note\r\n"
      "1,plain,\"with, comma\"\r\n"
      "2,\"two\nlines\",\"say \"\"hi\"\"\"\n"
      "\n"
      "3,,\"\"\n"
      "4,last,x",
      delimited_format::csv, &lines);
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[0], (std::vector<field>{"id", "name", "note"}));
  EXPECT_EQ(rows[1], (std::vector<field>{"1", "plain", "with, comma"}));
  EXPECT_EQ(rows[2], (std::vector<field>{"2", "two\nlines", "say \"hi\""}));
  EXPECT_EQ(rows[3], (std::vector<field>{"3", std::nullopt, ""}));  // unquoted empty is NULL
  EXPECT_EQ(rows[4], (std::vector<field>{"4", "last", "x"}));
  EXPECT_EQ(lines, (std::vector<std::uint64_t>{1, 2, 3, 6, 7}));
}

TEST(load_csv, malformed_lines_are_named_with_their_line) {
  EXPECT_EQ(error_of("a,b\n1,\"open\n2,3\n"),
            "in.csv:2: field 2 opens a quote that is not closed before the end of the file");
  EXPECT_EQ(error_of("a,b\n1,\"x\"y\n"),
            "in.csv:2: text after the closing quote of field 2 (a quote inside a quoted field is "
            "written \"\")");
  EXPECT_NE(error_of("a,b\n1,\"x\n\"y\n")
                .find("in.csv:3: text after the closing quote of field 2, "
                      "whose quote opened on line 2"),
            std::string::npos);
  EXPECT_NE(error_of("a,b\n1,x\"y\n").find("in.csv:2: a quote inside unquoted field 2"),
            std::string::npos);
}

TEST(load_tsv, postgres_text_format) {
  const auto rows =
      read_all("1\tplain\t\\N\n2\ttab\\there\tback\\\\slash\n3\t\t\\Nx\n4\tcr\\r\\nnl\tend\r\n",
               delimited_format::tsv);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0], (std::vector<field>{"1", "plain", std::nullopt}));
  EXPECT_EQ(rows[1], (std::vector<field>{"2", "tab\there", "back\\slash"}));
  EXPECT_EQ(rows[2], (std::vector<field>{"3", "", "Nx"}));
  EXPECT_EQ(rows[3], (std::vector<field>{"4", "cr\r\nnl", "end"}));
  EXPECT_EQ(read_all("a\t\"q\"\n", delimited_format::tsv)[0], (std::vector<field>{"a", "\"q\""}));
  EXPECT_EQ(error_of("1\tx\\", delimited_format::tsv),
            "in.csv:1: a backslash at the end of the file");
}

TEST(load_reader, files_are_read_in_chunks_and_missing_ones_named) {
  char tmpl[] = "/tmp/dsql-load-test-XXXXXX";
  const int fd = ::mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  ::close(fd);
  {
    std::ofstream out(tmpl);
    // Over a reader chunk (1 MiB), with a quoted field across the boundary somewhere.
    for (int i = 0; i < 40000; ++i) out << i << ",\"a long enough, quoted\nvalue " << i << "\"\n";
  }
  delimited_reader r(tmpl, delimited_format::csv);
  std::uint64_t rows = 0, last_line = 0;
  while (r.next()) {
    ASSERT_EQ(r.fields().size(), 2u);
    ASSERT_EQ(*r.fields()[1], "a long enough, quoted\nvalue " + std::to_string(rows));
    last_line = r.line();
    ++rows;
  }
  EXPECT_EQ(rows, 40000u);
  EXPECT_EQ(last_line, 79999u);
  EXPECT_EQ(r.bytes_read(), r.size());
  std::filesystem::remove(tmpl);
  try {
    delimited_reader missing("/nonexistent/x.csv", delimited_format::csv);
    FAIL();
  } catch (const dsql::error& e) {
    EXPECT_EQ(std::string(e.what()), "cannot read '/nonexistent/x.csv': No such file or directory");
  }
  EXPECT_THROW(delimited_reader("/tmp", delimited_format::csv), dsql::error);
}

TEST(load_batches, cut_by_rows_bytes_and_parameters) {
  batch_limits l;
  detail::batch_sizer copy(l, 5, write_method::copy);
  EXPECT_EQ(copy.max_rows(), 3000u);
  EXPECT_FALSE(copy.full_for(0, 0, 100u << 20));  // an empty batch takes any row
  EXPECT_TRUE(copy.full_for(3000, 10, 10));
  EXPECT_FALSE(copy.full_for(2999, 10, 10));
  EXPECT_TRUE(copy.full_for(10, (4u << 20) - 5, 10));
  EXPECT_FALSE(copy.full_for(10, (4u << 20) - 10, 10));
  detail::batch_sizer insert(l, 30, write_method::insert);
  EXPECT_EQ(insert.max_rows(), 2184u);  // 65,535 / 30 parameters
  l.max_parameters = 10;
  EXPECT_THROW(detail::batch_sizer(l, 11, write_method::insert), config_error);
  l = {};
  l.max_rows = 0;
  EXPECT_THROW(detail::batch_sizer(l, 1, write_method::copy), config_error);
  EXPECT_THROW(detail::batch_sizer(batch_limits{}, 0, write_method::copy), config_error);
}

TEST(load_batches, copy_text_and_insert_statements) {
  std::string out;
  detail::append_copy_row(out, {std::string_view("a\tb"), std::nullopt,
                                std::string_view("c\\d\ne\r"), std::string_view("")});
  EXPECT_EQ(out, "a\\tb\t\\N\tc\\\\d\\ne\\r\t\n");
  EXPECT_EQ(detail::insert_statement("t", {"a", "\"B\""}, 2, on_conflict::do_nothing),
            "INSERT INTO t (a, \"B\") VALUES ($1, $2), ($3, $4) ON CONFLICT DO NOTHING");
  EXPECT_EQ(detail::copy_error_row("COPY items, line 17, column a: \"x\""), 17u);
  EXPECT_EQ(detail::copy_error_row("COPY items, line 3"), 3u);
  EXPECT_FALSE(detail::copy_error_row("SQL statement \"...\""));
}

TEST(load_batches, columns_are_matched_as_sql_names) {
  const std::vector<std::string> table{"id", "name", "Mixed"};
  EXPECT_EQ(detail::match_columns({}, table, "t"), (std::vector<std::size_t>{0, 1, 2}));
  EXPECT_EQ(detail::match_columns({"NAME", "\"Mixed\"", "id"}, table, "t"),
            (std::vector<std::size_t>{1, 2, 0}));
  EXPECT_EQ(detail::match_columns({"Mixed"}, table, "t"), (std::vector<std::size_t>{2}));
  try {
    detail::match_columns({"id", "nope"}, table, "t");
    FAIL();
  } catch (const config_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "column 'nope' does not exist in table t (its columns: id, name, Mixed)");
  }
  EXPECT_THROW(detail::match_columns({"id", "ID"}, table, "t"), config_error);
}

class state_file : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dsql-load-state-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    path_ = dir_ + "/state";
    id_.load_id = "abc";
    id_.file = "/data.csv";
    id_.table = "t";
    id_.format = "csv";
    id_.method = "copy";
    id_.max_rows = 2999;
    id_.max_bytes = 1000;
    id_.count_before = 7;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_, path_;
  load_identity id_;
};

TEST_F(state_file, records_batches_and_survives_a_torn_last_line) {
  {
    load_state s(path_, id_);
    EXPECT_FALSE(s.resumed());
    s.begin(id_);
    s.record({0, 10, 2, 11, "d0"});
    s.record({2, 10, 22, 31, "d2"});
  }
  std::ofstream(path_, std::ios::app) << "{\"batch\":3,\"ro";  // killed mid-write
  load_identity given = id_;
  given.max_rows = 0;  // not given again: the state's own is used
  load_state s(path_, given);
  EXPECT_TRUE(s.resumed());
  EXPECT_EQ(s.identity().load_id, "abc");
  EXPECT_EQ(s.identity().count_before, 7u);
  ASSERT_EQ(s.committed().size(), 2u);
  EXPECT_EQ(s.committed().at(2).digest, "d2");
  EXPECT_FALSE(s.complete());
}

TEST_F(state_file, another_load_or_a_second_user_is_refused) {
  {
    load_state s(path_, id_);
    s.begin(id_);
    EXPECT_THROW(load_state(path_, id_), dsql::error);  // locked by the first
  }
  load_identity other = id_;
  other.table = "u";
  try {
    load_state s(path_, other);
    FAIL();
  } catch (const dsql::error& e) {
    EXPECT_NE(std::string(e.what()).find("--table ('t' in the state, 'u' now)"), std::string::npos)
        << e.what();
  }
  std::ofstream(path_, std::ios::trunc) << "not json\n";
  EXPECT_THROW(load_state(path_, id_), dsql::error);
}

TEST_F(state_file, complete_loads_say_so) {
  {
    load_state s(path_, id_);
    s.begin(id_);
    s.mark_complete(10, 1);
  }
  EXPECT_TRUE(load_state(path_, id_).complete());
}

TEST(load_progress, line_with_rate_bytes_and_eta) {
  progress_snapshot s{50000, 1u << 20, 4u << 20, 17, 2};
  EXPECT_EQ(progress_line(s, std::chrono::seconds(2)),
            "50,000 rows, 25,000 rows/s, 1.0 MiB of 4.0 MiB, ETA 6.0 s, 17 batches, 2 retries");
  s.total_bytes = 0;
  s.retries = 0;
  EXPECT_EQ(progress_line(s, std::chrono::seconds(1)),
            "50,000 rows, 50,000 rows/s, 1.0 MiB, 17 batches");
}

}  // namespace
}  // namespace dsql::cli
