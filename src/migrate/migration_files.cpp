// Finding V<version>__<name>.sql files and ordering their versions.

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include "dsql/migrate.hpp"
#include "migrate/migrate_internal.hpp"
#include "sigv4/sigv4.hpp"
#include "util/printable.hpp"
#include "util/read_file.hpp"

namespace dsql {
namespace {

// Migrations are text; a data migration of a few tens of MiB is plausible, more is a mistake.
constexpr std::size_t max_migration_bytes = std::size_t{64} << 20;

// Parts without leading zeros; trailing zero parts dropped, so that 1 and 1.0 are one version.
std::optional<std::vector<std::string>> version_parts(std::string_view v) {
  std::vector<std::string> parts;
  std::string part;
  bool in_part = false;
  for (std::size_t i = 0; i <= v.size(); ++i) {
    if (i == v.size() || v[i] == '.' || v[i] == '_') {
      if (!in_part) return std::nullopt;  // empty part: "1..2", ".1", "1_", ""
      const auto nonzero = part.find_first_not_of('0');
      parts.push_back(nonzero == std::string::npos ? "0" : part.substr(nonzero));
      part.clear();
      in_part = false;
    } else if (v[i] >= '0' && v[i] <= '9') {
      part.push_back(v[i]);
      in_part = true;
    } else {
      return std::nullopt;
    }
  }
  while (parts.size() > 1 && parts.back() == "0") parts.pop_back();
  return parts;
}

int compare_part(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  return a.compare(b) < 0 ? -1 : (a == b ? 0 : 1);
}

std::vector<std::string> checked_parts(std::string_view v) {
  auto parts = version_parts(v);
  if (!parts) {
    throw migration_error("malformed version " + util::quoted(v) +
                          ": a version is numbers separated by dots or underscores, e.g. 1, 1.2 "
                          "or 2_1");
  }
  return *parts;
}

}  // namespace

int compare_versions(std::string_view a, std::string_view b) {
  const auto pa = checked_parts(a), pb = checked_parts(b);
  for (std::size_t i = 0; i < std::max(pa.size(), pb.size()); ++i) {
    const std::string& x = i < pa.size() ? pa[i] : std::string("0");
    const std::string& y = i < pb.size() ? pb[i] : std::string("0");
    if (int c = compare_part(x, y)) return c;
  }
  return 0;
}

namespace detail {

std::string canonical_version(std::string_view v) {
  std::string out;
  for (const auto& p : checked_parts(v)) {
    if (!out.empty()) out.push_back('.');
    out += p;
  }
  return out;
}

std::optional<migration_file> parse_migration_name(const std::string& file_name) {
  if (file_name.size() < 5 || file_name[0] != 'V' ||
      file_name.compare(file_name.size() - 4, 4, ".sql") != 0) {
    return std::nullopt;
  }
  const auto sep = file_name.find("__");
  if (sep == std::string::npos || sep == 1 || sep + 2 >= file_name.size() - 4) {
    throw migration_error(util::quoted(file_name) +
                              " looks like a migration but is not named V<version>__<name>.sql "
                              "(two underscores between the version and the name)",
                          file_name);
  }
  const std::string version = file_name.substr(1, sep - 1);
  if (!version_parts(version)) {
    throw migration_error(util::quoted(file_name) + " has a malformed version " +
                              util::quoted(version) +
                              ": use numbers separated by dots or single underscores (V1__, "
                              "V1.2__, V2_1__)",
                          file_name);
  }
  migration_file f;
  f.version = canonical_version(version);
  f.name = file_name.substr(sep + 2, file_name.size() - 4 - sep - 2);
  return f;
}

std::string read_migration_text(const std::string& path) {
  util::bounded_read r = util::read_bounded_file(path, max_migration_bytes);
  if (!r.problem.empty() || !r.text) {
    throw migration_error("migration file " + util::quoted(path) + " cannot be read: " +
                              (r.text || !r.problem.empty() ? r.problem : "it does not exist"),
                          path);
  }
  return std::move(*r.text);
}

}  // namespace detail

std::vector<migration_file> find_migrations(const std::string& directory) {
  struct stat st {};
  if (directory.empty()) throw migration_error("no migration directory given");
  if (::stat(directory.c_str(), &st) != 0) {
    throw migration_error("migration directory " + util::quoted(directory) +
                          " cannot be read: " + std::strerror(errno));
  }
  if (!S_ISDIR(st.st_mode)) {
    throw migration_error("migration directory " + util::quoted(directory) + " is not a directory");
  }
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(directory.c_str()), ::closedir);
  if (!dir) {
    throw migration_error("migration directory " + util::quoted(directory) +
                          " cannot be read: " + std::strerror(errno));
  }
  std::vector<migration_file> files;
  while (const dirent* e = ::readdir(dir.get())) {
    const std::string name = e->d_name;
    auto f = detail::parse_migration_name(name);
    if (!f) continue;
    f->path = directory + (directory.back() == '/' ? "" : "/") + name;
    f->checksum = sigv4::sha256_hex(detail::read_migration_text(f->path));
    files.push_back(std::move(*f));
  }
  std::sort(files.begin(), files.end(), [](const migration_file& a, const migration_file& b) {
    return compare_versions(a.version, b.version) < 0;
  });
  for (std::size_t i = 1; i < files.size(); ++i) {
    if (compare_versions(files[i - 1].version, files[i].version) == 0) {
      throw migration_error("two migrations have version " + files[i].version + ": " +
                                util::quoted(files[i - 1].path) + " and " +
                                util::quoted(files[i].path),
                            files[i].path);
    }
  }
  return files;
}

}  // namespace dsql
