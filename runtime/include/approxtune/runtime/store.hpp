/**
 * @file store.hpp
 * @brief The durable results store of a run folder (`DIR/results.db`, SQLite in WAL mode): a
 * writer that persists every evaluation off the tuner's hot path, read-only views for `show`
 * and `export`, and the evaluation cache that makes `--resume` and cross-run reuse work.
 *
 * Schema (version `store_schema_version`, kept in `PRAGMA user_version`; the file is marked
 * with `PRAGMA application_id` = `store_application_id`):
 * - `runs`: one row per tuning run: app name, app content hash, knob-space fingerprint and
 *   description (op and knob names, so exports decode configs without the app), the options
 *   the run was started with (JSON), seed, strategy, devices, budget, thresholds, library
 *   version, start / last write / end times, status, resume count, message, and progress
 *   counters (tune / test / failed / cached rows, first and last commit time) that the writer
 *   updates in the same transaction as the rows.
 * - `evaluations`: one row per evaluation of a run, in commit order: canonical config (the knob
 *   indices as a little-endian uint16 blob) and its 64-bit hash, split, QoS, absolute cost
 *   (NULL when failed), status and failure reason, device and slot, whether it was served from
 *   an earlier run of the store (`cached`), and the commit time.
 *
 * Durability: WAL with `synchronous=NORMAL`. A committed transaction is in the WAL file in the
 * OS page cache when COMMIT returns, so it survives the process being killed at any moment
 * (SIGKILL included); only an OS crash or power loss can drop the last transactions, and even
 * then the file is not corrupted (WAL replay stops at the last complete commit).
 */
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <functional>
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "approxtune/runtime/config.hpp"
#include "approxtune/runtime/evaluation_cache.hpp"
#include "approxtune/runtime/knob_space.hpp"
#include "approxtune/runtime/results_buffer.hpp"
#include "approxtune/runtime/row_index.hpp"

namespace approxtune {

/** @brief Version of the store's schema this library reads and writes. */
inline constexpr int store_schema_version = 1;
/** @brief `PRAGMA application_id` of an approxtune store ("APXT"). */
inline constexpr std::int32_t store_application_id = 0x41505854;

/** @brief The store file of run folder @p dir: `dir / "results.db"`. */
std::filesystem::path store_file(const std::filesystem::path& dir);

/** @brief Lifecycle of a run. */
enum class run_status : std::uint8_t { running = 0, finished = 1, interrupted = 2, failed = 3 };

/** @brief "running", "finished", "interrupted" or "failed". */
const char* to_string(run_status s) noexcept;

/** @brief What a run tunes and how: written when the run starts, compared on resume. */
struct run_info {
  std::string app_name;
  std::uint64_t app_hash = 0;    ///< `app::content_hash()`
  std::uint64_t space_hash = 0;  ///< `knob_space::fingerprint()`
  /// `describe_space`: op and knob names, so stored codes decode without rebuilding the app.
  nlohmann::json space = nlohmann::json::array();
  /// The options the run was started with (e.g. the CLI's app and tune options), enough to
  /// rebuild the app and to refuse a resume with different options.
  nlohmann::json options = nlohmann::json::object();
  std::uint64_t seed = 0;
  std::string strategy;
  std::string devices;
  std::size_t budget = 0;        ///< max tune-split evaluations
  bool relative = false;         ///< thresholds are losses relative to the baseline
  double tuner_threshold = 0.0;  ///< as given (a loss when `relative`)
  double keep_threshold = 0.0;   ///< as given (a loss when `relative`)
};

/** @brief A run as stored. Times are Unix seconds. */
struct run_record {
  std::int64_t id = 0;
  run_info info;
  std::string version;  ///< approxtune version that started the run
  run_status status = run_status::running;
  double started_at = 0.0;
  double updated_at = 0.0;  ///< last write (start, resume, a committed batch, end)
  std::optional<double> ended_at;
  int resumes = 0;
  std::string message;  ///< why a run failed or stopped early (empty otherwise)
};

/** @brief One stored evaluation. */
struct stored_evaluation {
  std::int64_t id = 0;  ///< row id: increasing in commit order
  std::int64_t run_id = 0;
  config_code code;
  std::uint64_t hash = 0;
  split on = split::tune;
  double qos = 0.0;   ///< NaN when failed
  double cost = 0.0;  ///< absolute; NaN when failed
  eval_status status = eval_status::ok;
  std::string reason;
  std::string device;
  int slot = -1;
  bool cached = false;  ///< served from an earlier run of the store, not measured by this one
  double at = 0.0;      ///< commit time
};

/** @brief The knob space as stored: `[{"op": name, "knobs": [knob names]}, ...]`. */
nlohmann::json describe_space(const knob_space& space);

/**
 * @brief Decodes @p code with a stored space description (op -> knob name).
 * @throws store_error when the code does not fit the description
 */
knob_map decode_with(const nlohmann::json& space, std::span<const knob_index> code);

/** @brief Tuning of the writer; the defaults suit both hour-long and microsecond evaluations. */
struct store_options {
  /// A batch is committed when it holds this many rows...
  std::size_t batch_rows = 4096;
  /// ...or when its oldest row has waited this long, whichever comes first.
  std::chrono::milliseconds flush_interval{50};
  /// How long a statement waits for a lock held by another connection before failing.
  std::chrono::milliseconds busy_timeout{5000};
  /// Cap on the file's size in database pages (0 = none): bounds disk use; when reached, the
  /// writer fails like on a full disk.
  std::int64_t max_pages = 0;
  /// Backpressure: record() waits while this many rows wait for the writer (0 = 4 x
  /// batch_rows), so a producer faster than SQLite (a zero-cost app) cannot grow the queue,
  /// and the process's memory, without bound: at most twice this many rows are in memory
  /// (the queue, and the batch the writer is committing).
  std::size_t max_queued_rows = 0;
};

/**
 * @brief The writable store of a run folder, with one writer thread.
 *
 * Opening takes an exclusive advisory lock on the store's folder (one writer per run folder;
 * readers are not affected), creates the schema in a new file, and checks the version and
 * application id of an existing one. `record` only copies rows into a queue; the writer thread
 * drains the queue into one transaction per batch with a reused prepared statement.
 *
 * Thread-safe: `record` may be called from any thread; the other members from one thread.
 * A write failure (full disk, I/O error...) stops the writer: the error handler is called once
 * from the writer thread, and `record`, `flush`, `end_run` rethrow it. What was committed
 * before stays intact.
 */
class results_store {
 public:
  /**
   * @brief Opens or creates @p file for writing.
   * @throws store_error naming the file when it cannot be created or opened, is not a
   *         database ("file is not a database") or not an approxtune store, has another schema
   *         version, is read-only, or is locked by another writer
   */
  explicit results_store(const std::filesystem::path& file, store_options options = {});
  /** @brief Flushes the queue (errors are logged, not thrown) and closes the file. */
  ~results_store();
  results_store(const results_store&) = delete;
  results_store& operator=(const results_store&) = delete;

  const std::filesystem::path& file() const noexcept { return file_; }

  /** @brief Every run of the store, oldest first. */
  std::vector<run_record> runs();

  /**
   * @brief Starts a new run (status running) and makes it the one `record` writes to.
   * @return the run's id
   */
  std::int64_t begin_run(const run_info& info);

  /**
   * @brief Continues run @p id: status back to running, one more resume, no end time; makes it
   * the one `record` writes to. The identity of the run (app, space, options) is the caller's
   * check (`compare_runs`).
   * @throws store_error when there is no such run
   */
  void resume_run(std::int64_t id);

  /** @brief Flushes, then marks the active run as ended with @p status. */
  void end_run(run_status status, const std::string& message = {});

  /** @brief Id of the run `record` writes to (0 before begin_run / resume_run). */
  std::int64_t active_run() const noexcept { return run_id_.load(); }

  /**
   * @brief Queues @p evals for the active run (cheap: a copy under a mutex).
   * @throws store_error when no run is active or the writer has failed
   */
  void record(std::span<const evaluation> evals);

  /**
   * @brief Blocks until every queued row is committed.
   * @throws store_error when the writer has failed
   */
  void flush();

  /** @brief Rows committed by this object so far. */
  std::size_t rows_written() const;

  /** @brief Called once, from the writer thread, when the writer fails (e.g. to stop tuning). */
  void on_error(std::function<void(const std::string& message)> handler);

 private:
  struct row;
  struct impl;
  void writer_loop();
  void write_batch(std::vector<row>& rows);
  void throw_if_failed();

  std::filesystem::path file_;
  store_options options_;
  std::unique_ptr<impl> impl_;
  std::atomic<std::int64_t> run_id_{0};

  mutable std::mutex mutex_;
  std::condition_variable wake_writer_, written_;
  std::condition_variable room_;  // the queue shrank (the writer took a batch, or dropped it)
  std::vector<row> queue_;
  std::chrono::steady_clock::time_point oldest_;
  std::uint64_t queued_ = 0, committed_ = 0;  // rows ever queued / committed (or dropped)
  bool flush_requested_ = false, stopping_ = false;
  std::string failure_;
  std::function<void(const std::string&)> on_error_;
  std::thread writer_;
};

/**
 * @brief Progress counts of one run. The writer keeps them in the run's row, updated in the
 * transaction that commits the rows they count, so reading them is O(1) and always consistent.
 */
struct run_progress {
  std::size_t tune_evaluations = 0;  ///< tune-split rows (the budget counts these)
  std::size_t test_evaluations = 0;
  std::size_t failed = 0;  ///< failed rows (both splits)
  std::size_t cached = 0;  ///< rows served from earlier runs of the store
  double first_at = 0.0, last_at = 0.0;
};

/** @brief The tune-split results of a run, as columns (for Pareto selection). */
struct run_points {
  std::vector<std::int64_t> ids;  ///< row ids, in commit order
  std::vector<double> qos, cost;  ///< cost absolute; NaN when failed
  std::vector<std::uint8_t> ok;
  std::optional<std::size_t> baseline;  ///< index of the baseline (the run's first tune row)
};

/**
 * @brief A read-only view of a store, for `show`, `export` and loading the cache.
 *
 * Uses its own connection: in WAL mode it neither blocks nor disturbs a writer working on the
 * same file, and sees the state of the last committed batch. Thread-compatible.
 */
class store_reader {
 public:
  /**
   * @throws store_error naming the file when it does not exist, is not a database or not an
   *         approxtune store, or has another schema version
   */
  explicit store_reader(const std::filesystem::path& file,
                        std::chrono::milliseconds busy_timeout = std::chrono::milliseconds{5000});
  ~store_reader();
  store_reader(const store_reader&) = delete;
  store_reader& operator=(const store_reader&) = delete;

  const std::filesystem::path& file() const noexcept { return file_; }
  std::vector<run_record> runs();
  std::optional<run_record> run(std::int64_t id);
  /** @brief The most recently started run. */
  std::optional<run_record> latest_run();
  run_progress progress(std::int64_t run_id);
  run_points points(std::int64_t run_id);
  /** @brief Rows by id (any run), in the order of @p ids. @throws store_error for a missing id */
  std::vector<stored_evaluation> evaluations(std::span<const std::int64_t> ids);
  /** @brief Visits the rows of a run in commit order; returning false stops. */
  void for_each(std::int64_t run_id, const std::function<bool(const stored_evaluation&)>& visit);
  /**
   * @brief Visits every row whose run tunes the same app as @p like (same app name, app hash and
   * space fingerprint), in commit order.
   */
  void for_each_same_app(const run_record& like,
                         const std::function<void(const stored_evaluation&)>& visit);

 private:
  struct impl;
  std::filesystem::path file_;
  std::unique_ptr<impl> impl_;
};

/**
 * @brief True when a process holds the writer lock of @p file's folder (a run is being
 * written). Never blocks.
 */
bool store_writer_active(const std::filesystem::path& file);

/** @brief One field where a stored run and a new request differ. */
struct run_difference {
  std::string field;  ///< e.g. "app", "knob space", "options.tune.seed"
  std::string stored, requested;
};

/**
 * @brief The fields in which @p requested differs from the stored run @p stored: app name,
 * app content hash, knob space, and every entry of `options` except those listed in
 * @p may_change (JSON pointers relative to `options`, e.g. "/tune/iterations").
 */
std::vector<run_difference> compare_runs(const run_info& stored, const run_info& requested,
                                         std::span<const std::string> may_change = {});

/**
 * @brief The store as an evaluation cache, held in memory (hash map) for microsecond lookups.
 *
 * Serves, for the run being written:
 * - every row of that run, failures included, so a resumed run replays exactly the
 *   observations its strategy made before (same seed + same batch size => same proposals);
 * - with `reuse_other_runs`, the successful rows of earlier runs of the store that tune the same
 *   app (name, content hash, knob space) on the same split. Failures of other runs are not
 *   reused: they may have been transient (a timeout, a busy device). A result served from
 *   another run is also recorded as a row of this run (`cached` = 1, cost and QoS copied), so
 *   every run's rows are its complete list of observations.
 *
 * `add` the run's new measurements (the tuner's `on_commit`) so a configuration is measured at
 * most once per split (e.g. the baseline on the test split). Not thread-safe: lookups and adds
 * come from the tuner thread.
 */
class store_cache final : public evaluation_cache {
 public:
  /**
   * @param reader a view of the store, used only during construction
   * @param run the run being written (as stored)
   * @param reuse_other_runs also serve successful results of earlier runs of the same app
   * @param sink where results served from other runs are recorded (null: not recorded)
   */
  store_cache(store_reader& reader, const run_record& run, bool reuse_other_runs,
              results_store* sink);

  std::optional<cached_result> lookup(std::span<const knob_index> code, std::uint64_t hash,
                                      split s) override;
  /** @brief Adds the run's own new measurements. */
  void add(std::span<const evaluation> evals);

  std::size_t size() const noexcept { return size_; }
  /** @brief Results loaded from the run itself / from other runs. */
  std::size_t loaded_this_run() const noexcept { return loaded_this_; }
  std::size_t loaded_other_runs() const noexcept { return loaded_other_; }
  /** @brief Lookups served from the run itself / from other runs. */
  std::size_t hits_this_run() const noexcept { return hits_this_; }
  std::size_t hits_other_runs() const noexcept { return hits_other_; }

 private:
  // Flat storage, because a long run caches millions of results: the codes live once in
  // `codes_`, entries are plain records indexed by a row_index, and failure reasons (rare) sit
  // in a sparse map. About 2 x ops + 48 bytes a result, against ~200 for a node-based multimap
  // of entries that own their code and reason.
  struct entry {
    std::uint64_t hash;
    std::uint64_t code_at;  // offset of the code in codes_
    std::uint32_t code_len;
    split on;
    bool this_run;
    eval_status status;
    double qos, cost;
  };
  entry* find(std::span<const knob_index> code, std::uint64_t hash, split s);
  void put(std::span<const knob_index> code, std::uint64_t hash, split s, cached_result r,
           bool this_run);
  cached_result result_of(const entry& e) const;

  std::vector<knob_index> codes_;
  std::vector<entry> entries_;
  row_index index_;
  std::unordered_map<std::size_t, std::string> reasons_;
  results_store* sink_;
  std::size_t size_ = 0, loaded_this_ = 0, loaded_other_ = 0, hits_this_ = 0, hits_other_ = 0;
};

}  // namespace approxtune
