#include "dsql/batch_writer.hpp"

#include <libpq-fe.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "batch/batch_encoding.hpp"
#include "server_error.hpp"
#include "sigv4/sigv4.hpp"
#include "util/printable.hpp"

namespace dsql {
namespace {

struct pending_batch {
  batch_info info;
  std::string data;                                // the rows as COPY text
  std::vector<std::optional<std::string>> values;  // the insert method's parameters
  std::vector<std::uint64_t> tags;
};

}  // namespace

struct batch_writer::state {
  state(pool& p, batch_writer_options opts) : pool_(p), o(std::move(opts)) {}

  pool& pool_;
  batch_writer_options o;
  std::string table;
  std::vector<std::string> columns;  // quoted as the server quotes them
  std::string copy_sql;
  std::optional<detail::batch_sizer> sizer;

  // The appending thread's own.
  pending_batch current;
  std::string scratch;
  std::uint64_t next_number = 0;
  std::uint64_t rows_appended = 0;
  std::atomic<std::uint64_t> rows_appended_shared{0};  // for stats() on other threads
  bool finished = false;

  mutable std::mutex mutex;
  std::condition_variable work_cv;  // a batch to write, or stop
  std::condition_variable done_cv;  // a batch done, or room in the queue
  std::deque<pending_batch> queue;
  std::size_t in_flight = 0;
  bool stopping = false;
  std::exception_ptr failure;
  batch_writer_stats stats;
  std::mutex commit_mutex;  // on_commit calls one at a time
  std::vector<std::thread> threads;

  void resolve_table();
  void seal();
  void worker();
  void write(pending_batch& b);
  std::size_t copy_rows(connection& c, const pending_batch& b, std::optional<std::size_t>& row);
  void rethrow_error() {
    std::lock_guard<std::mutex> lock(mutex);
    if (failure) std::rethrow_exception(failure);
  }
  void stop_workers() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stopping = true;
      queue.clear();
    }
    work_cv.notify_all();
    done_cv.notify_all();
    for (auto& t : threads) {
      if (t.joinable()) t.join();
    }
    threads.clear();
  }
};

void batch_writer::state::resolve_table() {
  if (o.table.empty()) throw config_error("batch_writer_options.table is empty");
  result r;
  try {
    r = exec_with_retry(pool_,
                        "SELECT c.oid::regclass::text, a.attname, quote_ident(a.attname) FROM "
                        "pg_class c JOIN pg_attribute a ON a.attrelid = c.oid WHERE c.oid = "
                        "to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
                        {o.table}, o.retry);
  } catch (const sql_error& e) {
    throw config_error("table " + util::quoted(o.table) + ": " + e.what());
  }
  if (r.rows() == 0) {
    throw config_error("table " + util::quoted(o.table) +
                       " does not exist (or is not on this connection's search_path)");
  }
  table = std::string(r.value(0, 0));
  std::vector<std::string> names, quoted;
  for (std::size_t i = 0; i < r.rows(); ++i) {
    names.emplace_back(r.value(i, 1));
    quoted.emplace_back(r.value(i, 2));
  }
  for (std::size_t i : detail::match_columns(o.columns, names, table)) columns.push_back(quoted[i]);
  copy_sql = "COPY " + table + " (";
  for (std::size_t i = 0; i < columns.size(); ++i) copy_sql += (i ? ", " : "") + columns[i];
  copy_sql += ") FROM STDIN";
}

void batch_writer::state::seal() {
  if (current.info.rows == 0) return;
  current.info.bytes = current.data.size();
  if (o.digests) current.info.digest = sigv4::sha256_hex(current.data);
  current.info.number = next_number++;
  pending_batch b = std::move(current);
  current = pending_batch{};
  if (o.filter && !o.filter(b.info)) {
    std::lock_guard<std::mutex> lock(mutex);
    ++stats.batches_skipped;
    stats.rows_skipped += b.info.rows;
    return;
  }
  std::unique_lock<std::mutex> lock(mutex);
  // Backpressure: one batch waits per worker at most, so memory stays bounded by the workers.
  done_cv.wait(lock, [&] { return queue.size() < o.workers || failure || stopping; });
  if (failure) std::rethrow_exception(failure);
  if (stopping) throw dsql::error("batch_writer: the workers have stopped");
  queue.push_back(std::move(b));
  work_cv.notify_one();
}

void batch_writer::state::worker() {
  for (;;) {
    pending_batch b;
    {
      std::unique_lock<std::mutex> lock(mutex);
      work_cv.wait(lock, [&] { return !queue.empty() || stopping; });
      if (queue.empty()) return;
      b = std::move(queue.front());
      queue.pop_front();
      ++in_flight;
    }
    try {
      write(b);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex);
      if (!failure) failure = std::current_exception();
      queue.clear();  // nothing more starts once a batch has failed
    }
    {
      std::lock_guard<std::mutex> lock(mutex);
      --in_flight;
    }
    done_cv.notify_all();
  }
}

std::size_t batch_writer::state::copy_rows(connection& c, const pending_batch& b,
                                           std::optional<std::size_t>& row) {
  PGconn* pg = c.raw();
  {
    result start(PQexec(pg, copy_sql.c_str()));
    if (PQresultStatus(start.raw()) != PGRES_COPY_IN) detail::throw_result_error(pg, start.raw());
  }
  if (PQputCopyData(pg, b.data.data(), static_cast<int>(b.data.size())) != 1 ||
      PQputCopyEnd(pg, nullptr) != 1) {
    throw connection_error("connection lost while sending a batch: " +
                           util::printable(PQerrorMessage(pg), 300, util::whitespace::collapse));
  }
  result end(PQgetResult(pg));
  while (PGresult* extra = PQgetResult(pg)) PQclear(extra);
  if (PQresultStatus(end.raw()) != PGRES_COMMAND_OK) {
    if (const char* context = PQresultErrorField(end.raw(), PG_DIAG_CONTEXT)) {
      row = detail::copy_error_row(context);
    }
    detail::throw_result_error(pg, end.raw());
  }
  return end.affected_rows();
}

void batch_writer::state::write(pending_batch& b) {
  int attempts = 0;
  std::optional<std::size_t> failed_row;
  retry_options retry = o.retry;
  retry.on_retry = [this, user = o.retry.on_retry](const retry_event& e) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      ++stats.retries;
    }
    if (user) user(e);
  };
  try {
    run_transaction(
        pool_,
        [&](connection& c) {
          ++attempts;
          failed_row.reset();
          b.info.rows_written =
              o.method == write_method::copy
                  ? copy_rows(c, b, failed_row)
                  : c.exec_params(detail::insert_statement(table, columns, b.info.rows, o.conflict),
                                  b.values)
                        .affected_rows();
          if (o.in_transaction) o.in_transaction(c, b.info);
        },
        retry);
  } catch (const std::exception& e) {
    const auto* sql = dynamic_cast<const sql_error*>(&e);
    std::optional<std::uint64_t> tag;
    if (failed_row && *failed_row <= b.tags.size()) tag = b.tags[*failed_row - 1];
    throw batch_error("batch " + std::to_string(b.info.number + 1) + " (rows " +
                          std::to_string(b.info.first_row + 1) + " to " +
                          std::to_string(b.info.first_row + b.info.rows) +
                          ") was not written: " + e.what(),
                      b.info, tag, sql ? server_diagnostics(*sql) : server_diagnostics());
  }
  b.info.attempts = attempts;
  {
    std::lock_guard<std::mutex> lock(mutex);
    ++stats.batches_committed;
    stats.rows_committed += b.info.rows;
    stats.rows_written += b.info.rows_written;
    stats.bytes_committed += b.info.bytes;
  }
  if (o.on_commit) {
    std::lock_guard<std::mutex> lock(commit_mutex);
    o.on_commit(b.info);
  }
}

batch_writer::batch_writer(pool& p, batch_writer_options options)
    : state_(std::make_unique<state>(p, std::move(options))) {
  state& s = *state_;
  if (s.o.workers == 0 || s.o.workers > 256) {
    throw config_error("batch_writer_options.workers must be between 1 and 256");
  }
  if (s.o.conflict == on_conflict::do_nothing && s.o.method == write_method::copy) {
    throw config_error(
        "on_conflict::do_nothing needs write_method::insert: COPY cannot skip conflicts");
  }
  validate(s.o.retry);
  s.resolve_table();
  s.sizer.emplace(s.o.limits, s.columns.size(), s.o.method);
  for (std::size_t i = 0; i < s.o.workers; ++i) s.threads.emplace_back([&s] { s.worker(); });
}

batch_writer::~batch_writer() {
  state_->stop_workers();
}

void batch_writer::append(const row& fields, std::uint64_t tag) {
  state& s = *state_;
  if (s.finished) throw error("batch_writer: append after finish()");
  s.rethrow_error();
  if (fields.size() != s.columns.size()) {
    throw config_error("a row of " + std::to_string(fields.size()) + " fields for " +
                       std::to_string(s.columns.size()) + " columns");
  }
  s.scratch.clear();
  detail::append_copy_row(s.scratch, fields);
  if (s.sizer->full_for(s.current.info.rows, s.current.data.size(), s.scratch.size())) s.seal();
  pending_batch& b = s.current;
  if (b.info.rows == 0) {
    b.info.first_row = s.rows_appended;
    b.info.first_tag = tag;
  }
  b.data += s.scratch;
  if (s.o.method == write_method::insert) {
    for (const auto& f : fields) {
      b.values.push_back(f ? std::optional<std::string>(std::string(*f)) : std::nullopt);
    }
  }
  b.tags.push_back(tag);
  b.info.last_tag = tag;
  ++b.info.rows;
  ++s.rows_appended;
  s.rows_appended_shared.store(s.rows_appended, std::memory_order_relaxed);
  if (b.info.rows >= s.sizer->max_rows()) s.seal();
}

void batch_writer::drain() {
  state& s = *state_;
  std::unique_lock<std::mutex> lock(s.mutex);
  s.done_cv.wait(lock, [&] { return (s.queue.empty() && s.in_flight == 0) || s.failure; });
  if (s.failure) {
    // Let the batches already being written finish, so that what is committed is known.
    s.done_cv.wait(lock, [&] { return s.in_flight == 0; });
    std::rethrow_exception(s.failure);
  }
}

void batch_writer::flush() {
  state_->rethrow_error();
  state_->seal();
  drain();
}

void batch_writer::finish() {
  if (state_->finished) return;
  flush();
  state_->finished = true;
  state_->stop_workers();
}

batch_writer_stats batch_writer::stats() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  batch_writer_stats s = state_->stats;
  s.rows_appended = state_->rows_appended_shared.load(std::memory_order_relaxed);
  s.batches_in_flight = state_->queue.size() + state_->in_flight;
  return s;
}

const std::string& batch_writer::table() const noexcept {
  return state_->table;
}

const std::vector<std::string>& batch_writer::columns() const noexcept {
  return state_->columns;
}

}  // namespace dsql
