#include "store_sqlite.hpp"

#include <cmath>
#include <cstring>
#include <limits>

#include "approxtune/runtime/error.hpp"
#include "approxtune/runtime/store.hpp"

namespace approxtune::detail {

namespace {

const char* hint(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return "the store is locked by another process (another approxtune run, or a sqlite3 "
             "session holding a write transaction)";
    case SQLITE_READONLY:
      return "the file or its folder is read-only";
    case SQLITE_FULL:
      return "no space left on the disk, or the store's size cap reached; free space, then "
             "continue with --resume: what was committed is intact";
    case SQLITE_NOTADB:
      return "the file is not an SQLite database (another kind of file, or corrupt)";
    case SQLITE_CORRUPT:
      return "the file is corrupt";
    case SQLITE_CANTOPEN:
      return "the file or its folder cannot be opened (missing, or no permission)";
    case SQLITE_IOERR:
      return "an I/O error occurred (disk failure, or the file system is full or read-only)";
    case SQLITE_PERM:
      return "permission denied";
    default:
      return nullptr;
  }
}

}  // namespace

std::string store_message(const std::filesystem::path& file, std::string_view what, int rc,
                          const char* sqlite_message) {
  std::string m = "results store '" + file.string() + "': " + std::string(what) + " failed: ";
  m += sqlite_message != nullptr ? sqlite_message : sqlite3_errstr(rc);
  if (const char* h = hint(rc)) {
    m += " (";
    m += h;
    m += ")";
  }
  return m;
}

void throw_store_error(const std::filesystem::path& file, std::string_view what, int rc,
                       const char* sqlite_message) {
  throw store_error(store_message(file, what, rc, sqlite_message));
}

sqlite_db::sqlite_db(const std::filesystem::path& file, bool writable) : file_(file) {
  const int flags = (writable ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY) |
                    SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(file.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    const std::string msg = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    throw_store_error(file, "opening", rc, msg.c_str());
  }
  sqlite3_extended_result_codes(db_, 1);
}

sqlite_db::~sqlite_db() {
  // close_v2: statements are finalised by their owners first; it never fails on a busy handle.
  if (db_ != nullptr) sqlite3_close_v2(db_);
}

void sqlite_db::fail(std::string_view what, int rc) const {
  throw_store_error(file_, what, rc, sqlite3_errmsg(db_));
}

void sqlite_db::exec(const char* sql, std::string_view what) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    const std::string msg = err != nullptr ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    throw_store_error(file_, what, rc, msg.c_str());
  }
}

std::int64_t sqlite_db::query_int(const char* sql, std::string_view what) {
  statement s(*this, sql, what);
  return s.step() ? s.int_at(0) : 0;
}

std::string sqlite_db::query_text(const char* sql, std::string_view what) {
  statement s(*this, sql, what);
  return s.step() ? s.text_at(0) : std::string();
}

statement::statement(sqlite_db& db, const char* sql, std::string_view what) : db_(db), what_(what) {
  const int rc = sqlite3_prepare_v3(db.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &s_, nullptr);
  if (rc != SQLITE_OK) db.fail(what_, rc);
}

statement::~statement() { sqlite3_finalize(s_); }

void statement::bind(int i, std::int64_t v) { sqlite3_bind_int64(s_, i, v); }

void statement::bind(int i, double v) {
  if (std::isnan(v))
    sqlite3_bind_null(s_, i);
  else
    sqlite3_bind_double(s_, i, v);
}

void statement::bind(int i, std::string_view v) {
  sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}

void statement::bind_null(int i) { sqlite3_bind_null(s_, i); }

void statement::bind_code(int i, std::span<const knob_index> code) {
  // Little-endian on every platform, so a store moves between machines.
  std::string bytes(code.size() * 2, '\0');
  for (std::size_t k = 0; k < code.size(); ++k) {
    bytes[2 * k] = static_cast<char>(code[k] & 0xff);
    bytes[2 * k + 1] = static_cast<char>(code[k] >> 8);
  }
  sqlite3_bind_blob(s_, i, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
}

bool statement::step() {
  const int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  // Keep the message before reset() replaces the connection's error state.
  const std::string msg = sqlite3_errmsg(db_.get());
  sqlite3_reset(s_);
  throw_store_error(db_.file(), what_, rc, msg.c_str());
}

void statement::reset() {
  sqlite3_reset(s_);
  sqlite3_clear_bindings(s_);
}

double statement::real_at(int col) const {
  if (null_at(col)) return std::numeric_limits<double>::quiet_NaN();
  return sqlite3_column_double(s_, col);
}

std::string statement::text_at(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
  if (p == nullptr) return {};
  return std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, col)));
}

config_code statement::code_at(int col) const {
  const auto* p = static_cast<const unsigned char*>(sqlite3_column_blob(s_, col));
  const auto n = static_cast<std::size_t>(sqlite3_column_bytes(s_, col)) / 2;
  config_code c(n);
  for (std::size_t k = 0; k < n; ++k)
    c[k] = static_cast<knob_index>(p[2 * k] | (static_cast<unsigned>(p[2 * k + 1]) << 8));
  return c;
}

void check_schema(sqlite_db& db) {
  // The first read of a file that is not a database fails here with "file is not a database".
  const auto app_id = db.query_int("PRAGMA application_id", "reading the store header");
  const auto version = db.query_int("PRAGMA user_version", "reading the schema version");
  if (app_id != store_application_id)
    throw store_error("results store '" + db.file().string() +
                      "' is an SQLite database but not an approxtune results store "
                      "(application id " +
                      std::to_string(app_id) + ")");
  if (version != store_schema_version)
    throw store_error(
        "results store '" + db.file().string() + "' has schema version " + std::to_string(version) +
        ", but this approxtune reads version " + std::to_string(store_schema_version) +
        (version > store_schema_version
             ? " (it was written by a newer approxtune; use that version)"
             : " (it was written by an older approxtune; export it with that version)"));
}

}  // namespace approxtune::detail
