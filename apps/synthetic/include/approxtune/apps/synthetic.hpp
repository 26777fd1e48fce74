/**
 * @file synthetic.hpp
 * @brief The built-in synthetic app: additive QoS loss and cost, with an exact Pareto front.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "approxtune/runtime/app.hpp"

namespace approxtune::apps {

/** @brief Shape and behaviour of a synthetic app. */
struct synthetic_options {
  std::size_t ops = 30;          ///< number of ops
  std::size_t knobs = 10;        ///< approximate knobs per op (the baseline comes on top)
  std::uint64_t seed = 0;        ///< draws every loss, speedup and op cost
  double eval_latency_ms = 0.0;  ///< each measurement sleeps this long (no CPU used)
  /// Strength of a pairwise QoS term between neighbouring ops (0 = purely additive).
  double interaction = 0.0;
};

/** @brief A point of an exact front: QoS (higher-better) and speedup over the baseline. */
struct front_point {
  double qos = 0.0;
  double speedup = 1.0;
};

/**
 * @brief n ops sharing k knobs (named "k0".."k{k-1}") plus the synthetic baseline.
 *
 * Each (op, knob) has a speedup s >= 1 and a QoS loss l >= 0, both drawn from the seed; larger
 * speedups tend to cost more QoS, with wide spread. A configuration's
 * - QoS  = 100 - sum of the chosen knobs' losses (- interaction terms, see below),
 * - cost = sum over ops of op_cost / s,
 * so the baseline has QoS 100 and the exact front is computable by dynamic programming.
 * The test split scales each loss by a fixed factor in [0.9, 1.1] (a small deterministic
 * perturbation). With `interaction > 0`, neighbouring ops i, i+1 that are both approximated lose
 * an extra `interaction * w_i * sqrt(l_i * l_{i+1})`; the front stays exact by DP along the chain.
 */
class synthetic_app final : public app {
 public:
  explicit synthetic_app(const synthetic_options& options);

  std::string name() const override { return "synthetic"; }
  measurement measure(const config_code& code, split s) const override;
  bool cost_is_timed() const override { return false; }
  std::uint64_t content_hash() const override;

  const synthetic_options& options() const noexcept { return options_; }
  /** @brief QoS loss of knob @p k on op @p op on the tune split (0 for the baseline). */
  double loss(std::size_t op, std::size_t k) const { return loss_[op * width_ + k]; }
  /** @brief Speedup of knob @p k on op @p op (1 for the baseline). */
  double knob_speedup(std::size_t op, std::size_t k) const { return speedup_[op * width_ + k]; }
  /** @brief Baseline cost of op @p op. */
  double op_cost(std::size_t op) const { return op_cost_[op]; }
  /** @brief Total baseline cost. */
  double baseline_cost() const noexcept { return baseline_cost_; }

  /** @brief QoS and absolute cost of @p code on split @p s, without the latency. */
  measurement evaluate(const config_code& code, split s) const;

  /**
   * @brief The exact Pareto front (QoS up, speedup up) on the tune split among configurations
   * with QoS >= @p min_qos, by dynamic programming over the ops (along the chain when there
   * are interactions). Sorted by increasing QoS.
   */
  std::vector<front_point> exact_front(double min_qos) const;

 private:
  synthetic_options options_;
  std::size_t width_;  // knobs per op including the baseline
  std::vector<double> loss_, test_scale_, speedup_, op_cost_, pair_weight_;
  double baseline_cost_ = 0.0;
};

/**
 * @brief Hypervolume of a front in the (QoS loss <= budget, speedup >= 1) plane with reference
 * point (budget, 1): the area dominated by the points whose loss is within the budget.
 * @param baseline_qos QoS of the baseline (loss = baseline_qos - qos)
 */
double hypervolume(std::vector<front_point> points, double baseline_qos, double budget);

}  // namespace approxtune::apps
