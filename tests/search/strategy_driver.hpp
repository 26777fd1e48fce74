// Shared by the strategy and tuner tests: synthetic app shapes, a driver that runs a strategy
// the way the tuner does (without the engine), and an in-memory stand-in for the results store.
#pragma once

#include <algorithm>
#include <map>
#include <vector>

#include <optional>
#include <span>
#include <utility>

#include "approxtune/apps/synthetic.hpp"
#include "approxtune/runtime/evaluation_cache.hpp"
#include "approxtune/search/strategy.hpp"

namespace approxtune::test_support {

apps::synthetic_options shape(std::size_t ops, std::size_t knobs, std::uint64_t seed,
                              double interaction = 0.0) {
  apps::synthetic_options o;
  o.ops = ops;
  o.knobs = knobs;
  o.seed = seed;
  o.interaction = interaction;
  return o;
}

// The tuner's loop without the engine: the baseline is measured first, duplicates are served
// from the cache (cached = true) and do not count, results are observed in proposal order.
struct driver {
  const apps::synthetic_app& app;
  std::map<config_code, measurement> seen;
  std::vector<config_code> proposals;
  std::size_t unique = 0;

  explicit driver(const apps::synthetic_app& a) : app(a) {
    seen[a.space().baseline_code()] = a.evaluate(a.space().baseline_code(), split::tune);
    unique = 1;
  }
  void run(search::strategy& s, std::size_t evals, std::size_t batch = 16) {
    const double base = app.baseline_cost();
    while (unique < evals) {
      auto p = s.propose(std::min(batch, evals - unique));
      if (p.empty()) break;
      std::vector<search::observation> obs;
      for (const auto& c : p) {
        auto it = seen.find(c);
        const bool cached = it != seen.end();
        if (!cached) {
          it = seen.emplace(c, app.evaluate(c, split::tune)).first;
          ++unique;
        }
        obs.push_back({c, it->second.qos, it->second.cost / base, true, cached});
      }
      proposals.insert(proposals.end(), p.begin(), p.end());
      s.observe(obs);
    }
  }
  double hv_ratio(double loss_budget) const {
    std::vector<apps::front_point> pts;
    for (const auto& [c, m] : seen) pts.push_back({m.qos, app.baseline_cost() / m.cost});
    return apps::hypervolume(pts, 100.0, loss_budget) /
           apps::hypervolume(app.exact_front(100.0 - loss_budget), 100.0, loss_budget);
  }
};

// An in-memory stand-in for the results store: records on_commit, serves lookups.
class memory_cache final : public evaluation_cache {
 public:
  std::optional<cached_result> lookup(std::span<const knob_index> code, std::uint64_t,
                                      split s) override {
    auto it = rows.find({config_code(code.begin(), code.end()), s});
    if (it == rows.end()) return std::nullopt;
    return it->second;
  }
  void record(std::span<const evaluation> es) {
    for (const auto& e : es) rows[{e.code, e.on}] = {e.qos, e.cost, e.status, e.reason};
  }
  std::map<std::pair<config_code, split>, cached_result> rows;
};

}  // namespace approxtune::test_support
