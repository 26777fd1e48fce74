/**
 * @file outputs.hpp
 * @brief The files a tuning run writes: configs.json, configs.txt (HPVM format), tradeoff.svg.
 *
 * configs.json schema (version 1):
 * @code
 * { "schema": "approxtune.configs", "version": 1, "app": "<name>",
 *   "thresholds": { "relative": bool,
 *                   "tuner": {"given": x, "absolute": t},
 *                   "keep":  {"given": y, "tune_absolute": k, "test_absolute": k2} },
 *   "baseline": { "tune_qos": q, "test_qos": q2 | null, "cost": c },
 *   "configs": [ { "knobs": {"op": "knob", ...}, "qos": q, "test_qos": q | null,
 *                  "cost": relative cost, "speedup": 1/cost }, ... ] }
 * @endcode
 */
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "approxtune/runtime/config.hpp"

namespace approxtune {

/** @brief Everything the output files say about a run. */
struct tuning_report {
  std::string app_name;
  bool relative = false;
  double tuner_threshold_given = 0.0;
  double keep_threshold_given = 0.0;
  double tuner_threshold = 0.0;      ///< absolute
  double tune_keep_threshold = 0.0;  ///< absolute, tune split
  double test_keep_threshold = 0.0;  ///< absolute, test split
  double baseline_tune_qos = 0.0;
  std::optional<double> baseline_test_qos;
  double baseline_cost = 0.0;        ///< absolute cost of the baseline (tune split)
  /// `kept`: the kept configs the plot draws, without knobs. A tuner fills it with every kept
  /// config when there are fewer than 2 x max_plotted_kept of them, else with every k-th one
  /// (k = kept_total / max_plotted_kept), so its size is bounded in a run of any length.
  std::vector<config> all, kept, best_prefilter, best;
  /// How many configs were kept in all (kept.size() when nothing was left out).
  std::size_t kept_total = 0;
};

/** @brief Kept configs drawn in tradeoff.svg: at most about twice this many. */
inline constexpr std::size_t max_plotted_kept = 50000;

/** @brief Writes @p content to @p file atomically (temp file in the same folder + rename). */
void atomic_write(const std::filesystem::path& file, const std::string& content);

/** @brief configs.json text for @p configs (usually report.best). */
std::string configs_json(const tuning_report& report, const std::vector<config>& configs);

/**
 * @brief Loads a configs.json: report fields and `best` (the file's configs).
 * @throws config_error naming the file and the field when it is malformed
 */
tuning_report read_configs_json(const std::filesystem::path& file);

/**
 * @brief configs.txt in the HPVM format: baseline first (conf1), then the configs sorted by
 * speedup. @p lines gives a config's per-node lines. The energy column is written as 0
 * (approxtune does not measure energy).
 */
std::string hpvm_configs(const tuning_report& report, const std::vector<config>& configs,
                         const std::function<std::vector<std::string>(const knob_map&)>& lines);

/**
 * @brief tradeoff.svg: ApproxTuner's two plots: kept vs best configs (QoS loss against speedup,
 * with the threshold line), and tune-set vs test-set QoS loss of the best configs.
 */
std::string tradeoff_svg(const tuning_report& report);

}  // namespace approxtune
