// auto: determinism, duplicate-free proposals, save/load round trip, operator selection, the
// bandit's report, and quality against the synthetic app's exact front (with and without the
// pairwise interaction that makes the additive profile model inexact).
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "approxtune/apps/synthetic.hpp"
#include "approxtune/runtime/error.hpp"
#include "approxtune/search/predictive.hpp"
#include "approxtune/search/strategy.hpp"
#include "approxtune/search/tuner.hpp"
#include "strategy_driver.hpp"

using namespace approxtune;
using approxtune::test_support::driver;
using approxtune::test_support::shape;

namespace {

std::unique_ptr<search::strategy> make(const apps::synthetic_app& a, std::uint64_t seed,
                                       double threshold = 97.0,
                                       nlohmann::json params = nlohmann::json::object()) {
  return search::make_strategy(search::auto_strategy_name,
                               {&a.space(), threshold, seed, std::move(params)});
}

}  // namespace

// Properties every strategy shares (determinism, no repeats, exhausting a tiny space, state
// round trips, rejecting bad states) are in strategy_test.cpp (each_strategy).

TEST(Auto, SaveLoadRoundTripContinuesIdentically) {
  apps::synthetic_app a(shape(15, 5, 6, 1.0));
  for (std::size_t stop : {0, 40, 700}) {
    driver d1(a);
    auto s1 = make(a, 11, 97.5, {{"window", 64}});
    d1.run(*s1, stop, 9);
    const std::string saved = s1->save_state().dump();
    auto s2 = make(a, 999);  // seed and params come from the state
    s2->load_state(nlohmann::json::parse(saved));
    EXPECT_EQ(s2->save_state().dump(), saved);
    driver d2 = d1;
    d1.proposals.clear();
    d2.proposals.clear();
    d1.run(*s1, stop + 600, 9);
    d2.run(*s2, stop + 600, 9);
    EXPECT_EQ(d1.proposals, d2.proposals) << "stopped at " << stop;
    EXPECT_EQ(s1->report(), s2->report());
  }
}

TEST(Auto, ReportCreditsEveryOperatorAndOperatorsCanBeRestricted) {
  apps::synthetic_app a(shape(12, 6, 4));
  driver d(a);
  auto s = make(a, 2);
  d.run(*s, 1500);
  const auto r = s->report();
  std::size_t proposals = 0;
  for (const char* op : {"mutate", "crossover", "local", "random", "model"}) {
    ASSERT_TRUE(r.at("operators").contains(op)) << op;
    proposals += r.at("operators").at(op).at("proposals").get<std::size_t>();
  }
  // Everything but the seeds (baseline + 12 x 6 single-op configurations) came from operators.
  EXPECT_EQ(proposals, d.proposals.size() - (1 + 12 * 6));
  // The incremental front archive agrees with the synthetic app's hypervolume of everything seen.
  std::vector<apps::front_point> pts;
  for (const auto& [c, m] : d.seen) pts.push_back({m.qos, a.baseline_cost() / m.cost});
  EXPECT_NEAR(r.at("hypervolume").get<double>(), apps::hypervolume(pts, 100.0, 3.0), 1e-9);
  EXPECT_GT(r.at("hypervolume").get<double>(), 0.0);

  driver d2(a);
  auto only = make(a, 2, 97.0, {{"operators", {"mutate", "local"}}});
  d2.run(*only, 800);
  const auto r2 = only->report().at("operators");
  EXPECT_EQ(r2.size(), 2u);
  EXPECT_TRUE(r2.contains("mutate") && r2.contains("local"));
}

TEST(Auto, RejectsBadParams) {
  apps::synthetic_app a(shape(4, 3, 1));
  EXPECT_THROW(make(a, 0, 97.0, {{"operators", {"mutate", "annealing"}}}), config_error);
  EXPECT_THROW(make(a, 0, 97.0, {{"operators", nlohmann::json::array()}}), config_error);
  EXPECT_THROW(make(a, 0, 97.0, {{"exploration", 0.9}}), config_error);
  EXPECT_THROW(make(a, 0, 97.0, {{"seed_single_ops", 1}}), config_error);
  auto s = make(a, 0);
  EXPECT_THROW(s->load_state({{"strategy", "nsga2"}}), config_error);
}

TEST(Auto, OnlyInfeasibleResultsStillLeadSomewhere) {
  // Threshold above the baseline: nothing is feasible, the bandit falls back to random.
  apps::synthetic_app a(shape(6, 4, 5));
  driver d(a);
  auto s = make(a, 3, 100.5);
  d.run(*s, 300);
  EXPECT_GE(d.unique, 299u);
}

TEST(Auto, FindsNearlyAllOfTheExactFrontOfA10x8AppIn2000Evaluations) {
  for (std::uint64_t seed : {1, 2, 3}) {
    apps::synthetic_app a(shape(10, 8, seed));
    driver d(a);
    auto s = make(a, seed);
    d.run(*s, 2000);
    EXPECT_GE(d.hv_ratio(3.0), 0.97) << "seed " << seed;
  }
}

TEST(Auto, FindsMostOfTheFrontWithInteractionsThroughTheTuner) {
  // Through the real tuner and engine; 30x10 with the pairwise term, 3000 evaluations.
  for (std::uint64_t seed : {1, 2}) {
    apps::synthetic_app a(shape(30, 10, seed, 1.0));
    tuner t(a);
    tune_options o;
    o.strategy = "auto";
    o.max_iter = 3000;
    o.relative = true;
    o.qos_tuner_threshold = 3.0;
    o.test_configs = false;
    o.seed = seed;
    o.batch_size = 16;
    o.devices = "cpu:1";
    t.tune(o);
    std::vector<apps::front_point> pts;
    for (const auto& c : t.best_configs()) pts.push_back({c.qos, c.speedup()});
    const double ratio = apps::hypervolume(pts, 100.0, 3.0) /
                         apps::hypervolume(a.exact_front(97.0), 100.0, 3.0);
    EXPECT_GE(ratio, 0.93) << "seed " << seed;
    EXPECT_TRUE(t.summary().strategy_report.contains("operators"));
  }
}
