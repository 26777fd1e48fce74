// Thin RAII wrappers over the SQLite C API for the results store: every failure becomes a
// store_error that names the file, the operation and what SQLite said, with a hint for the
// cases a user can act on (locked, read-only, full disk, not a database).
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include <sqlite3.h>

#include "approxtune/runtime/config.hpp"

namespace approxtune::detail {

/** @brief "results store '<file>': <what> failed: <sqlite message> (<hint>)". */
std::string store_message(const std::filesystem::path& file, std::string_view what, int rc,
                          const char* sqlite_message);

[[noreturn]] void throw_store_error(const std::filesystem::path& file, std::string_view what,
                                    int rc, const char* sqlite_message);

/** @brief One connection. Not thread-safe (opened with SQLITE_OPEN_NOMUTEX). */
class sqlite_db {
 public:
  sqlite_db(const std::filesystem::path& file, bool writable);
  ~sqlite_db();
  sqlite_db(const sqlite_db&) = delete;
  sqlite_db& operator=(const sqlite_db&) = delete;

  sqlite3* get() const noexcept { return db_; }
  const std::filesystem::path& file() const noexcept { return file_; }
  [[noreturn]] void fail(std::string_view what, int rc) const;
  /** @brief Runs SQL without results. */
  void exec(const char* sql, std::string_view what);
  /** @brief Runs a statement returning one integer (e.g. a PRAGMA). */
  std::int64_t query_int(const char* sql, std::string_view what);
  /** @brief Runs a statement returning one text value (e.g. PRAGMA journal_mode). */
  std::string query_text(const char* sql, std::string_view what);

 private:
  std::filesystem::path file_;
  sqlite3* db_ = nullptr;
};

/** @brief A prepared statement, reused through reset(). */
class statement {
 public:
  statement(sqlite_db& db, const char* sql, std::string_view what);
  ~statement();
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;

  void bind(int i, std::int64_t v);
  void bind(int i, double v);  // NaN is stored as NULL
  void bind(int i, std::string_view v);
  void bind_null(int i);
  void bind_code(int i, std::span<const knob_index> code);  // little-endian uint16 blob
  /** @brief Steps once: true when a row is available, false when done. */
  bool step();
  void reset();

  std::int64_t int_at(int col) const { return sqlite3_column_int64(s_, col); }
  double real_at(int col) const;  // NULL -> NaN
  bool null_at(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
  std::string text_at(int col) const;
  config_code code_at(int col) const;

 private:
  sqlite_db& db_;
  sqlite3_stmt* s_ = nullptr;
  std::string what_;
};

/** @brief Columns of `evaluations` in the order `read_evaluation` expects. */
inline constexpr const char* evaluation_columns =
    "id, run_id, code, hash, split, qos, cost, status, reason, device, slot, cached, at";

/** @brief Columns of `runs` in the order `read_run` expects. */
inline constexpr const char* run_columns =
    "id, app_name, app_hash, space_hash, space, options, seed, strategy, devices, budget, "
    "relative, tuner_threshold, keep_threshold, version, status, started_at, updated_at, "
    "ended_at, resumes, message";

/** @brief Checks application id and schema version of an opened store. */
void check_schema(sqlite_db& db);

}  // namespace approxtune::detail
