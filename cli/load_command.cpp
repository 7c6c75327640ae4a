// dsql load: a CSV or TSV file into a table, in batches DSQL takes (see <dsql/batch_writer.hpp>),
// with workers, progress, resumable state and a row-count check.
//
// Exactly once, with --resume: each batch's transaction also writes a row of its own to a ledger
// table (dsql_load_batches: load id, batch number, digest), so whether a batch committed is
// known even when the process died between its COMMIT and the state file's line. Tables without
// a key are therefore loaded exactly once too; nothing relies on ON CONFLICT.

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <iostream>
#include <memory>
#include <set>

#include "commands.hpp"
#include "delimited_reader.hpp"
#include "dsql/batch_writer.hpp"
#include "load_progress.hpp"
#include "load_state.hpp"
#include "output_format.hpp"
#include "util/printable.hpp"
#include "util/random_id.hpp"

namespace dsql::cli {
namespace {

constexpr const char* ledger_table = "dsql_load_batches";

struct load_cli_options {
  endpoint_args endpoint;
  std::string table;
  std::string file;
  std::string format;
  bool header = false;
  std::string columns;
  int workers = 4;
  std::string resume;
  std::string verify;
  std::string on_conflict = "error";
  std::uint64_t batch_rows = 0;
  std::uint64_t batch_bytes = 0;
};

volatile std::sig_atomic_t interrupted = 0;  // set by SIGINT or SIGTERM
extern "C" void on_interrupt(int) {
  interrupted = 1;
}

std::vector<std::string> split_columns(const std::string& text) {
  std::vector<std::string> out;
  std::string current;
  bool quoted = false;
  for (char c : text + ",") {
    if (c == '"') quoted = !quoted;
    if (c == ',' && !quoted) {
      const auto b = current.find_first_not_of(' '), e = current.find_last_not_of(' ');
      if (b == std::string::npos) {
        throw config_error("--columns " + util::quoted(text) + " has an empty column name");
      }
      out.push_back(current.substr(b, e - b + 1));
      current.clear();
    } else {
      current.push_back(c);
    }
  }
  return out;
}

std::string absolute(const std::string& path) {
  if (!path.empty() && path[0] == '/') return path;
  char cwd[4096];
  return ::getcwd(cwd, sizeof cwd) ? std::string(cwd) + "/" + path : path;
}

// Batch numbers committed by this run: the contiguous prefix plus the few ahead of it (workers
// commit out of order), so that memory does not grow with the file.
class commit_tracker {
 public:
  void add(std::uint64_t number, std::uint64_t last_line) {
    ahead_[number] = last_line;
    while (!ahead_.empty() && ahead_.begin()->first == prefix_) {
      prefix_last_line_ = ahead_.begin()->second;
      ahead_.erase(ahead_.begin());
      ++prefix_;
    }
  }
  // Batches 0..prefix()-1 are all committed (by this run or an earlier one).
  std::uint64_t prefix() const { return prefix_; }
  std::uint64_t prefix_last_line() const { return prefix_last_line_; }

 private:
  std::uint64_t prefix_ = 0;
  std::uint64_t prefix_last_line_ = 0;
  std::map<std::uint64_t, std::uint64_t> ahead_;
};

class file_load {
 public:
  explicit file_load(const load_cli_options& o) : o_(o) {}
  void run();

 private:
  void prepare_ledger(pool& p, const std::string& load_id);
  bool keep_batch(const batch_info& b);
  std::string committed_report() const;
  [[noreturn]] void stopped(const std::string& why);

  const load_cli_options& o_;
  std::unique_ptr<load_state> state_;
  std::map<std::uint64_t, std::string> ledger_;  // batch -> digest, from the ledger table
  std::mutex mutex_;
  commit_tracker tracker_;
  std::atomic<std::uint64_t> skipped_rows_{0};  // read by the progress display's thread
  std::atomic<std::uint64_t> skipped_batches_{0};
  std::unique_ptr<batch_writer> writer_;
};

void file_load::prepare_ledger(pool& p, const std::string& load_id) {
  const auto there = [&] {
    return exec_with_retry(p, "SELECT to_regclass($1) IS NOT NULL", {ledger_table}).value(0, 0) ==
           "t";
  };
  if (!there()) {
    try {
      run_transaction(p, [](connection& c) {
        c.exec(std::string("CREATE TABLE IF NOT EXISTS ") + ledger_table +
               " (load_id text NOT NULL, batch bigint NOT NULL, rows integer NOT NULL, digest "
               "text NOT NULL, committed_at timestamptz NOT NULL, PRIMARY KEY (load_id, batch))");
      });
    } catch (const sql_error& e) {
      // Another load may have created it at the same moment (PostgreSQL then reports a
      // duplicate); anything else, such as a missing CREATE privilege, is the user's to fix.
      if (!there()) {
        throw error(std::string("--resume needs the ledger table ") + ledger_table +
                    ", which could not be created: " + e.what() +
                    " (a role with CREATE on the schema can create it once)");
      }
    }
  }
  const result r = exec_with_retry(
      p, std::string("SELECT batch, digest FROM ") + ledger_table + " WHERE load_id = $1",
      {load_id});
  for (std::size_t i = 0; i < r.rows(); ++i) {
    ledger_[std::stoull(std::string(r.value(i, 0)))] = std::string(r.value(i, 1));
  }
}

// The filter: a batch an earlier run committed is skipped, once its rows are checked unchanged.
bool file_load::keep_batch(const batch_info& b) {
  std::string digest;
  if (state_) {
    auto& committed = state_->committed();
    if (auto it = committed.find(b.number); it != committed.end()) {
      digest = it->second.digest;
      committed.erase(it);
    }
  }
  const auto in_ledger = ledger_.find(b.number);
  const bool only_in_ledger = digest.empty() && in_ledger != ledger_.end();
  if (in_ledger != ledger_.end()) {
    digest = in_ledger->second;
    ledger_.erase(in_ledger);
  }
  if (digest.empty()) return true;
  if (digest != b.digest) {
    throw error(util::printable(o_.file) + ":" + std::to_string(b.first_tag) + ": lines " +
                std::to_string(b.first_tag) + " to " + std::to_string(b.last_tag) +
                " were loaded by an earlier run and differ now: the file changed before the "
                "point the load had reached; restore it, or load it afresh with a new state file");
  }
  std::lock_guard<std::mutex> lock(mutex_);
  if (only_in_ledger) state_->record({b.number, b.rows, b.first_tag, b.last_tag, b.digest});
  tracker_.add(b.number, b.last_tag);
  skipped_rows_ += b.rows;
  ++skipped_batches_;
  return false;
}

std::string file_load::committed_report() const {
  const batch_writer_stats s = writer_->stats();
  if (s.batches_committed == 0 && skipped_batches_ == 0) return "nothing was committed";
  std::string report = thousands(s.batches_committed) + " batches (" + thousands(s.rows_committed) +
                       " rows) were committed by this run";
  if (skipped_batches_) {
    report += ", " + thousands(skipped_batches_) + " by an earlier one";
  }
  if (tracker_.prefix() > 0) {
    report +=
        "; every row up to line " + std::to_string(tracker_.prefix_last_line()) + " is loaded";
  }
  report += state_ ? "; run the same command again to resume (--resume " +
                         util::printable(o_.resume) + ")"
                   : "; without --resume this load cannot be resumed: remove those rows before "
                     "loading again, or use --resume next time";
  return report;
}

void file_load::stopped(const std::string& why) {
  throw error(why + "; nothing of an incomplete batch was written; " + committed_report());
}

void file_load::run() {
  if (o_.table.empty()) throw config_error("--table is empty: give the table to load into");
  if (o_.file.empty()) throw config_error("--file is empty: give the CSV or TSV file to load");
  std::string format = o_.format;
  if (format.empty()) {
    const auto dot = o_.file.rfind('.');
    const std::string ext = dot == std::string::npos ? "" : o_.file.substr(dot + 1);
    format = ext == "tsv" || ext == "tab" ? "tsv" : "csv";
  }
  if (o_.workers < 1 || o_.workers > 64) throw config_error("--workers must be between 1 and 64");
  if (!o_.verify.empty() && o_.verify != "count") {
    throw config_error("--verify " + util::quoted(o_.verify) + " is not supported: use count");
  }
  const bool skip_conflicts = o_.on_conflict == "do-nothing";
  delimited_reader reader(o_.file, format == "tsv" ? delimited_format::tsv : delimited_format::csv);

  std::vector<std::string> columns =
      o_.columns.empty() ? std::vector<std::string>() : split_columns(o_.columns);
  if (o_.header && reader.next() && columns.empty()) {
    for (const auto& f : reader.fields()) {
      if (!f || f->empty()) {
        throw input_error(util::printable(o_.file) + ":" + std::to_string(reader.line()) +
                              ": the header has an empty column name",
                          o_.file, reader.line());
      }
      columns.emplace_back(*f);
    }
  }

  std::string region_warning;
  const config cfg = endpoint_config(o_.endpoint, region_warning);
  pool_options po;
  po.max_size = static_cast<std::size_t>(o_.workers) + 1;
  pool p(cfg, po);

  load_identity given;
  given.file = absolute(o_.file);
  given.table = o_.table;
  given.columns = columns;
  given.format = format;
  given.header = o_.header;
  given.method = skip_conflicts ? "insert-do-nothing" : "copy";
  given.max_rows = o_.batch_rows;
  given.max_bytes = o_.batch_bytes;
  const bool resumable = !o_.resume.empty();
  batch_limits limits;
  // With the ledger, each transaction writes one row more than its batch.
  limits.max_rows = o_.batch_rows ? o_.batch_rows : (resumable ? 2999 : 3000);
  if (o_.batch_bytes) limits.max_bytes = o_.batch_bytes;
  if (limits.max_rows > 3000 - (resumable ? 1 : 0)) {
    throw config_error("--batch-rows may be at most " + std::to_string(resumable ? 2999 : 3000) +
                       (resumable ? " with --resume (the ledger row makes 3,000, DSQL's limit)"
                                  : " (DSQL's limit per transaction)"));
  }

  const auto count_rows = [&](const std::string& table) {
    return std::stoull(
        std::string(exec_with_retry(p, "SELECT count(*) FROM " + table).value(0, 0)));
  };
  // An existing state decides the batch limits, so it is read before the writer is made; a new
  // one is written only once the table and columns are known to be right.
  if (resumable) {
    state_ = std::make_unique<load_state>(o_.resume, given);
    if (state_->resumed()) {
      if (state_->complete()) {
        std::cout << "The load recorded in " << util::printable(o_.resume)
                  << " is complete; nothing to do\n";
        return;
      }
      limits.max_rows = state_->identity().max_rows;
      limits.max_bytes = state_->identity().max_bytes;
    }
  }

  batch_writer_options wo;
  wo.table = o_.table;
  wo.columns = columns;
  wo.limits = limits;
  wo.workers = static_cast<std::size_t>(o_.workers);
  if (skip_conflicts) {
    wo.method = write_method::insert;
    wo.conflict = on_conflict::do_nothing;
  }
  if (resumable) {
    wo.digests = true;
    wo.filter = [this](const batch_info& b) { return keep_batch(b); };
    wo.in_transaction = [this](connection& c, const batch_info& b) {
      c.exec_params(
          std::string("INSERT INTO ") + ledger_table +
              " (load_id, batch, rows, digest, committed_at) VALUES ($1, $2, $3, $4, "
              "now())",
          {state_->identity().load_id, std::to_string(b.number), std::to_string(b.rows), b.digest});
    };
  }
  wo.on_commit = [this](const batch_info& b) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (state_) state_->record({b.number, b.rows, b.first_tag, b.last_tag, b.digest});
    tracker_.add(b.number, b.last_tag);
  };
  writer_ = std::make_unique<batch_writer>(p, wo);

  std::optional<std::uint64_t> count_before;
  if (state_ && state_->resumed()) {
    count_before = state_->identity().count_before;
  } else if (o_.verify == "count") {
    count_before = count_rows(writer_->table());
  }
  if (state_ && !state_->resumed()) {
    load_identity fresh = given;
    fresh.load_id = util::random_id();
    fresh.max_rows = limits.max_rows;
    fresh.max_bytes = limits.max_bytes;
    fresh.count_before = count_before;
    state_->begin(fresh);
  }
  if (state_) prepare_ledger(p, state_->identity().load_id);
  if (o_.verify == "count" && !count_before) {
    throw config_error(
        "--verify count needs the table's row count from before the load, and "
        "the state file does not have it (the load began without --verify)");
  }

  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sa.sa_flags = SA_RESETHAND;  // a second Ctrl-C ends the process at once
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  const auto start = std::chrono::steady_clock::now();
  std::atomic<std::uint64_t> bytes_read{0};
  progress_display progress(
      [&] {
        const batch_writer_stats s = writer_->stats();
        return progress_snapshot{s.rows_committed + skipped_rows_, bytes_read.load(), reader.size(),
                                 s.batches_committed, s.retries};
      },
      ::isatty(2) != 0);

  const std::size_t expected = writer_->columns().size();
  try {
    while (!interrupted && reader.next()) {
      const auto& fields = reader.fields();
      if (fields.size() != expected) {
        throw input_error(util::printable(o_.file) + ":" + std::to_string(reader.line()) + ": " +
                              std::to_string(fields.size()) +
                              (fields.size() == 1 ? " field" : " fields") + ", expected " +
                              std::to_string(expected) + " (one per column of " +
                              util::printable(writer_->table()) + " loaded)",
                          o_.file, reader.line());
      }
      writer_->append(fields, reader.line());
      bytes_read = reader.bytes_read();
    }
    if (interrupted) {
      writer_->drain();
      progress.stop();
      stopped("interrupted");
    }
    writer_->finish();
  } catch (const input_error& e) {
    try {
      writer_->drain();
    } catch (const batch_error&) {
    }
    progress.stop();
    stopped(e.what());
  } catch (const batch_error& e) {
    progress.stop();
    const std::uint64_t line = e.row_tag() ? *e.row_tag() : e.batch().first_tag;
    stopped(util::printable(o_.file) + ":" + std::to_string(line) + ": " +
            (e.row_tag() ? ""
                         : "the batch of lines " + std::to_string(e.batch().first_tag) + " to " +
                               std::to_string(e.batch().last_tag) + ": ") +
            e.what());
  }
  progress.stop();
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  const batch_writer_stats s = writer_->stats();
  if (state_) state_->mark_complete(s.rows_appended, s.batches_committed + skipped_batches_);
  const double seconds = std::max(0.001, static_cast<double>(elapsed.count()) / 1000.0);
  std::cout
      << "Loaded " << thousands(s.rows_committed) << " rows into "
      << util::printable(writer_->table()) << " in " << thousands(s.batches_committed)
      << " batches (" << thousands(s.retries) << (s.retries == 1 ? " retry" : " retries") << ") in "
      << duration_text(elapsed) << ": "
      << thousands(static_cast<std::uint64_t>(static_cast<double>(s.rows_committed) / seconds))
      << " rows/s, "
      << bytes_text(static_cast<std::uint64_t>(static_cast<double>(s.bytes_committed) / seconds))
      << "/s\n";
  if (skipped_batches_) {
    std::cout << "Skipped " << thousands(skipped_batches_) << " batches ("
              << thousands(skipped_rows_) << " rows) an earlier run had committed\n";
  }
  if (skip_conflicts && s.rows_written != s.rows_committed) {
    std::cout << "The server skipped " << thousands(s.rows_committed - s.rows_written)
              << " rows whose key was already there (--on-conflict do-nothing)\n";
  }
  if (o_.verify == "count") {
    const std::uint64_t after = count_rows(writer_->table());
    const std::uint64_t wanted = *count_before + s.rows_appended;
    if (after != wanted) {
      throw error("--verify count: " + util::printable(writer_->table()) + " has " +
                  thousands(after) + " rows, expected " + thousands(wanted) + " (" +
                  thousands(*count_before) + " before the load and " + thousands(s.rows_appended) +
                  " in the file)");
    }
    std::cout << "Verified: " << util::printable(writer_->table()) << " has " << thousands(after)
              << " rows (" << thousands(*count_before) << " before the load and "
              << thousands(s.rows_appended) << " in the file)\n";
  }
  print_warning(region_warning);
}

}  // namespace

void register_load_command(CLI::App& app, const global_options& /*globals*/) {
  auto opts = std::make_shared<load_cli_options>();
  CLI::App* cmd = app.add_subcommand(
      "load",
      "Load a CSV or TSV file into a table in batches DSQL takes (at most 3,000 rows each, "
      "retried on conflicts), with workers, progress and resumable state");
  add_endpoint_options(cmd, opts->endpoint);
  cmd->add_option("--table,-t", opts->table, "Table to load into ([schema.]name)")->required();
  cmd->add_option("--file,-f", opts->file, "CSV or TSV file")->required();
  cmd->add_option("--format", opts->format,
                  "csv or tsv (default: from the file's extension, else csv)")
      ->check(CLI::IsMember({"csv", "tsv"}));
  cmd->add_flag("--header", opts->header,
                "The first line names the columns (skipped when --columns is given)");
  cmd->add_option("--columns", opts->columns,
                  "Columns the fields go to, in order, comma-separated (default: the header, "
                  "else all of the table's)");
  cmd->add_option("--workers,-j", opts->workers, "Batches written at once")->capture_default_str();
  cmd->add_option("--resume", opts->resume,
                  "State file: created if missing, else the load it records is resumed");
  cmd->add_option("--verify", opts->verify, "count: compare the table's row count at the end");
  cmd->add_option("--on-conflict", opts->on_conflict,
                  "error (COPY), or do-nothing (INSERT ... ON CONFLICT DO NOTHING)")
      ->check(CLI::IsMember({"error", "do-nothing"}))
      ->capture_default_str();
  cmd->add_option("--batch-rows", opts->batch_rows,
                  "Rows per batch (default 3,000; 2,999 with --resume)");
  cmd->add_option("--batch-bytes", opts->batch_bytes, "Bytes of data per batch (default 4 MiB)");
  cmd->callback([opts] { file_load(*opts).run(); });
}

}  // namespace dsql::cli
