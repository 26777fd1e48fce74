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
 * `predictive`: ApproxTuner's predictive tuning (Pi-2 or Pi-1) as three phases of one strategy, so the engine
 *   runs the profiling in parallel, the store keeps it and resume replays it.
 *   1. profiling: the baseline and every (op, knob) alone, measured for real on the tune split;
 *   2. model search: the strategy named by "search" runs in-process on the additive model for
 *      "model_evaluations" predictions (no real measurement);
 *   3. validation: up to "validate" configurations spread along the predicted front (those
 *      predicted to meet the threshold) are measured for real; then no more proposals, and the
 *      tuner selects the real front among everything measured and runs its test phase.
 *   With "qos_model" "pi1", phase 2 first profiles the output tensor of the baseline and of
 *   every (op, knob) alone on the tune split (`output_app::measure_outputs`, in parallel on
 *   the host's threads; an app that honours `output_app::keep_profile_outputs`, which the
 *   strategy turns on from its creation to the end of phase 2, serves them from phase 1's
 *   passes instead; kept in the "output_profile" file when given, keyed by the app's name,
 *   content hash, knob-space fingerprint, split and output size, so a stale file is re-measured,
 *   never reused) and predicts with `output_model` (see below).
 *   Params: "qos_model" ("pi2" | "pi1": needs `strategy_context::tuned_app` with
 *   `app::outputs()`), "output_profile" (file path for pi1; "" = not kept),
 *   "cost_model" ("profiled" | "flops"), "op_flops" (one number per op, for "flops"),
 *   "knob_speedups" (object knob name -> nominal speedup, for "flops"; missing names: 1),
 *   "model_evaluations" (50000), "search" ("auto" | "nsga2" | "exact" = DP on the additive
 *   model, pi2 only), "search_params" (object),
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

/**
 * @brief ApproxTuner's Pi-1 model: a configuration's output tensor is predicted as the
 * baseline's output plus, for every op, the output delta its knob caused when profiled alone
 * (`delta[op][knob] = out({op: knob}) - out(baseline)`); its QoS is the app's metric of that
 * predicted output (`output_app::qos_from_outputs`). Exact for apps whose outputs are additive;
 * for a single-op configuration the prediction is its profiled output itself.
 */
struct output_model {
  std::vector<double> base;  ///< baseline output
  config_code base_code;     ///< the baseline configuration
  /// Per op, per knob: the output delta (`base.size()` values), or empty for a zero delta
  /// (the baseline knob).
  std::vector<std::vector<std::vector<double>>> delta;

  /** @brief Values per output. */
  std::size_t size() const noexcept { return base.size(); }
  /**
   * @brief From-scratch prediction of @p code into @p out: base, then each op's delta added in
   * op order. O(approximated ops x size).
   */
  void predict(std::span<const knob_index> code, std::vector<double>& out) const;
};

/**
 * @brief Incremental Pi-1 prediction: holds one configuration and its predicted output.
 * Changing one op's knob costs O(size) (subtract the old delta, add the new one), independent
 * of the number of ops. Floating-point rounding accumulates over moves, so `set` recomputes from
 * scratch every `refresh_moves` moves (and whenever that is cheaper than the moves).
 */
class output_predictor {
 public:
  /// Moves between two from-scratch recomputations in `set`.
  static constexpr std::size_t refresh_moves = 256;

  /** @brief Starts at the all-baseline configuration (output = base). @p m must outlive this. */
  explicit output_predictor(const output_model& m);
  /** @brief Op @p op to knob @p to: O(size). */
  void move(std::size_t op, knob_index to);
  /** @brief Moves to @p code: O(changed ops x size), or a from-scratch recomputation. */
  void set(std::span<const knob_index> code);
  /** @brief Recomputes the output of the current configuration from scratch. */
  void refresh();
  /** @brief The predicted output of `code()`. */
  std::span<const double> outputs() const noexcept { return out_; }
  std::span<const knob_index> code() const noexcept { return code_; }
  /** @brief Moves made since the last from-scratch computation. */
  std::size_t moves_since_refresh() const noexcept { return moves_; }

 private:
  const output_model* m_;
  std::vector<knob_index> code_;
  std::vector<double> out_;
  std::size_t moves_ = 0;
};

}  // namespace approxtune::search
