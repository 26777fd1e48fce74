// Private helpers of the multi-objective strategies (nsga2, auto, predictive): the feasible
// front with its hypervolume, a replaying wrapper that gives a strategy exact save/load, and the
// exact front of an additive model by dynamic programming.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "approxtune/runtime/config.hpp"
#include "approxtune/runtime/knob_space.hpp"
#include "approxtune/runtime/record_spill.hpp"
#include "approxtune/search/predictive.hpp"
#include "approxtune/search/strategy.hpp"

namespace approxtune::search::detail {

/// A point of the measured front; `id` is the owner's index of its configuration.
struct mo_point {
  double qos = 0.0;
  double speedup = 1.0;
  std::uint32_t id = 0;
};

/**
 * The non-dominated feasible points (qos >= threshold) in (qos up, speedup up), kept sorted by
 * increasing qos (so strictly decreasing speedup), with the hypervolume against the reference
 * point (threshold, speedup 1): the same measure as the synthetic app's `hypervolume`.
 */
class front_archive {
 public:
  explicit front_archive(double threshold) : threshold_(threshold) {}
  /// Area the point would add to the hypervolume (0 when infeasible or dominated).
  double gain_of(double qos, double speedup) const;
  /// Inserts a point, dropping the ones it dominates; returns its hypervolume gain.
  double insert(double qos, double speedup, std::uint32_t id);
  double hypervolume() const noexcept { return hv_; }
  /// True when the last `insert` put its point on the front.
  bool last_kept() const noexcept { return last_kept_; }
  /// Changes whenever the front does (to cache what is derived from it).
  std::uint64_t version() const noexcept { return version_; }
  const std::vector<mo_point>& front() const noexcept { return front_; }
  double threshold() const noexcept { return threshold_; }

 private:
  double threshold_;
  double hv_ = 0.0;
  bool last_kept_ = false;
  std::uint64_t version_ = 0;
  std::vector<mo_point> front_;
};

/// A configuration of the additive model's front, with its predicted qos and relative cost.
struct model_point {
  double qos = 0.0;
  double cost = 1.0;
  config_code code;
};

/**
 * The Pareto front of @p model among configurations predicted to have qos >= @p min_qos, by
 * dynamic programming over the ops (exact for the model when every partial front has at most
 * @p max_points points; larger ones are thinned to that many, evenly in loss).
 * Sorted by increasing qos.
 */
std::vector<model_point> additive_front(const additive_model& model, double min_qos,
                                        std::size_t max_points = 4096);

/**
 * Gives a strategy whose state is awkward to serialise an exact save/load: the saved state is
 * the seed, the parameters and every propose size and observation so far; loading builds a fresh
 * core and replays them. Valid because every strategy here is a deterministic function of
 * (seed, params, observations), as the tuner's resume already requires.
 */
class replay_strategy final : public strategy {
 public:
  using core_factory = std::unique_ptr<strategy> (*)(const strategy_context&);
  replay_strategy(const strategy_context& ctx, core_factory factory);

  std::string name() const override { return core_->name(); }
  std::vector<config_code> propose(std::size_t n) override;
  void observe(std::span<const observation> results) override;
  nlohmann::json save_state() const override;
  void load_state(const nlohmann::json& state) override;
  nlohmann::json report() const override { return core_->report(); }

 private:
  struct round {
    std::size_t asked = 0;
    std::size_t got = 0;
    bool observed = false;
    std::size_t observations = 0;  // consecutive records of obs_ from the round's first
  };
  struct obs_record {
    double qos, cost;
    bool ok, cached;
  };
  static void append_round(record_spill& to, const round& r);
  static void append_obs(record_spill& to, const obs_record& o);
  void for_each_round(const std::function<void(const round&, std::size_t first_obs)>& visit) const;
  obs_record obs_at(std::size_t i) const;

  strategy_context ctx_;
  core_factory factory_;
  std::unique_ptr<strategy> core_;
  // The log save_state replays: every round but the last in rounds_ (a record_spill, so a long
  // run's log lives on disk, not in memory), the last one in last_ until the next propose.
  // Record layouts: round = asked, got (u64), observed (byte), observations (u64);
  // observation = qos, cost (double), ok, cached (byte).
  static constexpr std::size_t round_bytes = 8 + 8 + 1 + 8, obs_bytes = 8 + 8 + 1 + 1;
  record_spill rounds_{round_bytes};
  record_spill obs_{obs_bytes};
  std::optional<round> last_;
};

/// Reads an optional numeric/boolean/string parameter with a message naming the strategy.
double param_number(const nlohmann::json& params, const char* key, double fallback,
                    const char* strategy, double min_value, double max_value);
bool param_bool(const nlohmann::json& params, const char* key, bool fallback,
                const char* strategy);
std::string param_string(const nlohmann::json& params, const char* key, const char* fallback,
                         const char* strategy);

/// The baseline followed by every single-op approximation (op-major), as seeds or profiling.
std::vector<config_code> single_op_configs(const knob_space& space);

std::unique_ptr<strategy> make_nsga2_core(const strategy_context& ctx);
std::unique_ptr<strategy> make_auto_core(const strategy_context& ctx);
std::unique_ptr<strategy> make_predictive_core(const strategy_context& ctx);
std::unique_ptr<strategy> make_nsga2_strategy(const strategy_context& ctx);
std::unique_ptr<strategy> make_auto_strategy(const strategy_context& ctx);
std::unique_ptr<strategy> make_predictive_strategy(const strategy_context& ctx);

}  // namespace approxtune::search::detail
