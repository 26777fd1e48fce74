/**
 * @file predictive.hpp
 * @brief The multi-objective strategies (`nsga2`, `auto`) and predictive tuning (`predictive`,
 * ApproxTuner's Pi-2 with profiled or FLOP-linear costs), and the additive model they share.
 *
 * All three are created with `make_strategy` (strategy.hpp). They are deterministic functions of
 * (seed, params, observations), never propose a configuration twice (the baseline, which the
 * tuner measures first, may come back once as a cached proposal), and `save_state`/`load_state`
 * restore an identical future (the state records the run's inputs and replays them).
 * Hypervolume below means the area dominated by the feasible front (qos >= the tuner threshold)
 * against the reference point (threshold, speedup 1).
 *
 * `nsga2`: NSGA-II on (qos up, speedup up) with the threshold as a constraint (Deb's
 *   constrained domination: feasible beats infeasible, then less violation, failed last).
 *   Seeded with the baseline and every single-op approximation. Params (all optional):
 *   - "population_size" (64); "crossover_rate" (0.9, uniform crossover);
 *   - "mutation_rate" (1 / ops: per-op probability of a new knob; a child equal to a parent
 *     gets one forced change); "seed_single_ops" (true).
 *
 * `auto` (the default of a demanding user): a front-targeted ensemble. A sliding-window UCB
 *   bandit picks, for every proposal, one operator among `mutate` (1-3 ops of a front point),
 *   `crossover` (two neighbouring front points), `local` (one or two knob moves of a front
 *   point next to a hypervolume gap, chosen by the single-op profile's speedup per QoS lost),
 *   `random` (sparse random configurations) and `model` (unmeasured points of the Pi-2
 *   additive model's exact front, ordered by their predicted hypervolume gain). Each operator
 *   is credited with the hypervolume gain of its proposals relative to the current
 *   hypervolume, so the bandit follows whatever currently extends the front. Seeded with the
 *   baseline and every single-op approximation (which is also the model's profile).
 *   Params: "window" (256), "exploration" (0.05), "seed_single_ops" (true),
 *   "operators" (all five, a list of names to restrict them).
 *
 * `predictive`: ApproxTuner's predictive tuning as three phases of one strategy, so the engine
 *   runs the profiling in parallel, the store keeps it and resume replays it.
 *   1. profiling: the baseline and every (op, knob) alone, measured for real on the tune split;
 *   2. model search: the strategy named by "search" runs in-process on the additive model for
 *      "model_evaluations" predictions (no real measurement);
 *   3. validation: up to "validate" configurations spread along the predicted front (those
 *      predicted to meet the threshold) are measured for real; then no more proposals, and the
 *      tuner selects the real front among everything measured and runs its test phase.
 *   Params: "qos_model" ("pi2"; "pi1" is rejected: the strategy interface has no output
 *   tensors), "cost_model" ("profiled" | "flops"), "op_flops" (one number per op, for "flops"),
 *   "knob_speedups" (object knob name -> nominal speedup, for "flops"; missing names: 1),
 *   "model_evaluations" (50000), "search" ("auto" | "nsga2"), "search_params" (object),
 *   "validate" (100), "qos_margin" (0: validation keeps predictions with qos >=
 *   threshold + margin). `report()` gives the real measurements of each phase.
 */
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "approxtune/runtime/config.hpp"

namespace approxtune::search {

/** @brief Registered name of NSGA-II. */
inline constexpr const char* nsga2_strategy_name = "nsga2";
/** @brief Registered name of the front-targeted ensemble. */
inline constexpr const char* auto_strategy_name = "auto";
/** @brief Registered name of predictive tuning (profiling, model search, validation). */
inline constexpr const char* predictive_strategy_name = "predictive";

/**
 * @brief An additive QoS and cost model (Pi-2 with a profiled or FLOP-linear cost):
 * `qos = base_qos + sum dqos[op][knob]`, `cost = base_cost + sum dcost[op][knob]` (cost relative
 * to the baseline, speedup = 1 / cost). Per op, one entry per knob of the space.
 */
struct additive_model {
  double base_qos = 0.0;
  double base_cost = 0.0;
  std::vector<std::vector<double>> dqos;   ///< per op, per knob: QoS delta
  std::vector<std::vector<double>> dcost;  ///< per op, per knob: cost term

  /** @brief Predicted QoS of @p code (O(ops)). */
  double qos(std::span<const knob_index> code) const {
    double q = base_qos;
    for (std::size_t op = 0; op < code.size(); ++op) q += dqos[op][code[op]];
    return q;
  }
  /** @brief Predicted relative cost of @p code (O(ops)). */
  double cost(std::span<const knob_index> code) const {
    double c = base_cost;
    for (std::size_t op = 0; op < code.size(); ++op) c += dcost[op][code[op]];
    return c;
  }
  /**
   * @brief O(1) update of a prediction when op @p op moves from knob @p from to knob @p to:
   * adds the change to @p qos and @p cost.
   */
  void move(std::size_t op, knob_index from, knob_index to, double& qos, double& cost) const {
    qos += dqos[op][to] - dqos[op][from];
    cost += dcost[op][to] - dcost[op][from];
  }
};

}  // namespace approxtune::search
