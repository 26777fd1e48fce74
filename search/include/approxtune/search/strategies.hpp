/**
 * @file strategies.hpp
 * @brief Names and parameters of the built-in search strategies (create them with
 * `make_strategy` from strategy.hpp).
 *
 * `random` (random_strategy_name): uniform random configurations over each op's knobs.
 *   Params: none. Never re-proposes a configuration it proposed before; once every
 *   configuration of the space was proposed, `propose` returns fewer than asked (zero).
 *
 * `opentuner-default` (opentuner_default_strategy_name): what ApproxTuner got from OpenTuner's
 *   default technique on its all-enum space: an AUC bandit over differential evolution, uniform
 *   greedy mutation, normal greedy mutation and random restarts, under
 *   ThresholdAccuracyMinimizeTime with threshold `strategy_context::qos_threshold`.
 *   Params (JSON, all optional):
 *   - "window" (500): bandit sliding window, in uses of any technique
 *   - "exploration" (0.05): bandit exploration constant C
 *   - "population_size" (30): differential-evolution population
 *   - "crossover_rate" (0.2): differential-evolution crossover rate (DifferentialEvolutionAlt)
 *   - "uniform_mutation_rate" (0.1), "normal_mutation_rate" (0.3): greedy mutation rates
 *   - "duplicate_attempts" (32): proposals of already-seen configurations tolerated for one slot
 *     before a random unseen configuration is proposed instead
 *   Configurations already measured are never returned again: a technique that asks for one gets
 *   its known result at once (as OpenTuner's driver did), without a round trip through the tuner.
 *
 * Both are deterministic given the seed and the observations, and `save_state`/`load_state`
 * restore an identical future.
 */
#pragma once

namespace approxtune::search {

/** @brief Registered name of the uniform random strategy. */
inline constexpr const char* random_strategy_name = "random";
/** @brief Registered name of the OpenTuner re-creation (ApproxTuner's default search). */
inline constexpr const char* opentuner_default_strategy_name = "opentuner-default";

}  // namespace approxtune::search
