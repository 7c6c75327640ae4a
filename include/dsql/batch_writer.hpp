#pragma once

/// @file
/// Writing many rows within DSQL's limits: rows are cut into batches of at most 3,000 rows (a
/// transaction's limit), a few MiB of data (DSQL's 10 MiB counts index entries too, so the default
/// keeps a wide margin) and PostgreSQL's 65,535 parameters per statement; each batch is one
/// transaction, retried on OC000/OC001, written by workers on a dsql::pool. Batches go as
/// COPY ... FROM STDIN (what DSQL documents for loading, as psql's \\copy does), or as multi-row
/// INSERTs when conflicts are to be skipped (COPY has no ON CONFLICT).
///
/// @code
///   dsql::batch_writer_options o;
///   o.table = "orders";
///   dsql::batch_writer w(pool, o);
///   w.append({"1", "widget", std::nullopt});   // views: copied before append returns
///   w.finish();                                 // sends the rest, waits, stops the workers
///   std::cout << w.stats().rows_committed;
/// @endcode

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dsql/batch_info.hpp"
#include "dsql/connection.hpp"
#include "dsql/errors.hpp"
#include "dsql/pool.hpp"
#include "dsql/retry.hpp"

namespace dsql {

/// How big a batch may grow; a batch ends at the first limit reached. A plain value: copy it
/// freely.
struct batch_limits {
  /// DSQL: a transaction may modify at most 3,000 rows. Lower it when in_transaction writes rows.
  std::size_t max_rows = 3000;
  /// Row data per batch (as COPY text). A row larger than this goes alone in its batch.
  std::size_t max_bytes = std::size_t{4} << 20;
  /// PostgreSQL: $1..$65535 per statement (the insert method).
  std::size_t max_parameters = 65535;
};

/// How batches are sent.
enum class write_method {
  copy,    ///< COPY table (columns) FROM STDIN, one per batch
  insert,  ///< INSERT INTO table (columns) VALUES (...), (...), one per batch
};

/// What a duplicate key does to its batch.
enum class on_conflict {
  error,       ///< a duplicate key fails the batch
  do_nothing,  ///< INSERT ... ON CONFLICT DO NOTHING (insert method only)
};

/// What a batch_writer writes and how. A plain value: copy it freely (its hooks are called as
/// each says).
struct batch_writer_options {
  /// As SQL names it: orders, app.orders, "Orders". Checked, with the columns, at construction.
  std::string table;
  /// Empty: every column of the table, in order. Unquoted names fold to lower case, as in SQL
  /// (and match as written when that finds nothing, for a CSV header's "Name").
  std::vector<std::string> columns;
  batch_limits limits;                        ///< where batches are cut
  write_method method = write_method::copy;   ///< COPY, or multi-row INSERT
  on_conflict conflict = on_conflict::error;  ///< do_nothing needs the insert method
  /// Fill batch_info::digest (hashing every row costs some CPU).
  bool digests = false;
  /// Batches written at once, each on a connection of its own: give the pool at least as many.
  std::size_t workers = 2;
  /// For each batch's transaction; on_retry is called as well as the writer's own counting.
  retry_options retry;
  /// On the appending thread, when a batch is complete: false skips it (a resumed load skips
  /// what an earlier run committed). Exceptions from it propagate from append/flush.
  std::function<bool(const batch_info&)> filter;
  /// In each batch's transaction, after its rows and before COMMIT (a ledger row, for one).
  std::function<void(connection&, const batch_info&)> in_transaction;
  /// On a worker thread, after each COMMIT; calls are serialised.
  std::function<void(const batch_info&)> on_commit;
};

/// A snapshot of a batch_writer's counters. A plain value: copy it freely.
struct batch_writer_stats {
  std::uint64_t rows_appended = 0;      ///< rows given to append()
  std::uint64_t rows_committed = 0;     ///< rows in committed batches
  std::uint64_t rows_written = 0;       ///< as the server counted them
  std::uint64_t rows_skipped = 0;       ///< in batches the filter skipped
  std::uint64_t bytes_committed = 0;    ///< committed rows' size as COPY text
  std::uint64_t batches_committed = 0;  ///< batches written and committed
  std::uint64_t batches_skipped = 0;    ///< batches the filter skipped
  std::uint64_t retries = 0;            ///< batch transactions run again (conflicts, rate refusals)
  std::uint64_t batches_in_flight = 0;  ///< complete and not yet committed
};

/// Writes rows to one table in batches within DSQL's limits, on worker threads with connections
/// from a dsql::pool. Not copyable or movable.
/// Thread-safety: append, drain, flush and finish from one thread at a time; stats() from any.
class batch_writer {
 public:
  /// One row's fields, in column order, as text; std::nullopt is SQL NULL.
  using row = std::vector<std::optional<std::string_view>>;

  /// Checks the table and columns on the server (config_error when they do not exist) and starts
  /// the workers. Throws config_error for limits that cannot work.
  batch_writer(pool& p, batch_writer_options options);
  /// Stops the workers: batches being written finish; rows not yet sent are discarded. Call
  /// finish() to write everything.
  ~batch_writer();
  batch_writer(const batch_writer&) = delete;
  batch_writer& operator=(const batch_writer&) = delete;

  /// Adds a row (std::nullopt is SQL NULL), with a tag of the caller's (a line number). Blocks
  /// while every worker is busy and a batch already waits. Throws config_error for a row with
  /// the wrong number of fields, and the batch_error of a failed batch.
  void append(const row& fields, std::uint64_t tag = 0);
  /// Waits until every complete batch is committed; the batch being filled stays unsent (so an
  /// input error can stop a load without writing part of a batch). Throws a batch_error.
  void drain();
  /// Sends the batch being filled too, and waits for all of it.
  void flush();
  /// flush(), then stops the workers. Further appends throw.
  void finish();

  /// The counters at this moment; may be called from any thread.
  batch_writer_stats stats() const;
  /// As the server names them: "public.orders" may be "orders", "Orders" stays quoted.
  const std::string& table() const noexcept;
  /// The columns written, in the order of a row's fields, named as table() is.
  const std::vector<std::string>& columns() const noexcept;

 private:
  struct state;
  std::unique_ptr<state> state_;
};

}  // namespace dsql
