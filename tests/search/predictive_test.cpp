// predictive: the three phases (profiling, model search, validation) through the real tuner,
// their counts in the report, exactness of Pi-2 + profiled cost on the additive synthetic app,
// quality with interactions, the FLOP-linear cost model, params, determinism and save/load.
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "approxtune/apps/synthetic.hpp"
#include "approxtune/runtime/error.hpp"
#include "approxtune/runtime/evaluation_cache.hpp"
#include "approxtune/search/predictive.hpp"
#include "approxtune/search/strategy.hpp"
#include "approxtune/search/tuner.hpp"
#include "strategy_driver.hpp"

using namespace approxtune;
using approxtune::test_support::driver;
using approxtune::test_support::memory_cache;
using approxtune::test_support::shape;

namespace {

std::unique_ptr<search::strategy> make(const apps::synthetic_app& a, std::uint64_t seed,
                                       nlohmann::json params = nlohmann::json::object(),
                                       double threshold = 97.0) {
  return search::make_strategy(search::predictive_strategy_name,
                               {&a.space(), threshold, seed, std::move(params)});
}

struct tuned {
  double hv_ratio = 0.0;
  tune_summary summary;
};

tuned tune_predictive(const apps::synthetic_app& a, std::uint64_t seed, nlohmann::json params) {
  tuner t(a);
  tune_options o;
  o.strategy = "predictive";
  o.strategy_params = std::move(params);
  o.max_iter = 100000;
  o.relative = true;
  o.qos_tuner_threshold = 3.0;
  o.test_configs = false;
  o.seed = seed;
  o.batch_size = 16;
  o.devices = "cpu:2";
  t.tune(o);
  std::vector<apps::front_point> pts;
  for (const auto& c : t.best_configs()) pts.push_back({c.qos, c.speedup()});
  return {apps::hypervolume(pts, 100.0, 3.0) / apps::hypervolume(a.exact_front(97.0), 100.0, 3.0),
          t.summary()};
}

}  // namespace

TEST(Predictive, Pi2WithProfiledCostIsExactOnTheAdditiveApp) {
  for (std::uint64_t seed : {1, 2}) {
    apps::synthetic_app a(shape(30, 10, seed));
    const auto r = tune_predictive(a, seed, {{"model_evaluations", 20000}, {"validate", 100}});
    EXPECT_GE(r.hv_ratio, 0.98) << "seed " << seed;
    const auto& rep = r.summary.strategy_report;
    const auto& ph = rep.at("phases");
    // The baseline was measured by the tuner: its profiling proposal is served from the cache.
    EXPECT_EQ(ph.at("profiling").at("measured").get<std::size_t>(), 30u * 10u);
    EXPECT_EQ(ph.at("profiling").at("cached").get<std::size_t>(), 1u);
    EXPECT_EQ(ph.at("model_search").at("predictions").get<std::size_t>(), 20000u);
    const auto validated = ph.at("validation").at("measured").get<std::size_t>();
    EXPECT_GT(validated, 0u);
    EXPECT_LE(validated, 100u);
    EXPECT_EQ(rep.at("real_measurements").get<std::size_t>(), 300u + validated);
    EXPECT_EQ(r.summary.evaluations, 1u + 300u + validated);
    EXPECT_TRUE(r.summary.exhausted);  // it stops by itself after validation
  }
}

TEST(Predictive, StaysGoodWithInteractionsAndOtherSearches) {
  apps::synthetic_app a(shape(30, 10, 3, 1.0));
  for (const char* search : {"auto", "nsga2", "exact"}) {
    const auto r = tune_predictive(
        a, 3, {{"model_evaluations", 20000}, {"validate", 100}, {"search", search}});
    EXPECT_GE(r.hv_ratio, std::string(search) == "nsga2" ? 0.6 : 0.9) << search;
    EXPECT_LE(r.summary.evaluations, 1u + 300u + 100u) << search;
  }
}

TEST(Predictive, FlopLinearCostModel) {
  apps::synthetic_app a(shape(10, 4, 2));
  nlohmann::json flops = nlohmann::json::array();
  for (std::size_t op = 0; op < 10; ++op) flops.push_back(a.op_cost(op));
  // Per-knob nominal speedups (shared by every op here, unlike the app's: an inexact model).
  nlohmann::json speedups = {{"k0", 1.5}, {"k1", 2.0}, {"k2", 1.2}, {"k3", 2.5}};
  const auto r = tune_predictive(
      a, 1,
      {{"cost_model", "flops"}, {"op_flops", flops}, {"knob_speedups", speedups},
       {"model_evaluations", 5000}, {"validate", 40}});
  EXPECT_EQ(r.summary.strategy_report.at("cost_model"), "flops");
  EXPECT_GT(r.hv_ratio, 0.5);
  EXPECT_LE(r.summary.evaluations, 1u + 40u + 40u);
}

TEST(Predictive, RejectsWhatItCannotDo) {
  apps::synthetic_app a(shape(4, 3, 1));
  EXPECT_THROW(make(a, 0, {{"qos_model", "pi1"}}), config_error);
  EXPECT_THROW(make(a, 0, {{"qos_model", "pi3"}}), config_error);
  EXPECT_THROW(make(a, 0, {{"cost_model", "flops"}}), config_error);
  EXPECT_THROW(make(a, 0, {{"cost_model", "flops"}, {"op_flops", {1, 2}}}), config_error);
  EXPECT_THROW(make(a, 0, {{"cost_model", "time"}}), config_error);
  EXPECT_THROW(make(a, 0, {{"search", "annealing"}}), config_error);
  EXPECT_THROW(make(a, 0, {{"validate", 0}}), config_error);
  auto s = make(a, 0);
  EXPECT_THROW(s->load_state({{"strategy", "auto"}}), config_error);
}

TEST(Predictive, DeterministicAndSaveLoadContinuesIdentically) {
  apps::synthetic_app a(shape(12, 5, 4, 0.5));
  const nlohmann::json params = {{"model_evaluations", 5000}, {"validate", 30}};
  // Stop in the profiling phase, right after it, and in validation.
  for (std::size_t stop : {20, 61, 75}) {
    driver d1(a);
    auto s1 = make(a, 5, params);
    d1.run(*s1, stop, 8);
    const std::string saved = s1->save_state().dump();
    auto s2 = make(a, 77);
    s2->load_state(nlohmann::json::parse(saved));
    driver d2 = d1;
    d1.proposals.clear();
    d2.proposals.clear();
    d1.run(*s1, 1000, 8);
    d2.run(*s2, 1000, 8);
    EXPECT_EQ(d1.proposals, d2.proposals) << "stopped at " << stop;
    EXPECT_FALSE(d1.proposals.empty());
    auto r1 = s1->report(), r2 = s2->report();
    r1["phases"]["model_search"].erase("seconds");
    r2["phases"]["model_search"].erase("seconds");
    EXPECT_EQ(r1, r2);
  }
  driver d3(a), d4(a);
  auto s3 = make(a, 5, params), s4 = make(a, 5, params);
  d3.run(*s3, 1000, 8);
  d4.run(*s4, 1000, 8);
  EXPECT_EQ(d3.proposals, d4.proposals);
  std::set<config_code> distinct(d3.proposals.begin(), d3.proposals.end());
  EXPECT_EQ(distinct.size(), d3.proposals.size());
}

TEST(MultiObjectiveResume, ARunResumedThroughTheStoreEqualsAnUninterruptedOne) {
  // The store keeps every measurement (the predictive profile included); a resumed run replays
  // the strategy through it and measures only what the interrupted run had not.
  apps::synthetic_app a(shape(10, 6, 5, 0.5));
  for (const char* strat : {"nsga2", "auto", "predictive"}) {
    auto opts = [&](std::size_t budget) {
      tune_options o;
      o.strategy = strat;
      o.strategy_params = {{"model_evaluations", 5000}, {"validate", 40}};
      if (std::string(strat) != "predictive") o.strategy_params = nlohmann::json::object();
      o.max_iter = budget;
      o.relative = true;
      o.qos_tuner_threshold = 2.0;
      o.seed = 9;
      o.batch_size = 8;
      o.devices = "cpu:2";
      return o;
    };
    tuner full(a);
    full.tune(opts(400));

    memory_cache store;
    tuner first(a);
    auto o1 = opts(30);  // "killed" after 30 evaluations (mid-profiling for predictive)
    o1.on_commit = [&](std::span<const evaluation> es) { store.record(es); };
    first.tune(o1);

    tuner second(a);
    auto o2 = opts(400);
    o2.cache = &store;
    second.tune(o2);

    ASSERT_EQ(second.all_configs().size(), full.all_configs().size()) << strat;
    for (std::size_t i = 0; i < full.all_configs().size(); ++i)
      EXPECT_EQ(second.all_configs()[i].knobs, full.all_configs()[i].knobs) << strat;
    EXPECT_GE(second.summary().store_hits, 29u) << strat;
    auto r1 = full.summary().strategy_report, r2 = second.summary().strategy_report;
    if (r1.contains("phases")) {
      r1["phases"]["model_search"].erase("seconds");
      r2["phases"]["model_search"].erase("seconds");
    }
    EXPECT_EQ(r1, r2) << strat;
  }
}
