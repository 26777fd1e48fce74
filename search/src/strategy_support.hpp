// Private helpers shared by the built-in strategies: a portable seeded RNG, the set of
// configurations proposed so far with an "unseen" sampler, and JSON helpers for codes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "approxtune/runtime/row_index.hpp"

#include "approxtune/runtime/config.hpp"
#include "approxtune/runtime/knob_space.hpp"
#include "approxtune/search/strategy.hpp"

namespace approxtune::search::detail {

/// mt19937_64 with its own bounded draws: std::uniform_int_distribution is implementation-defined,
/// and proposals must be identical across standard libraries for a given seed.
class strategy_rng {
 public:
  explicit strategy_rng(std::uint64_t seed, std::uint64_t salt);
  /// Uniform in [0, bound); bound > 0. Unbiased (rejection on the top of the 64-bit range).
  std::uint64_t below(std::uint64_t bound);
  /// Uniform in [0, 1) with 53 random bits.
  double uniform01();
  template <class T>
  void shuffle(std::vector<T>& v) {
    for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(i)]);
  }
  std::string save() const;
  void load(const std::string& state);

 private:
  std::mt19937_64 engine_;
};

struct code_hash {
  std::size_t operator()(const config_code& code) const noexcept;
};

/// Uniform random configuration of @p space.
config_code random_config(const knob_space& space, strategy_rng& rng);

/// Number of configurations of @p space, or nullopt when it does not fit in 64 bits.
std::optional<std::uint64_t> space_size(const knob_space& space);

/**
 * Every configuration a strategy has proposed, and a sampler of configurations not proposed yet.
 * The sampler's draws depend only on the set and the RNG (its enumeration pool is a cache
 * rebuilt on demand), so save/load keeps futures identical.
 *
 * Two modes. Standalone (no history): the set keeps every proposal itself, flat (codes row after
 * row in one vector, indexed by a row_index on hash_config: ~2 x num_ops + 15 bytes a
 * proposal, against ~250 for a node-based std::unordered_set<config_code>). Under a tuner
 * (`strategy_context::history` set): the tuner's results already hold every configuration that
 * was proposed and given back by observe(), so the set keeps only the proposals the tuner does
 * not have yet (the batch in flight) and asks the history for the rest; a long run then keeps
 * each configuration once, in the tuner's bounded-memory results, not twice. Both modes give
 * the same answers, so a strategy proposes the same configurations in either.
 */
class proposed_set {
 public:
  explicit proposed_set(const knob_space& space, const proposal_history* history = nullptr);
  bool contains(std::span<const knob_index> code) const;
  /// Records @p code; false if it was already there.
  bool insert(const config_code& code);
  std::size_t size() const;
  /// True when every configuration of the space has been proposed.
  bool exhausted() const { return size_ && size() >= *size_; }
  /**
   * A configuration not proposed yet, uniformly: up to 64 rejection draws, then (spaces of at
   * most 2^20 configurations) a draw from the enumerated unseen ones. nullopt when exhausted;
   * in a larger space whose draws all hit seen configurations, the last draw (a duplicate).
   */
  std::optional<config_code> draw_unseen(strategy_rng& rng);
  /// Every proposal (the history's first, in its order, then the ones in flight).
  nlohmann::json to_json() const;
  void from_json(const nlohmann::json& j);

 private:
  std::span<const knob_index> row(std::size_t i) const {
    return {codes_.data() + i * num_ops_, num_ops_};
  }
  bool contains_own(std::span<const knob_index> code, std::uint64_t h) const;
  // Under a history: drops the own entries the history now has (once per change of its count).
  void sync() const;
  config_code decode(std::uint64_t index) const;
  std::uint64_t encode(std::span<const knob_index> code) const;

  const knob_space* space_;
  const proposal_history* history_;
  std::size_t num_ops_;
  std::optional<std::uint64_t> size_;
  // Own entries (all proposals standalone; under a history, those it does not have yet).
  // Mutable: sync() prunes them from const queries; the set's answers never change by it.
  mutable std::vector<knob_index> codes_;    // entry i at [i * num_ops_, (i + 1) * num_ops_)
  mutable std::vector<std::uint64_t> hashes_;  // hash_config of each entry
  mutable row_index index_;
  mutable std::size_t count_ = 0;
  mutable std::size_t synced_at_ = 0;  // history's proposed_count() at the last sync
  std::optional<std::vector<std::uint64_t>> pool_;  // sorted unseen indices, once built
};

/// Checks @p code against @p space for load_state; throws config_error naming @p what.
config_code code_from_json(const nlohmann::json& j, const knob_space& space, const char* what);

/// Validates a context handed to a strategy factory (non-null space).
void check_context(const strategy_context& ctx, const char* strategy);

std::unique_ptr<strategy> make_random_strategy(const strategy_context& ctx);
std::unique_ptr<strategy> make_opentuner_strategy(const strategy_context& ctx);

}  // namespace approxtune::search::detail
