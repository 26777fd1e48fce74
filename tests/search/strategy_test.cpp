// Strategies: registry, validity, determinism, save/load, termination on a tiny space, and
// `opentuner-default` against `random` on the synthetic app's thresholded objective.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "approxtune/apps/synthetic.hpp"
#include "approxtune/runtime/error.hpp"
#include "approxtune/search/predictive.hpp"  // nsga2_strategy_name, auto_strategy_name
#include "approxtune/search/strategies.hpp"
#include "approxtune/search/strategy.hpp"
#include "../../search/src/strategy_support.hpp"  // proposed_set (internal)

namespace approxtune::search {
namespace {

// Every built-in strategy that needs nothing but a knob space (predictive needs an app's profile).
const std::vector<std::string> builtins{random_strategy_name, opentuner_default_strategy_name,
                                        nsga2_strategy_name, auto_strategy_name};

// A deterministic objective for spaces that are not the synthetic app's.
measurement toy_measure(const config_code& code) {
  double qos = 100.0, cost = 0.0;
  for (std::size_t i = 0; i < code.size(); ++i) {
    qos -= 0.3 * code[i] * (1.0 + 0.1 * static_cast<double>(i % 3));
    cost += 1.0 / (1.0 + code[i]);
  }
  return {qos, cost};
}

knob_space make_space(std::size_t ops, std::size_t knobs) {
  std::vector<op_knobs> decl;
  for (std::size_t i = 0; i < ops; ++i) {
    std::vector<knob> ks;
    ks.emplace_back("base", std::vector<std::string>{}, 1);  // the baseline, index 0
    for (std::size_t k = 1; k < knobs; ++k) ks.emplace_back("k" + std::to_string(k));
    decl.push_back({"op" + std::to_string(i), std::move(ks)});
  }
  return knob_space(std::move(decl));
}

struct drive_result {
  std::vector<config_code> proposals;  // every proposal, in order
  std::size_t evaluations = 0;         // unique configurations measured
  std::size_t rounds = 0;
  bool stopped = false;       // propose returned nothing
  double best_speedup = 1.0;  // best speedup with qos >= threshold (the baseline's 1 if none)
};

// The tuner loop in miniature: propose, measure (a cache serves repeats without budget), observe.
template <class Measure>
drive_result drive(strategy& s, const knob_space& space, Measure measure, double baseline_cost,
                   double threshold, std::size_t budget, std::size_t batch,
                   std::size_t max_rounds) {
  drive_result r;
  std::map<config_code, measurement> cache;
  while (r.evaluations < budget && r.rounds < max_rounds) {
    ++r.rounds;
    const auto props = s.propose(batch);
    EXPECT_LE(props.size(), batch);
    if (props.empty()) {
      r.stopped = true;
      break;
    }
    std::vector<observation> obs;
    for (const auto& code : props) {
      EXPECT_TRUE(space.valid(code)) << "invalid proposal";
      auto it = cache.find(code);
      const bool cached = it != cache.end();
      if (!cached) {
        it = cache.emplace(code, measure(code)).first;
        ++r.evaluations;
      }
      const double rel_cost = it->second.cost / baseline_cost;
      obs.push_back({code, it->second.qos, rel_cost, true, cached});
      if (it->second.qos >= threshold) r.best_speedup = std::max(r.best_speedup, 1.0 / rel_cost);
      r.proposals.push_back(code);
    }
    s.observe(obs);
  }
  return r;
}

drive_result drive_toy(strategy& s, const knob_space& space, std::size_t budget, std::size_t batch,
                       std::size_t max_rounds = 10000) {
  return drive(s, space, toy_measure, static_cast<double>(space.num_ops()), 97.0, budget, batch,
               max_rounds);
}

std::unique_ptr<strategy> make(const std::string& name, const knob_space& space, std::uint64_t seed,
                               double threshold = 97.0) {
  strategy_context ctx;
  ctx.space = &space;
  ctx.seed = seed;
  ctx.qos_threshold = threshold;
  return make_strategy(name, ctx);
}

TEST(strategy_registry, lists_builtins_sorted) {
  const auto names = strategy_names();
  for (const auto& b : builtins) {
    EXPECT_NE(std::find(names.begin(), names.end(), b), names.end()) << b;
  }
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
}

TEST(strategy_registry, unknown_name_lists_registered_names) {
  const auto space = make_space(2, 3);
  try {
    make("no-such-strategy", space, 1);
    FAIL() << "expected config_error";
  } catch (const config_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("no-such-strategy"), std::string::npos) << what;
    for (const auto& b : builtins) EXPECT_NE(what.find(b), std::string::npos) << what;
  }
}

TEST(strategy_registry, null_space_is_rejected) {
  for (const auto& b : builtins) EXPECT_THROW(make_strategy(b, strategy_context{}), config_error);
}

TEST(strategy_registry, register_adds_and_replaces) {
  struct fixed final : strategy {
    std::string name() const override { return "test-fixed"; }
    std::vector<config_code> propose(std::size_t) override { return {}; }
    void observe(std::span<const observation>) override {}
    nlohmann::json save_state() const override { return {}; }
    void load_state(const nlohmann::json&) override {}
  };
  register_strategy("test-fixed",
                    [](const strategy_context&) { return std::make_unique<fixed>(); });
  const auto names = strategy_names();
  EXPECT_NE(std::find(names.begin(), names.end(), "test-fixed"), names.end());
  const auto space = make_space(2, 2);
  EXPECT_EQ(make("test-fixed", space, 0)->name(), "test-fixed");
  EXPECT_EQ(make("random", space, 0)->name(), "random");
}

TEST(strategy_params, opentuner_rejects_bad_params) {
  const auto space = make_space(2, 3);
  strategy_context ctx;
  ctx.space = &space;
  ctx.params = {{"population_size", 2}};
  EXPECT_THROW(make_strategy(opentuner_default_strategy_name, ctx), config_error);
  ctx.params = {{"window", "wide"}};
  EXPECT_THROW(make_strategy(opentuner_default_strategy_name, ctx), config_error);
}

// proposed_set's flat hash table against std::set, through several table growths, with many
// near-identical codes (one op differs) so that probes run across collisions.
TEST(proposed_set, matches_a_std_set_oracle) {
  using detail::proposed_set, detail::random_config, detail::strategy_rng;
  const auto space = make_space(7, 5);
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    proposed_set set(space);
    std::set<config_code> oracle;
    std::vector<config_code> order;
    strategy_rng rng(seed, 0);
    for (int i = 0; i < 20000; ++i) {
      config_code c = random_config(space, rng);
      if (i % 3 == 0 && !order.empty()) {  // a neighbour or an exact repeat of an earlier code
        c = order[rng.below(order.size())];
        if (i % 2 == 0) c[rng.below(c.size())] = static_cast<knob_index>(rng.below(5));
      }
      ASSERT_EQ(set.contains(c), oracle.count(c) == 1);
      const bool fresh = oracle.insert(c).second;
      ASSERT_EQ(set.insert(c), fresh);
      if (fresh) order.push_back(c);
      ASSERT_TRUE(set.contains(c));
    }
    ASSERT_EQ(set.size(), order.size());
    const auto listed = set.to_json();
    ASSERT_EQ(listed.size(), order.size());
    for (std::size_t i = 0; i < order.size(); ++i) ASSERT_EQ(listed[i].get<config_code>(), order[i]) << i;
    proposed_set back(space);
    back.from_json(nlohmann::json::parse(set.to_json().dump()));
    EXPECT_EQ(back.to_json(), set.to_json());
    EXPECT_THROW(back.insert(config_code(6, 0)), config_error);  // wrong length
  }
}

// A tuner's record of proposals, as a plain ordered list + std::set (the oracle of the
// proposed_set's history mode).
class list_history final : public search::proposal_history {
 public:
  bool proposed(std::span<const knob_index> code, std::uint64_t) const override {
    return seen.count(config_code(code.begin(), code.end())) == 1;
  }
  std::size_t proposed_count() const override { return order.size(); }
  void for_each_proposed(const std::function<void(std::span<const knob_index>)>& visit) const override {
    for (const auto& c : order) visit(c);
  }
  void record(const config_code& c) {
    if (seen.insert(c).second) order.push_back(c);
  }
  std::set<config_code> seen;
  std::vector<config_code> order;
};

TEST(proposed_set_test, history_mode_answers_as_the_standalone_set) {
  // Under a history, the set keeps only what the history lacks. Batches of proposals are
  // handed to the history after each round (as the tuner does), some never (a stop); every
  // answer must match a standalone set's.
  using detail::proposed_set, detail::random_config, detail::strategy_rng;
  const auto space = make_space(6, 4);
  for (std::uint64_t seed : {5u, 6u}) {
    list_history history;
    proposed_set with(space, &history), alone(space);
    strategy_rng rng(seed, 0), draw_a(seed, 1), draw_b(seed, 1);
    std::vector<config_code> batch, all;
    for (int i = 0; i < 6000; ++i) {
      config_code c = random_config(space, rng);
      if (i % 3 == 0 && !all.empty()) c = all[rng.below(all.size())];  // repeats
      ASSERT_EQ(with.contains(c), alone.contains(c)) << i;
      const bool fresh = alone.insert(c);
      ASSERT_EQ(with.insert(c), fresh) << i;
      if (fresh) {
        batch.push_back(c);
        all.push_back(c);
      }
      ASSERT_EQ(with.size(), alone.size()) << i;
      if (i % 16 == 15) {
        if (i % 160 != 159)  // every 10th batch is never recorded (proposals of a stopped round)
          for (const auto& b : batch) history.record(b);
        batch.clear();
      }
      if (i % 500 == 0) {  // the unseen sampler draws the same in both modes
        ASSERT_EQ(with.draw_unseen(draw_a), alone.draw_unseen(draw_b)) << i;
      }
    }
    auto sorted = [](const nlohmann::json& j) {
      std::vector<config_code> v;
      for (const auto& c : j) v.push_back(c.get<config_code>());
      std::sort(v.begin(), v.end());
      return v;
    };
    EXPECT_EQ(sorted(with.to_json()), sorted(alone.to_json()));
    EXPECT_TRUE(with.exhausted() == alone.exhausted());
  }
}

class each_strategy : public ::testing::TestWithParam<std::string> {};

TEST_P(each_strategy, proposals_are_valid_and_deterministic) {
  const auto space = make_space(6, 5);
  auto a = make(GetParam(), space, 42);
  auto b = make(GetParam(), space, 42);
  auto c = make(GetParam(), space, 43);
  const auto ra = drive_toy(*a, space, 400, 7);
  const auto rb = drive_toy(*b, space, 400, 7);
  const auto rc = drive_toy(*c, space, 400, 7);
  EXPECT_EQ(ra.proposals, rb.proposals);
  EXPECT_NE(ra.proposals, rc.proposals);
  EXPECT_GE(ra.evaluations, 400u);
  for (const auto& p : ra.proposals) ASSERT_TRUE(space.valid(p));
}

TEST_P(each_strategy, save_load_round_trip_gives_identical_future) {
  const auto space = make_space(8, 4);
  for (std::size_t k : {0, 1, 5, 23}) {
    SCOPED_TRACE("rounds before save: " + std::to_string(k));
    auto a = make(GetParam(), space, 7);
    drive_toy(*a, space, 1000000, 5, k);
    // Through text, as a store would keep it.
    const std::string saved = a->save_state().dump();
    auto b = make(GetParam(), space, 999);  // a different seed: everything must come from the state
    b->load_state(nlohmann::json::parse(saved));
    EXPECT_EQ(b->save_state(), a->save_state());
    const auto ra = drive_toy(*a, space, 300, 6);
    const auto rb = drive_toy(*b, space, 300, 6);
    EXPECT_EQ(ra.proposals, rb.proposals);
    EXPECT_EQ(a->save_state(), b->save_state());
  }
}

TEST_P(each_strategy, save_load_with_pending_proposals) {
  const auto space = make_space(5, 4);
  auto a = make(GetParam(), space, 11);
  drive_toy(*a, space, 1000000, 4, 10);
  const auto pending = a->propose(3);  // not observed yet
  auto b = make(GetParam(), space, 11);
  b->load_state(nlohmann::json::parse(a->save_state().dump()));
  std::vector<observation> obs;
  for (const auto& p : pending) {
    const auto m = toy_measure(p);
    obs.push_back({p, m.qos, m.cost / 5.0, true, false});
  }
  a->observe(obs);
  b->observe(obs);
  EXPECT_EQ(a->propose(9), b->propose(9));
}

TEST_P(each_strategy, load_state_rejects_garbage) {
  const auto space = make_space(3, 3);
  auto a = make(GetParam(), space, 1);
  EXPECT_THROW(a->load_state(nlohmann::json{{"strategy", "other"}}), config_error);
  EXPECT_THROW(a->load_state(nlohmann::json::array()), config_error);
  drive_toy(*a, space, 1000000, 3, 4);
  const auto saved = a->save_state();
  auto wrong_type = saved;
  wrong_type[saved.contains("seed") ? "seed" : "rng"] = nlohmann::json::array();
  EXPECT_THROW(a->load_state(wrong_type), config_error);
  // Content that cannot belong to this space: an out-of-range proposal (strategies that keep
  // their proposals) or a history the replay cannot reproduce (strategies saved as a replay).
  auto corrupt = saved;
  if (corrupt.contains("proposed")) {
    corrupt["proposed"] = nlohmann::json::array({nlohmann::json::array({9, 9, 9})});
  } else {
    ASSERT_TRUE(corrupt.contains("rounds")) << saved.dump();
    ASSERT_FALSE(corrupt["rounds"].empty());
    corrupt["rounds"][0]["got"] = 1000;
  }
  EXPECT_THROW(a->load_state(corrupt), config_error);
  // A rejected state leaves the strategy as it was.
  EXPECT_EQ(a->save_state(), saved);
}

TEST_P(each_strategy, tiny_space_terminates) {
  // 2 ops x 2 knobs = 4 configurations: the loop must run dry, not spin on duplicates.
  const auto space = make_space(2, 2);
  auto s = make(GetParam(), space, 5);
  const auto r = drive_toy(*s, space, 1000, 3, 50);
  EXPECT_TRUE(r.stopped) << "still proposing after " << r.rounds << " rounds";
  EXPECT_EQ(r.evaluations, 4u);
  const std::set<config_code> unique(r.proposals.begin(), r.proposals.end());
  EXPECT_EQ(unique.size(), 4u);
  EXPECT_TRUE(s->propose(3).empty());
}

TEST_P(each_strategy, single_configuration_space) {
  const auto space = make_space(3, 1);
  auto s = make(GetParam(), space, 5);
  const auto r = drive_toy(*s, space, 1000, 4, 20);
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.evaluations, 1u);
}

TEST_P(each_strategy, small_space_is_covered_without_repeats) {
  // 3^5 = 243 configurations: the strategy must reach all of them, then stop.
  const auto space = make_space(5, 3);
  auto s = make(GetParam(), space, 3);
  const auto r = drive_toy(*s, space, 100000, 16, 2000);
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.evaluations, 243u);
  const std::set<config_code> unique(r.proposals.begin(), r.proposals.end());
  EXPECT_EQ(unique.size(), r.proposals.size()) << "re-proposed a configuration";
}

TEST_P(each_strategy, failed_observations_are_tolerated) {
  const auto space = make_space(6, 4);
  auto s = make(GetParam(), space, 9);
  for (int round = 0; round < 40; ++round) {
    const auto props = s->propose(5);
    ASSERT_FALSE(props.empty());
    std::vector<observation> obs;
    for (std::size_t i = 0; i < props.size(); ++i) {
      const auto m = toy_measure(props[i]);
      const bool fail = (round + i) % 3 == 0;
      obs.push_back({props[i], fail ? NAN : m.qos, fail ? NAN : m.cost / 6.0, !fail, false});
    }
    s->observe(obs);
  }
  // A failed result must survive a save/load (JSON has no NaN).
  auto b = make(GetParam(), space, 9);
  b->load_state(nlohmann::json::parse(s->save_state().dump()));
  EXPECT_EQ(s->propose(4), b->propose(4));
}

INSTANTIATE_TEST_SUITE_P(builtin, each_strategy, ::testing::ValuesIn(builtins),
                         [](const auto& info) {
                           std::string n = info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

TEST(opentuner_default, observations_out_of_order_are_rejected) {
  const auto space = make_space(4, 3);
  auto s = make(opentuner_default_strategy_name, space, 2);
  const auto props = s->propose(2);
  ASSERT_EQ(props.size(), 2u);
  std::vector<observation> obs{{props[1], 99.0, 0.5, true, false}};
  ASSERT_NE(props[0], props[1]);
  EXPECT_THROW(s->observe(obs), config_error);
}

// Median over seeds of the best speedup found within the QoS budget on the synthetic app
// (30 ops x 10 knobs + baseline): ApproxTuner's setting, where random search rarely meets a
// tight threshold and the greedy techniques walk along it.
double median_best(const std::string& name, const apps::synthetic_app& app, double budget_loss,
                   std::size_t evaluations) {
  std::vector<double> best;
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    auto s = make(name, app.space(), seed, 100.0 - budget_loss);
    const auto r = drive(
        *s, app.space(), [&](const config_code& c) { return app.evaluate(c, split::tune); },
        app.baseline_cost(), 100.0 - budget_loss, evaluations, 8, 100000);
    best.push_back(r.best_speedup);
  }
  std::sort(best.begin(), best.end());
  return best[best.size() / 2];
}

TEST(opentuner_default, beats_random_on_a_thresholded_objective) {
  // Deterministic (fixed seeds). Over app seeds 1..10 the opentuner-default median was 1.2x to
  // 2.2x the random one (scratch study noted in /work/notes/search.md): a 1.1x margin is safe.
  for (std::uint64_t app_seed : {2021, 1, 2}) {
    apps::synthetic_options o;
    o.ops = 30;
    o.knobs = 10;
    o.seed = app_seed;
    const apps::synthetic_app app(o);
    const double budget_loss = 3.0;
    const auto exact = app.exact_front(100.0 - budget_loss);
    ASSERT_FALSE(exact.empty());
    double optimum = 0.0;
    for (const auto& pt : exact) optimum = std::max(optimum, pt.speedup);
    const double ot = median_best(opentuner_default_strategy_name, app, budget_loss, 400);
    const double rnd = median_best(random_strategy_name, app, budget_loss, 400);
    std::printf(
        "app seed %llu: median best speedup within a %.1f QoS loss after 400 "
        "evaluations: opentuner-default %.4f, random %.4f, exact optimum %.4f\n",
        static_cast<unsigned long long>(app_seed), budget_loss, ot, rnd, optimum);
    // Nothing can beat the exact DP front: a check on the harness as much as the strategies.
    EXPECT_LE(ot, optimum * (1.0 + 1e-9));
    EXPECT_LE(rnd, optimum * (1.0 + 1e-9));
    EXPECT_GT(ot, 1.1 * rnd);
  }
}

}  // namespace
}  // namespace approxtune::search
