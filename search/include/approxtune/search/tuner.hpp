/**
 * @file tuner.hpp
 * @brief The tuner: baseline, thresholds, budget, search through the engine, Pareto selection,
 * test phase, outputs (ApproxTuner's ApproxTuner).
 *
 * It lives in search/ because it orchestrates strategies and Pareto selection; runtime/ holds
 * everything it drives (apps, engine, results buffer, outputs) and knows nothing of search.
 */
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <spdlog/logger.h>

#include "approxtune/runtime/app.hpp"
#include "approxtune/runtime/engine.hpp"
#include "approxtune/runtime/evaluation_cache.hpp"
#include "approxtune/runtime/outputs.hpp"
#include "approxtune/runtime/results_buffer.hpp"

namespace approxtune {

/** @brief Options of one tuning run (ApproxTuner.tune's parameters and more). */
struct tune_options {
  /// Budget of unique evaluations on the tune split, the baseline included. Duplicate proposals
  /// are served from the cache and do not consume it.
  std::size_t max_iter = 1000;
  /// QoS the search aims for: `qos >= threshold` meets it (with `relative`: baseline - x).
  double qos_tuner_threshold = 0.0;
  /// QoS a config needs to be kept; unset = the tuner threshold. 0.0 is a real value.
  std::optional<double> qos_keep_threshold;
  /// Thresholds are losses relative to the baseline QoS, measured on each split.
  bool relative = false;
  /// Keep n configurations close to the front instead of exactly the front.
  std::optional<std::size_t> take_best_n;
  /// Measure the best configs on the test split and drop those under the test threshold.
  bool test_configs = true;
  std::uint64_t seed = 0;
  std::string strategy = "auto";  ///< the front-targeted ensemble (see strategies.hpp)
  nlohmann::json strategy_params = nlohmann::json::object();
  /// Candidates proposed per round; 0 = 2 x the number of slots. Same seed + same batch size
  /// => same results, whatever the slot count.
  std::size_t batch_size = 0;
  /// Devices and slots ("cpu:2", "cuda:0:2,cuda:1:2"); empty = every device.
  std::string devices;
  std::optional<double> eval_timeout_s;
  /// Evaluate on this process's devices too (false: only on `remote_slots`).
  bool local_slots = true;
  /// Slots on other processes (e.g. MPI worker ranks), used like local ones.
  std::vector<remote_slot> remote_slots;
  /// Progress bar (TTY) or periodic lines on stderr.
  bool progress = false;
  std::shared_ptr<spdlog::logger> logger;  ///< null = approxtune::logger()
  /// Called with every new measurement (tune and test split) once it is committed to the
  /// buffer, in commit order (e.g. to persist it). Results served from `cache` are not passed.
  std::function<void(std::span<const evaluation>)> on_commit;
  /// Earlier measurements (e.g. the results store): a configuration found there is not measured
  /// again. With the same seed and batch size, a run resumed over its own stored results
  /// replays the strategy through the cache and continues exactly where it stopped.
  evaluation_cache* cache = nullptr;
};

/** @brief What a run did, for summaries. */
struct tune_summary {
  std::size_t evaluations = 0;   ///< unique tune-split evaluations (baseline included; measured or from the cache)
  std::size_t cache_hits = 0;    ///< duplicate proposals served from this run's results
  std::size_t store_hits = 0;    ///< results served from `tune_options::cache` (not measured)
  std::size_t failed = 0;        ///< failed tune-split evaluations
  std::size_t test_evaluations = 0;
  std::size_t kept = 0, best_prefilter = 0, best = 0;
  double best_speedup_tune = 1.0;  ///< best speedup among kept configs (tune split)
  std::optional<double> best_speedup_test;  ///< best speedup among tested configs that pass
  double mean_abs_test_change = 0.0;        ///< mean |tune qos - test qos| of tested configs
  double seconds = 0.0;
  bool cancelled = false;
  bool exhausted = false;  ///< the strategy ran out of new configurations
  /// Set when the run had to stop early (every slot retired); the results so far are kept.
  std::string error;
  std::vector<slot_stats> slots;
  nlohmann::json strategy_report = nlohmann::json::object();  ///< `strategy::report()` at the end
};

/**
 * @brief Tunes an app. Holds every result of its last `tune` call.
 *
 * Thread-compatible: one `tune` at a time; `request_stop` may be called from anywhere
 * (including a signal handler).
 */
class tuner {
 public:
  explicit tuner(const app& a);

  /**
   * @brief Runs a tuning session.
   * @return the best configurations (after test filtering when `test_configs`)
   * @throws config_error for invalid options or an unknown strategy; error when the baseline
   *         cannot be measured or every slot is retired
   */
  const std::vector<config>& tune(const tune_options& options);

  /**
   * @brief Stops after the in-flight evaluations; `tune` then selects from what it has.
   * Safe from any thread and from a signal handler (lock-free), also while `tune` ends.
   */
  void request_stop() noexcept;

  bool tuned() const noexcept { return tuned_; }
  /**
   * @brief Every successful tune-split configuration of the last `tune`, decoded from the
   * results on the first call (not by `tune`: decoded, one takes ~3 KB with 30 ops, 3 GB at
   * 10^6 evaluations). The first call after a `tune` must not race another call.
   */
  const std::vector<config>& all_configs() const;
  /** @brief The kept configurations, with their knobs decoded on the first call (as all_configs()). */
  const std::vector<config>& kept_configs() const;
  const std::vector<config>& best_configs_prefilter() const noexcept { return report_.best_prefilter; }
  const std::vector<config>& best_configs() const noexcept { return report_.best; }
  double baseline_tune_qos() const noexcept { return report_.baseline_tune_qos; }
  std::optional<double> baseline_test_qos() const noexcept { return report_.baseline_test_qos; }
  double tuner_threshold() const noexcept { return report_.tuner_threshold; }
  double tune_keep_threshold() const noexcept { return report_.tune_keep_threshold; }
  double test_keep_threshold() const noexcept { return report_.test_keep_threshold; }
  const tune_summary& summary() const noexcept { return summary_; }
  const results_buffer& results() const noexcept { return buffer_; }
  /**
   * @brief Everything the output writers need. `all` is left empty and `kept` holds what the
   * plot draws (QoS and cost, no knobs; a bounded sample of a very long run, see
   * tuning_report): all_configs() and kept_configs() decode every one from the results.
   */
  const tuning_report& report() const noexcept { return report_; }

  /**
   * @brief Writes configs.json (best configs, or every kept config with best_only = false).
   * @throws error if `tune` has not run, or the file cannot be written
   */
  void dump_configs(const std::filesystem::path& file, bool best_only = true) const;
  /** @brief Writes configs.json, configs.txt and tradeoff.svg into @p dir. */
  void write_outputs(const std::filesystem::path& dir) const;

 private:
  // Decodes every successful row (or every kept one) of the buffer into @p out.
  void decode_rows(std::vector<config>& out, bool kept_only) const;

  const app& app_;
  results_buffer buffer_;
  tuning_report report_;
  mutable std::vector<config> all_;  // all_configs(), decoded on demand
  mutable bool all_decoded_ = false;
  mutable std::vector<config> kept_;    // kept_configs(), decoded on demand
  mutable bool kept_decoded_ = false;
  tune_summary summary_;
  bool tuned_ = false;
  std::atomic<bool> stop_{false};
  std::atomic<engine*> engine_{nullptr};
  // request_stop() calls in progress: `tune` clears engine_ and waits for them to finish
  // before it destroys the engine they may be using.
  std::atomic<int> stop_callers_{0};
};

}  // namespace approxtune
