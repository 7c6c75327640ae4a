#pragma once

// The state file of a resumable dsql load (--resume STATE): what the load is (table, columns,
// format, batch limits, a load id) and, a line per batch, what it committed. A run that was
// killed leaves at most a torn last line, which is ignored: the ledger rows that each batch
// writes in its own transaction (load_ledger) say what committed after the file's last line.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace dsql::cli {

struct load_identity {
  std::string load_id;
  std::string file;
  std::string table;
  std::vector<std::string> columns;  // as given (--columns or the header), empty for all
  std::string format;
  bool header = false;
  std::string method;
  std::uint64_t max_rows = 0;
  std::uint64_t max_bytes = 0;
  std::optional<std::uint64_t> count_before;  // the table's rows when the load began
};

struct committed_batch {
  std::uint64_t number = 0;
  std::uint64_t rows = 0;
  std::uint64_t first_line = 0;
  std::uint64_t last_line = 0;
  std::string digest;
};

// Not thread-safe; the load serialises its calls (batch_writer's on_commit does).
class load_state {
 public:
  // Opens `path` (created empty when it does not exist) and locks it against another dsql load.
  // Throws dsql::error when it is unreadable, malformed, locked, or describes another load than
  // `given` (naming what differs; empty fields of `given` were not given and match anything).
  load_state(const std::string& path, const load_identity& given);
  ~load_state();
  load_state(const load_state&) = delete;
  load_state& operator=(const load_state&) = delete;

  // Whether the file records a load; if not, begin() must be called before record().
  bool resumed() const noexcept { return resumed_; }
  // Writes the identity of a new load.
  void begin(const load_identity& fresh);
  const load_identity& identity() const noexcept { return identity_; }
  // What earlier runs committed, by batch number. A resumed load takes entries out as it passes
  // them, so that memory does not grow with the file.
  std::map<std::uint64_t, committed_batch>& committed() noexcept { return committed_; }
  bool complete() const noexcept { return complete_; }
  const std::string& path() const noexcept { return path_; }

  // Appends a committed batch to the file (not to committed()).
  void record(const committed_batch& b);
  void mark_complete(std::uint64_t rows, std::uint64_t batches);

 private:
  void read(const load_identity& given);
  void append_line(const std::string& line);
  std::string path_;
  int fd_ = -1;
  bool resumed_ = false;
  bool complete_ = false;
  load_identity identity_;
  std::map<std::uint64_t, committed_batch> committed_;
};

// How the identity of a resumed load must match the one asked for: the empty string when it
// does, else what differs.
std::string identity_mismatch(const load_identity& stored, const load_identity& wanted);

}  // namespace dsql::cli
