#include "load_state.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "dsql/errors.hpp"
#include "util/printable.hpp"
#include "util/read_file.hpp"

namespace dsql::cli {
namespace {

using nlohmann::json;

constexpr std::size_t max_state_bytes = std::size_t{256} << 20;

json to_json(const load_identity& id) {
  json j{{"dsql_load_state", 1},     {"load_id", id.load_id}, {"file", id.file},
         {"table", id.table},        {"columns", id.columns}, {"format", id.format},
         {"header", id.header},      {"method", id.method},   {"max_rows", id.max_rows},
         {"max_bytes", id.max_bytes}};
  if (id.count_before) j["count_before"] = *id.count_before;
  return j;
}

load_identity from_json(const json& j) {
  load_identity id;
  id.load_id = j.at("load_id").get<std::string>();
  id.file = j.at("file").get<std::string>();
  id.table = j.at("table").get<std::string>();
  id.columns = j.at("columns").get<std::vector<std::string>>();
  id.format = j.at("format").get<std::string>();
  id.header = j.at("header").get<bool>();
  id.method = j.at("method").get<std::string>();
  id.max_rows = j.at("max_rows").get<std::uint64_t>();
  id.max_bytes = j.at("max_bytes").get<std::uint64_t>();
  if (j.contains("count_before")) id.count_before = j.at("count_before").get<std::uint64_t>();
  return id;
}

}  // namespace

std::string identity_mismatch(const load_identity& stored, const load_identity& wanted) {
  const auto differs = [](const char* what, const std::string& a, const std::string& b) {
    return std::string(what) + " (" + util::quoted(a) + " in the state, " + util::quoted(b) +
           " now)";
  };
  if (stored.table != wanted.table) return differs("--table", stored.table, wanted.table);
  if (stored.format != wanted.format) return differs("--format", stored.format, wanted.format);
  if (stored.header != wanted.header) {
    return differs("--header", stored.header ? "on" : "off", wanted.header ? "on" : "off");
  }
  if (stored.method != wanted.method) {
    return differs("--on-conflict", stored.method, wanted.method);
  }
  if (!wanted.columns.empty() && stored.columns != wanted.columns) {
    const auto join = [](const std::vector<std::string>& v) {
      std::string s;
      for (const auto& c : v) s += (s.empty() ? "" : ",") + c;
      return s;
    };
    return differs("--columns", join(stored.columns), join(wanted.columns));
  }
  if (wanted.max_rows && stored.max_rows != wanted.max_rows) {
    return differs("--batch-rows", std::to_string(stored.max_rows),
                   std::to_string(wanted.max_rows));
  }
  if (wanted.max_bytes && stored.max_bytes != wanted.max_bytes) {
    return differs("--batch-bytes", std::to_string(stored.max_bytes),
                   std::to_string(wanted.max_bytes));
  }
  return {};
}

load_state::load_state(const std::string& path, const load_identity& given) : path_(path) {
  const auto fail = [&](const std::string& why) {
    return error("state file " + util::quoted(path) + ": " + why);
  };
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd_ < 0) throw fail(std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    throw fail(err == EWOULDBLOCK ? "another dsql load is using it" : std::strerror(err));
  }
  try {
    read(given);
  } catch (...) {
    ::close(fd_);
    fd_ = -1;
    throw;
  }
}

void load_state::read(const load_identity& given) {
  const auto fail = [&](const std::string& why) {
    return error("state file " + util::quoted(path_) + ": " + why);
  };
  util::bounded_read r = util::read_bounded_file(path_, max_state_bytes);
  if (!r.problem.empty() || !r.text) throw fail(r.problem.empty() ? "it vanished" : r.problem);
  const std::string& text = *r.text;
  if (text.find('\n') == std::string::npos) {
    // New, or a run died writing its first line, before any batch could start: begin afresh.
    if (::ftruncate(fd_, 0) != 0) throw fail(std::strerror(errno));
    return;
  }
  resumed_ = true;
  std::size_t start = 0, line = 1;
  try {
    while (start < text.size()) {
      const auto nl = text.find('\n', start);
      if (nl == std::string::npos) break;  // a torn last line from a killed run: the ledger knows
      const json j = json::parse(text.substr(start, nl - start));
      if (line == 1) {
        if (!j.contains("dsql_load_state")) throw fail("it is not a dsql load state file");
        identity_ = from_json(j);
      } else if (j.contains("complete")) {
        complete_ = true;
      } else {
        committed_batch b;
        b.number = j.at("batch").get<std::uint64_t>();
        b.rows = j.at("rows").get<std::uint64_t>();
        b.first_line = j.at("first_line").get<std::uint64_t>();
        b.last_line = j.at("last_line").get<std::uint64_t>();
        b.digest = j.at("digest").get<std::string>();
        committed_[b.number] = std::move(b);
      }
      start = nl + 1;
      ++line;
    }
  } catch (const json::exception& e) {
    throw fail("line " + std::to_string(line) + " is malformed (" + util::printable(e.what(), 200) +
               ")");
  }
  if (const std::string why = identity_mismatch(identity_, given); !why.empty()) {
    throw fail("it is the state of another load: " + why +
               "; resume with the same options, or give another state file");
  }
}

load_state::~load_state() {
  if (fd_ >= 0) ::close(fd_);
}

void load_state::append_line(const std::string& line) {
  const std::string out = line + "\n";
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::write(fd_, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      throw error("state file " + util::quoted(path_) + ": cannot write: " + std::strerror(errno));
    }
    done += static_cast<std::size_t>(n);
  }
}

void load_state::begin(const load_identity& fresh) {
  identity_ = fresh;
  append_line(to_json(identity_).dump());
  ::fdatasync(fd_);
}

void load_state::record(const committed_batch& b) {
  append_line(json{
      {"batch", b.number},
      {"rows", b.rows},
      {"first_line", b.first_line},
      {"last_line", b.last_line},
      {"digest",
       b.digest}}.dump());
}

void load_state::mark_complete(std::uint64_t rows, std::uint64_t batches) {
  append_line(json{{"complete", true}, {"rows", rows}, {"batches", batches}}.dump());
  ::fdatasync(fd_);
  complete_ = true;
}

}  // namespace dsql::cli
