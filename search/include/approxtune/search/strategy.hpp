/**
 * @file strategy.hpp
 * @brief The ask/tell interface of search strategies and their registry.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "approxtune/runtime/app.hpp"
#include "approxtune/runtime/config.hpp"
#include "approxtune/runtime/knob_space.hpp"

namespace approxtune::search {

/**
 * @brief The configurations a strategy proposed so far, as the tuner that drives it records
 * them: every proposal it has committed or served from its results, in proposal order.
 *
 * A strategy that never repeats a proposal needs this set; the tuner already has it, so a
 * long run keeps it once (in the tuner's bounded-memory results) instead of twice.
 */
class proposal_history {
 public:
  virtual ~proposal_history() = default;
  /**
   * True when @p code (whose hash_config is @p hash) was proposed before and the tuner has
   * recorded it. May answer from the 64-bit hash alone: a false "yes" needs a collision with
   * one of n recorded hashes (probability ~n / 2^64, ~5e-14 a query at n = 10^6) and only
   * costs the strategy one configuration it will never propose.
   */
  virtual bool proposed(std::span<const knob_index> code, std::uint64_t hash) const = 0;
  /// How many distinct configurations it has recorded.
  virtual std::size_t proposed_count() const = 0;
  /// Visits every recorded configuration once (in the order the tuner recorded their results).
  virtual void for_each_proposed(const std::function<void(std::span<const knob_index>)>& visit) const = 0;
};

/** @brief What a strategy is told about the run when it is created. */
struct strategy_context {
  const knob_space* space = nullptr;  ///< ops and knobs (never null)
  double qos_threshold = 0.0;         ///< absolute tuner threshold: qos >= threshold meets it
  std::uint64_t seed = 0;
  nlohmann::json params = nlohmann::json::object();  ///< strategy-specific options
  /// The app being tuned, for strategies that read more than (qos, cost), e.g. predictive's
  /// Pi-1 (`app::outputs()`); may be null (then such strategies refuse to run).
  const app* tuned_app = nullptr;
  /// Set by the tuner: the proposals it has recorded (see proposal_history). Null when the
  /// strategy runs on its own; it then keeps every proposal itself. Must outlive the strategy.
  const proposal_history* history = nullptr;
};

/**
 * @brief The result of one proposed configuration, given back in proposal order.
 * `cost` is relative to the baseline (speedup = 1 / cost). Failed evaluations have ok = false
 * and NaN qos/cost. `cached` ones were served from the cache (already seen by the strategy).
 */
struct observation {
  std::span<const knob_index> code;
  double qos = 0.0;
  double cost = 1.0;
  bool ok = true;
  bool cached = false;
};

/**
 * @brief A search strategy (ask/tell). Never sees devices, threads or files.
 *
 * The tuner calls `propose(n)`, evaluates what it got (duplicates of earlier configs are served
 * from a cache and do not consume the budget), then calls `observe` with one observation per
 * proposal, in proposal order. Same seed and same sequence of observations => same proposals.
 */
class strategy {
 public:
  virtual ~strategy() = default;
  /** @brief Registered name. */
  virtual std::string name() const = 0;
  /** @brief Up to @p n configurations to evaluate next (fewer, even zero, if exhausted). */
  virtual std::vector<config_code> propose(std::size_t n) = 0;
  /** @brief Results of the last proposals, in proposal order. */
  virtual void observe(std::span<const observation> results) = 0;
  /** @brief Full state (including RNG) as JSON, for resume. */
  virtual nlohmann::json save_state() const = 0;
  /** @brief Restores a state produced by `save_state` of the same strategy and space. */
  virtual void load_state(const nlohmann::json& state) = 0;
  /**
   * @brief What the strategy wants the run summary to say (e.g. how many real measurements each
   * phase of a predictive strategy used). Empty by default.
   */
  virtual nlohmann::json report() const { return nlohmann::json::object(); }
};

using strategy_factory = std::function<std::unique_ptr<strategy>(const strategy_context&)>;

/** @brief Registers a strategy under @p name (replaces an existing registration). */
void register_strategy(const std::string& name, strategy_factory factory);
/**
 * @brief Creates the strategy registered as @p name.
 * @throws config_error listing the registered names when @p name is unknown
 */
std::unique_ptr<strategy> make_strategy(const std::string& name, const strategy_context& ctx);
/** @brief Registered names, sorted. */
std::vector<std::string> strategy_names();

}  // namespace approxtune::search
