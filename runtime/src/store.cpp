// The results store's writer: schema creation and checks, runs, and the writer thread that
// drains the evaluation queue into batched transactions.
#include "approxtune/runtime/store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

#include "approxtune/runtime/error.hpp"
#include "approxtune/runtime/logging.hpp"
#include "store_sqlite.hpp"

#ifndef APPROXTUNE_VERSION
#define APPROXTUNE_VERSION "unknown"
#endif

namespace approxtune {

namespace {

using detail::sqlite_db;
using detail::statement;

constexpr const char* schema_sql = R"sql(
CREATE TABLE runs(
  id INTEGER PRIMARY KEY,
  app_name TEXT NOT NULL,
  app_hash INTEGER NOT NULL,
  space_hash INTEGER NOT NULL,
  space TEXT NOT NULL,
  options TEXT NOT NULL,
  seed INTEGER NOT NULL,
  strategy TEXT NOT NULL,
  devices TEXT NOT NULL,
  budget INTEGER NOT NULL,
  relative INTEGER NOT NULL,
  tuner_threshold REAL NOT NULL,
  keep_threshold REAL NOT NULL,
  version TEXT NOT NULL,
  status TEXT NOT NULL,
  started_at REAL NOT NULL,
  updated_at REAL NOT NULL,
  ended_at REAL,
  resumes INTEGER NOT NULL DEFAULT 0,
  message TEXT NOT NULL DEFAULT '',
  tune_rows INTEGER NOT NULL DEFAULT 0,
  test_rows INTEGER NOT NULL DEFAULT 0,
  failed_rows INTEGER NOT NULL DEFAULT 0,
  cached_rows INTEGER NOT NULL DEFAULT 0,
  first_at REAL,
  last_at REAL);
CREATE TABLE evaluations(
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id),
  code BLOB NOT NULL,
  hash INTEGER NOT NULL,
  split INTEGER NOT NULL,
  qos REAL,
  cost REAL,
  status INTEGER NOT NULL,
  reason TEXT,
  device TEXT NOT NULL,
  slot INTEGER NOT NULL,
  cached INTEGER NOT NULL,
  at REAL NOT NULL);
CREATE INDEX evaluations_run ON evaluations(run_id);
)sql";

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::filesystem::path lock_dir(const std::filesystem::path& file) {
  auto p = file.parent_path();
  return p.empty() ? std::filesystem::path(".") : p;
}

// Hashes are unsigned 64-bit; SQLite integers are signed 64-bit: store the same bits.
std::int64_t to_sql(std::uint64_t v) { return static_cast<std::int64_t>(v); }

}  // namespace

std::filesystem::path store_file(const std::filesystem::path& dir) { return dir / "results.db"; }

const char* to_string(run_status s) noexcept {
  switch (s) {
    case run_status::running:
      return "running";
    case run_status::finished:
      return "finished";
    case run_status::interrupted:
      return "interrupted";
    case run_status::failed:
      return "failed";
  }
  return "unknown";
}

nlohmann::json describe_space(const knob_space& space) {
  auto out = nlohmann::json::array();
  for (const auto& o : space.ops()) {
    auto names = nlohmann::json::array();
    for (const auto& k : o.knobs) names.push_back(k.name());
    out.push_back({{"op", o.op}, {"knobs", std::move(names)}});
  }
  return out;
}

knob_map decode_with(const nlohmann::json& space, std::span<const knob_index> code) {
  if (!space.is_array() || space.size() != code.size())
    throw store_error("stored configuration has " + std::to_string(code.size()) +
                      " ops but the stored knob space has " + std::to_string(space.size()));
  knob_map m;
  for (std::size_t i = 0; i < code.size(); ++i) {
    const auto& knobs = space[i].at("knobs");
    if (code[i] >= knobs.size())
      throw store_error("stored configuration has knob index " + std::to_string(code[i]) +
                        " for op '" + space[i].at("op").get<std::string>() + "', which has " +
                        std::to_string(knobs.size()) + " knobs");
    m[space[i].at("op").get<std::string>()] = knobs[code[i]].get<std::string>();
  }
  return m;
}

/** One queued evaluation. */
struct results_store::row {
  std::int64_t run_id;
  config_code code;
  std::uint64_t hash;
  split on;
  double qos, cost;
  eval_status status;
  std::string reason, device;
  int slot;
  bool cached;
  double at;
};

struct results_store::impl {
  int lock_fd = -1;
  std::unique_ptr<sqlite_db> db;
  std::unique_ptr<statement> insert, touch;
  // Guards the connection: the writer thread and the owner's run management share it.
  std::mutex db_mutex;
  std::vector<row> spare;  // the writer's drained batch, reused to avoid reallocations

  ~impl() {
    insert.reset();
    touch.reset();
    db.reset();
    // Only after the connection is closed: the folder lock is what keeps a second writer out.
    if (lock_fd >= 0) ::close(lock_fd);
  }
};

results_store::results_store(const std::filesystem::path& file, store_options options)
    : file_(file), options_(options), impl_(std::make_unique<impl>()) {
  if (options_.batch_rows == 0) options_.batch_rows = 1;
  // One writer per run folder: an advisory lock on the folder (not on the database file,
  // whose POSIX locks SQLite owns and which any close() of another descriptor would drop).
  // `store_writer_active` probes it with a shared lock; retry briefly so a probe never makes
  // a starting writer fail.
  const auto dir = lock_dir(file);
  impl_->lock_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (impl_->lock_fd < 0)
    throw store_error("results store '" + file.string() + "': cannot open its folder '" +
                      dir.string() + "': " + std::strerror(errno));
  bool locked = false;
  for (int attempt = 0; attempt < 50 && !locked; ++attempt) {
    if (::flock(impl_->lock_fd, LOCK_EX | LOCK_NB) == 0)
      locked = true;
    else
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (!locked)
    throw store_error("results store '" + file.string() +
                      "' is locked: another approxtune process is writing to this run folder "
                      "(use 'approxtune show' to follow it)");

  impl_->db = std::make_unique<sqlite_db>(file, true);
  sqlite_db& db = *impl_->db;
  if (sqlite3_db_readonly(db.get(), "main") == 1)
    throw store_error("results store '" + file.string() +
                      "' is read-only (attempt to write a readonly database); it can be shown and "
                      "exported but not written");
  sqlite3_busy_timeout(db.get(), static_cast<int>(options_.busy_timeout.count()));

  const auto tables = db.query_int("SELECT count(*) FROM sqlite_master", "reading the schema");
  const auto app_id = db.query_int("PRAGMA application_id", "reading the store header");
  if (tables == 0 && app_id == 0) {
    // A new (or empty) file. WAL must be set outside a transaction; the schema goes in one.
    const auto mode = db.query_text("PRAGMA journal_mode=WAL", "switching to WAL mode");
    if (mode != "wal")
      throw store_error("results store '" + file.string() +
                        "': the file system does not support WAL mode (journal mode is '" + mode +
                        "')");
    db.exec("BEGIN IMMEDIATE", "creating the schema");
    try {
      db.exec(schema_sql, "creating the schema");
      db.exec(("PRAGMA application_id=" + std::to_string(store_application_id)).c_str(),
              "creating the schema");
      db.exec(("PRAGMA user_version=" + std::to_string(store_schema_version)).c_str(),
              "creating the schema");
      db.exec("COMMIT", "creating the schema");
    } catch (...) {
      sqlite3_exec(db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  } else {
    detail::check_schema(db);
    const auto mode = db.query_text("PRAGMA journal_mode=WAL", "switching to WAL mode");
    if (mode != "wal")
      throw store_error("results store '" + file.string() +
                        "': cannot use WAL mode (journal mode '" + mode + "')");
  }
  // In WAL mode NORMAL syncs at checkpoints, not at each commit: a commit is durable against
  // the process dying (kill -9), and only an OS crash can lose the last commits, never corrupt.
  db.exec("PRAGMA synchronous=NORMAL", "setting synchronous=NORMAL");
  if (options_.max_pages > 0)
    db.exec(("PRAGMA max_page_count=" + std::to_string(options_.max_pages)).c_str(),
            "setting the size cap");

  impl_->insert = std::make_unique<statement>(
      db,
      "INSERT INTO evaluations(run_id, code, hash, split, qos, cost, status, reason, device, "
      "slot, cached, at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
      "preparing the evaluation insert");
  // Progress counters live in the run's row, updated in the same transaction as the rows they
  // count: `show` reads them in O(1) and they can never disagree with the committed rows.
  impl_->touch = std::make_unique<statement>(
      db,
      "UPDATE runs SET updated_at=?1, tune_rows=tune_rows+?3, test_rows=test_rows+?4, "
      "failed_rows=failed_rows+?5, cached_rows=cached_rows+?6, first_at=coalesce(first_at, ?7), "
      "last_at=?1 WHERE id=?2",
      "preparing the run update");
  writer_ = std::thread([this] { writer_loop(); });
}

results_store::~results_store() {
  {
    std::lock_guard lk(mutex_);
    stopping_ = true;
  }
  wake_writer_.notify_all();
  room_.notify_all();
  // A write failure was logged by the writer when it happened.
  if (writer_.joinable()) writer_.join();
}

std::vector<run_record> results_store::runs() {
  std::lock_guard lk(impl_->db_mutex);
  // The reader's query, on this connection (a second connection would work too).
  store_reader r(file_);
  return r.runs();
}

std::int64_t results_store::begin_run(const run_info& info) {
  throw_if_failed();
  std::lock_guard lk(impl_->db_mutex);
  statement s(*impl_->db,
              "INSERT INTO runs(app_name, app_hash, space_hash, space, options, seed, strategy, "
              "devices, budget, relative, tuner_threshold, keep_threshold, version, status, "
              "started_at, updated_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
              "?13, 'running', ?14, ?14)",
              "starting a run");
  s.bind(1, info.app_name);
  s.bind(2, to_sql(info.app_hash));
  s.bind(3, to_sql(info.space_hash));
  s.bind(4, info.space.dump());
  s.bind(5, info.options.dump());
  s.bind(6, to_sql(info.seed));
  s.bind(7, info.strategy);
  s.bind(8, info.devices);
  s.bind(9, static_cast<std::int64_t>(info.budget));
  s.bind(10, std::int64_t{info.relative ? 1 : 0});
  s.bind(11, info.tuner_threshold);
  s.bind(12, info.keep_threshold);
  s.bind(13, std::string_view(APPROXTUNE_VERSION));
  s.bind(14, unix_now());
  s.step();
  run_id_ = sqlite3_last_insert_rowid(impl_->db->get());
  return run_id_;
}

void results_store::resume_run(std::int64_t id) {
  throw_if_failed();
  std::lock_guard lk(impl_->db_mutex);
  statement s(*impl_->db,
              "UPDATE runs SET status='running', ended_at=NULL, message='', "
              "resumes=resumes+1, updated_at=?1 WHERE id=?2",
              "resuming the run");
  s.bind(1, unix_now());
  s.bind(2, id);
  s.step();
  if (sqlite3_changes(impl_->db->get()) != 1)
    throw store_error("results store '" + file_.string() + "' has no run " + std::to_string(id));
  run_id_ = id;
}

void results_store::end_run(run_status status, const std::string& message) {
  flush();
  if (run_id_ == 0) return;
  std::lock_guard lk(impl_->db_mutex);
  statement s(*impl_->db,
              "UPDATE runs SET status=?1, ended_at=?2, updated_at=?2, message=?3 WHERE id=?4",
              "ending the run");
  s.bind(1, std::string_view(to_string(status)));
  s.bind(2, unix_now());
  s.bind(3, message);
  s.bind(4, run_id_.load());
  s.step();
}

void results_store::throw_if_failed() {
  std::lock_guard lk(mutex_);
  if (!failure_.empty()) throw store_error(failure_);
}

void results_store::record(std::span<const evaluation> evals) {
  if (evals.empty()) return;
  const double now = unix_now();
  std::unique_lock lk(mutex_);
  if (!failure_.empty()) throw store_error(failure_);
  if (run_id_ == 0)
    throw store_error("results store '" + file_.string() + "': no run started or resumed");
  const std::size_t max_queued =
      options_.max_queued_rows > 0 ? options_.max_queued_rows : 4 * std::max<std::size_t>(1, options_.batch_rows);
  if (queue_.size() >= max_queued) {
    wake_writer_.notify_one();
    room_.wait(lk, [&] { return queue_.size() < max_queued || !failure_.empty() || stopping_; });
    if (!failure_.empty()) throw store_error(failure_);
  }
  const bool was_empty = queue_.empty();
  if (was_empty) oldest_ = std::chrono::steady_clock::now();
  for (const auto& e : evals)
    queue_.push_back(row{run_id_.load(), e.code, e.hash, e.on, e.qos, e.cost, e.status, e.reason,
                         e.device, e.slot, e.cached, now});
  queued_ += evals.size();
  // Wake the writer for a new batch (it then waits for the batch to fill or age) or a full one.
  const bool wake = was_empty || queue_.size() >= options_.batch_rows;
  lk.unlock();
  if (wake) wake_writer_.notify_one();
}

void results_store::flush() {
  std::unique_lock lk(mutex_);
  const auto target = queued_;
  flush_requested_ = true;
  wake_writer_.notify_one();
  written_.wait(lk, [&] { return committed_ >= target || !failure_.empty(); });
  flush_requested_ = false;
  if (!failure_.empty()) throw store_error(failure_);
}

std::size_t results_store::rows_written() const {
  std::lock_guard lk(mutex_);
  return static_cast<std::size_t>(committed_);
}

void results_store::on_error(std::function<void(const std::string&)> handler) {
  std::lock_guard lk(mutex_);
  on_error_ = std::move(handler);
}

void results_store::writer_loop() {
  std::unique_lock lk(mutex_);
  std::vector<row> batch;
  for (;;) {
    wake_writer_.wait(lk, [&] { return !queue_.empty() || stopping_ || flush_requested_; });
    if (queue_.empty()) {
      if (stopping_) return;
      // A flush with nothing queued: everything is already committed.
      written_.notify_all();
      flush_requested_ = false;
      continue;
    }
    // Let the batch grow until it is full, its oldest row has waited flush_interval, or
    // someone needs it on disk now.
    wake_writer_.wait_until(lk, oldest_ + options_.flush_interval, [&] {
      return queue_.size() >= options_.batch_rows || flush_requested_ || stopping_;
    });
    batch.clear();
    batch.swap(queue_);
    room_.notify_all();
    lk.unlock();
    std::string failure;
    try {
      write_batch(batch);
    } catch (const std::exception& e) {
      failure = e.what();
    }
    lk.lock();
    committed_ += batch.size();
    if (!failure.empty()) {
      // Stop writing: later batches would fail the same way, and rows must stay a prefix of
      // the commit order for a resume to replay them.
      failure_ = failure;
      committed_ = queued_;
      queue_.clear();
      auto handler = on_error_;
      written_.notify_all();
      room_.notify_all();
      lk.unlock();
      logger()->error("{}", failure);
      if (handler) handler(failure);
      lk.lock();
      // Drain and drop until stopped, so record() callers see the failure, not a stall.
      for (;;) {
        wake_writer_.wait(lk, [&] { return !queue_.empty() || stopping_ || flush_requested_; });
        queue_.clear();
        committed_ = queued_;
        written_.notify_all();
        room_.notify_all();
        if (stopping_) return;
        flush_requested_ = false;
      }
    }
    written_.notify_all();
  }
}

void results_store::write_batch(std::vector<row>& rows) {
  std::lock_guard lk(impl_->db_mutex);
  sqlite_db& db = *impl_->db;
  statement& ins = *impl_->insert;
  db.exec("BEGIN IMMEDIATE", "starting a write transaction");
  try {
    for (const auto& r : rows) {
      ins.bind(1, r.run_id);
      ins.bind_code(2, r.code);
      ins.bind(3, to_sql(r.hash));
      ins.bind(4, std::int64_t{static_cast<std::int64_t>(r.on)});
      ins.bind(5, r.status == eval_status::ok ? r.qos : std::nan(""));
      ins.bind(6, r.status == eval_status::ok ? r.cost : std::nan(""));
      ins.bind(7, std::int64_t{static_cast<std::int64_t>(r.status)});
      if (r.reason.empty())
        ins.bind_null(8);
      else
        ins.bind(8, r.reason);
      ins.bind(9, r.device);
      ins.bind(10, std::int64_t{r.slot});
      ins.bind(11, std::int64_t{r.cached ? 1 : 0});
      ins.bind(12, r.at);
      ins.step();
      ins.reset();
    }
    // Rows of one batch may belong to two runs only if the active run changed mid-batch.
    statement& touch = *impl_->touch;
    for (std::size_t i = 0; i < rows.size();) {
      std::int64_t counts[4] = {0, 0, 0, 0};
      const std::size_t first = i;
      for (; i < rows.size() && rows[i].run_id == rows[first].run_id; ++i) {
        ++counts[rows[i].on == split::tune ? 0 : 1];
        counts[2] += rows[i].status == eval_status::ok ? 0 : 1;
        counts[3] += rows[i].cached ? 1 : 0;
      }
      touch.bind(1, rows[i - 1].at);
      touch.bind(2, rows[first].run_id);
      for (int k = 0; k < 4; ++k) touch.bind(3 + k, counts[k]);
      touch.bind(7, rows[first].at);
      touch.step();
      touch.reset();
    }
    db.exec("COMMIT", "committing a batch of evaluations");
  } catch (...) {
    // A failed COMMIT may leave the transaction open; roll it back so nothing half-written
    // stays visible (it never is to readers: WAL commits are atomic).
    if (sqlite3_get_autocommit(db.get()) == 0)
      sqlite3_exec(db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

bool store_writer_active(const std::filesystem::path& file) {
  const auto dir = lock_dir(file);
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool busy = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);  // also releases the shared lock if it was taken
  return busy;
}

}  // namespace approxtune
