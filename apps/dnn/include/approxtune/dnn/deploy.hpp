/**
 * @file deploy.hpp
 * @brief The inference side: load a tuned configs.json, pick a configuration by QoS budget or
 * by target speedup, and apply it to a network (kernel variants swapped in place).
 *
 * @code
 * auto m = std::make_shared<const dnn::model>(dnn::model::load(dnn::resolve_models_dir(), "vgg-256"));
 * dnn::network net(m);
 * auto tuned = dnn::tuned_configs::load("runs/main/configs.json");
 * dnn::apply_config(net, tuned.pick_by_qos_loss(1.0).knobs);   // fastest within 1 point
 * std::mt19937_64 rng(42);
 * dnn::apply_config(net, tuned.pick_by_speedup_random(1.5, rng).knobs);  // 1.5x on average
 * @endcode
 */
#pragma once

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "approxtune/dnn/network.hpp"
#include "approxtune/runtime/config.hpp"

namespace approxtune::dnn {

/** @brief Which split's QoS the picks use. */
enum class qos_source {
  test_if_available,  ///< the test-split QoS when the file has it, else the tune split's
  tune,               ///< the tune-split QoS
};

/** @brief The configurations of a configs.json, as a trade-off curve (baseline included). */
class tuned_configs {
 public:
  /** @brief Reads @p file (approxtune's configs.json). @throws config_error naming the file */
  static tuned_configs load(const std::filesystem::path& file, qos_source src = qos_source::test_if_available);
  /** @brief From configs directly (tests); @p baseline_qos is the baseline's QoS on the same split. */
  tuned_configs(std::vector<config> configs, double baseline_qos, qos_source src = qos_source::test_if_available);

  /**
   * @brief The Pareto front over (speedup, QoS) of the file's configs plus the baseline
   * (knobs {}, speedup 1), sorted by increasing speedup (so by decreasing QoS).
   */
  const std::vector<config>& front() const noexcept { return front_; }
  double baseline_qos() const noexcept { return baseline_qos_; }
  /** @brief The QoS a pick uses for @p c (test or tune, per qos_source). */
  double qos_of(const config& c) const;

  /** @brief The fastest configuration whose QoS loss is at most @p budget (the baseline if none). */
  const config& pick_by_qos_loss(double budget) const;
  /**
   * @brief Deterministic: the slowest configuration with speedup >= @p target (the fastest one if
   * none reaches it), i.e. the most accurate configuration that meets the target.
   */
  const config& pick_by_speedup(double target) const;
  /**
   * @brief The reference runtime's two-point random choice: with `lo` the fastest configuration
   * whose speedup is <= @p target and `hi` the slowest whose speedup is >= @p target, returns `hi`
   * with probability (target - s_lo) / (s_hi - s_lo) and `lo` otherwise, so that the expected
   * speedup equals the target. Targets outside the front's range return its end.
   */
  const config& pick_by_speedup_random(double target, std::mt19937_64& rng) const;
  /** @brief The two bracketing configurations and the probability of choosing `hi`. */
  struct bracket {
    const config* lo = nullptr;
    const config* hi = nullptr;
    double p_hi = 0.0;
  };
  bracket bracket_speedup(double target) const;

 private:
  std::vector<config> front_;
  double baseline_qos_ = 0.0;
  qos_source src_;
};

/**
 * @brief Applies a named configuration (op = layer name -> knob name, as in configs.json) to
 * @p net: every tunable layer not mentioned gets its exact variant. The weights are untouched.
 * @throws config_error naming an unknown layer or knob, or a knob that does not fit the layer
 */
void apply_config(network& net, const knob_map& knobs, const std::string& device = "cpu");

}  // namespace approxtune::dnn
