// nsga2: registration, seeding, determinism, duplicate-free proposals, constraint handling,
// save/load round trip, and quality against the synthetic app's exact front.
#include <cmath>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "approxtune/apps/synthetic.hpp"
#include "approxtune/runtime/error.hpp"
#include "approxtune/search/predictive.hpp"
#include "approxtune/search/strategy.hpp"
#include "strategy_driver.hpp"

using namespace approxtune;
using approxtune::test_support::driver;
using approxtune::test_support::shape;

namespace {

std::unique_ptr<search::strategy> make(const apps::synthetic_app& a, std::uint64_t seed,
                                       double threshold = 97.0,
                                       nlohmann::json params = nlohmann::json::object()) {
  return search::make_strategy(search::nsga2_strategy_name,
                               {&a.space(), threshold, seed, std::move(params)});
}

}  // namespace

TEST(Nsga2, IsRegisteredWithTheOtherMultiObjectiveStrategies) {
  const auto names = search::strategy_names();
  for (const char* n : {"nsga2", "auto", "predictive"})
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
}

TEST(Nsga2, SeedsWithTheBaselineAndEverySingleOpApproximation) {
  apps::synthetic_app a(shape(5, 4, 1));
  auto s = make(a, 0);
  const auto p = s->propose(100);
  // Only the seeds: the first generation is bred from their results, after they are observed.
  ASSERT_EQ(p.size(), 1u + 5u * 4u);
  EXPECT_EQ(p[0], a.space().baseline_code());
  for (std::size_t i = 1; i <= 5 * 4; ++i) {
    std::size_t changed = 0;
    for (std::size_t op = 0; op < 5; ++op) changed += p[i][op] != a.space().baseline_index(op);
    EXPECT_EQ(changed, 1u) << i;
  }
}

// Properties every strategy shares (determinism, no repeats, exhausting a tiny space, state
// round trips, rejecting bad states) are in strategy_test.cpp (each_strategy).

TEST(Nsga2, ConstraintSteersTheSearchIntoTheFeasibleRegion) {
  // A tight threshold: uniformly random configurations of this space essentially never meet it.
  apps::synthetic_app a(shape(30, 10, 4));
  const double threshold = 99.0;
  driver d(a);
  auto s = make(a, 2, threshold);
  d.run(*s, 3000);
  std::size_t feasible = 0, late = 0;
  for (std::size_t i = d.proposals.size() - 1000; i < d.proposals.size(); ++i, ++late)
    feasible += d.seen.at(d.proposals[i]).qos >= threshold;
  EXPECT_GT(feasible, late / 2) << feasible << " of the last " << late << " proposals feasible";
  EXPECT_GT(s->report().at("feasible_in_population").get<std::size_t>(), 0u);
}

TEST(Nsga2, FailedEvaluationsAreToleratedAndRankedLast) {
  apps::synthetic_app a(shape(6, 4, 5));
  auto s = make(a, 3);
  for (int round = 0; round < 30; ++round) {
    const auto p = s->propose(10);
    ASSERT_FALSE(p.empty());
    std::vector<search::observation> obs;
    for (std::size_t i = 0; i < p.size(); ++i) {
      const bool fail = i % 3 == 0;
      const auto m = a.evaluate(p[i], split::tune);
      const double nan = std::nan("");
      obs.push_back({p[i], fail ? nan : m.qos, fail ? nan : m.cost, !fail, false});
    }
    s->observe(obs);
  }
}

TEST(Nsga2, SaveLoadRoundTripContinuesIdentically) {
  apps::synthetic_app a(shape(15, 5, 6));
  driver d1(a);
  auto s1 = make(a, 11, 97.5, {{"population_size", 24}});
  d1.run(*s1, 500, 9);
  const std::string saved = s1->save_state().dump();
  auto s2 = make(a, 999);  // seed and params come from the state
  s2->load_state(nlohmann::json::parse(saved));
  EXPECT_EQ(s2->save_state().dump(), saved);
  driver d2 = d1;
  d1.proposals.clear();
  d2.proposals.clear();
  d1.run(*s1, 1200, 9);
  d2.run(*s2, 1200, 9);
  EXPECT_EQ(d1.proposals, d2.proposals);
  EXPECT_EQ(s1->report(), s2->report());
}

TEST(Nsga2, RejectsBadParamsAndForeignStates) {
  apps::synthetic_app a(shape(4, 3, 1));
  EXPECT_THROW(make(a, 0, 97.0, {{"population_size", 1}}), config_error);
  EXPECT_THROW(make(a, 0, 97.0, {{"crossover_rate", "high"}}), config_error);
  auto s = make(a, 0);
  EXPECT_THROW(s->load_state({{"strategy", "random"}}), config_error);
}

TEST(Nsga2, FindsMostOfTheExactFrontOfASmallApp) {
  for (std::uint64_t seed : {1, 2, 3}) {
    apps::synthetic_app a(shape(10, 8, seed));
    driver d(a);
    auto s = make(a, seed);
    d.run(*s, 5000);
    EXPECT_GE(d.hv_ratio(3.0), 0.95) << "seed " << seed;
  }
}
