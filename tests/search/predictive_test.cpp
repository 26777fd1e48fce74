// predictive: the three phases (profiling, model search, validation) through the real tuner,
// their counts in the report, exactness of Pi-2 + profiled cost on the additive synthetic app,
// quality with interactions, the FLOP-linear cost model, params, determinism and save/load.
// Pi-1: exactness on an app whose outputs are additive (but whose QoS is not), the incremental
// predictor against the from-scratch sum, and the keyed output-profile file.
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include <gtest/gtest.h>

#include "approxtune/apps/synthetic.hpp"
#include "approxtune/runtime/error.hpp"
#include "approxtune/runtime/evaluation_cache.hpp"
#include "approxtune/search/pareto.hpp"
#include "approxtune/search/predictive.hpp"
#include "approxtune/search/strategy.hpp"
#include "approxtune/search/tuner.hpp"
#include "runtime/test_ops.hpp"
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

namespace {

// An app whose output tensor is exactly additive: out(code) = base + sum over ops of
// A[op][knob] (A = 0 for the baseline knob), small integers so every sum is exact in float and
// double. QoS = top-1 accuracy (percent, first maximum wins) of `images` rows of `classes`
// scores against fixed labels: not additive. Cost = sum of per-op integer costs (additive).
class linear_output_app final : public app, public output_app {
 public:
  linear_output_app(std::size_t ops, std::size_t knobs, std::size_t images, std::size_t classes,
                    std::uint64_t seed, std::uint64_t content)
      : app(test_support::uniform_ops(ops, knobs)), knobs_(knobs), images_(images), classes_(classes),
        content_(content) {
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<int> small(-3, 3), label(0, static_cast<int>(classes) - 1),
        cost(1, 8);
    const std::size_t size = images * classes;
    base_.resize(size);
    for (auto& v : base_) v = static_cast<float>(small(rng) * 2);
    labels_.resize(images);
    for (auto& l : labels_) l = label(rng);
    a_.assign(ops, std::vector<std::vector<float>>(knobs + 1, std::vector<float>(size, 0.0f)));
    cost_.assign(ops, std::vector<double>(knobs + 1, 8.0));  // baseline knob (index K) costs 8
    for (std::size_t op = 0; op < ops; ++op)
      for (std::size_t k = 0; k < knobs; ++k) {
        for (auto& v : a_[op][k]) v = static_cast<float>(small(rng));
        cost_[op][k] = cost(rng);
      }
  }

  std::string name() const override { return "linear-outputs"; }
  std::uint64_t content_hash() const override { return content_; }
  bool cost_is_timed() const override { return false; }
  const output_app* outputs() const override { return this; }

  measurement measure(const config_code& code, split s) const override {
    const auto out = measure_outputs(code, s);
    double c = 0.0;
    for (std::size_t op = 0; op < code.size(); ++op) c += cost_[op][code[op]];
    return {qos_from_outputs(std::vector<double>(out.begin(), out.end()), s), c};
  }
  std::size_t output_size(split) const override { return images_ * classes_; }
  std::vector<float> measure_outputs(const config_code& code, split) const override {
    std::vector<float> out = base_;
    for (std::size_t op = 0; op < code.size(); ++op)
      for (std::size_t j = 0; j < out.size(); ++j) out[j] += a_[op][code[op]][j];
    return out;
  }
  double qos_from_outputs(std::span<const double> out, split s) const override {
    if (out.size() != output_size(s)) throw config_error("linear-outputs: wrong output size");
    std::size_t ok = 0;
    for (std::size_t i = 0; i < images_; ++i) {
      const auto row = out.subspan(i * classes_, classes_);
      ok += std::max_element(row.begin(), row.end()) - row.begin() == labels_[i];
    }
    return 100.0 * static_cast<double>(ok) / static_cast<double>(images_);
  }

  // Every configuration of the space (for small spaces), for brute-force oracles.
  std::vector<config_code> all_configs() const {
    std::vector<config_code> all{config_code(space().num_ops(), 0)};
    for (std::size_t op = 0; op < space().num_ops(); ++op) {
      std::vector<config_code> next;
      for (const auto& c : all)
        for (std::size_t k = 0; k <= knobs_; ++k) {
          next.push_back(c);
          next.back()[op] = static_cast<knob_index>(k);
        }
      all = std::move(next);
    }
    return all;
  }

 private:
  std::size_t knobs_, images_, classes_;
  std::uint64_t content_;
  std::vector<float> base_;
  std::vector<int> labels_;
  std::vector<std::vector<std::vector<float>>> a_;
  std::vector<std::vector<double>> cost_;
};

std::uint64_t fresh_seed() { return std::random_device{}(); }

// The Pi-1 model built from the app's own single-op outputs (as the strategy profiles them).
search::output_model profile(const linear_output_app& a) {
  const auto& sp = a.space();
  search::output_model m;
  const auto base = a.measure_outputs(sp.baseline_code(), split::tune);
  m.base.assign(base.begin(), base.end());
  m.base_code = sp.baseline_code();
  m.delta.resize(sp.num_ops());
  for (std::size_t op = 0; op < sp.num_ops(); ++op) {
    m.delta[op].resize(sp.num_knobs(op));
    for (std::size_t k = 0; k < sp.num_knobs(op); ++k) {
      if (k == sp.baseline_index(op)) continue;
      auto c = sp.baseline_code();
      c[op] = static_cast<knob_index>(k);
      const auto out = a.measure_outputs(c, split::tune);
      for (std::size_t j = 0; j < out.size(); ++j)
        m.delta[op][k].push_back(static_cast<double>(out[j]) - m.base[j]);
    }
  }
  return m;
}

tune_options pi1_options(std::uint64_t seed, nlohmann::json params) {
  tune_options o;
  o.strategy = "predictive";
  o.strategy_params = std::move(params);
  o.strategy_params["qos_model"] = "pi1";
  o.max_iter = 100000;
  o.relative = true;
  o.qos_tuner_threshold = 10.0;
  o.test_configs = false;
  o.seed = seed;
  o.batch_size = 8;
  o.devices = "cpu:2";
  return o;
}

}  // namespace

TEST(PredictivePi1, PredictsExactlyWhenOutputsAreAdditive) {
  const auto seed = fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  linear_output_app a(5, 3, 40, 4, seed, 1);
  const auto m = profile(a);
  const auto all = a.all_configs();
  ASSERT_EQ(all.size(), 1024u);
  search::output_predictor inc(m);
  std::vector<double> pred;
  std::size_t pi2_wrong = 0;
  const double base_qos = a.measure(a.space().baseline_code(), split::tune).qos;
  for (const auto& c : all) {
    const auto truth = a.measure_outputs(c, split::tune);
    m.predict(c, pred);
    ASSERT_EQ(pred, std::vector<double>(truth.begin(), truth.end()));
    inc.set(c);
    ASSERT_TRUE(std::equal(inc.outputs().begin(), inc.outputs().end(), truth.begin()));
    const double q = a.measure(c, split::tune).qos;
    EXPECT_EQ(a.qos_from_outputs(pred, split::tune), q);
    // Pi-2 (sum of single-op QoS deltas) on the same app: not exact, so the check above bites.
    double pi2 = base_qos;
    for (std::size_t op = 0; op < c.size(); ++op) {
      if (c[op] == a.space().baseline_index(op)) continue;
      auto single = a.space().baseline_code();
      single[op] = c[op];
      pi2 += a.measure(single, split::tune).qos - base_qos;
    }
    pi2_wrong += pi2 != q;
  }
  EXPECT_GT(pi2_wrong, 0u);
}

TEST(PredictivePi1, IncrementalUpdateEqualsTheFromScratchSum) {
  const auto seed = fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  const std::size_t ops = 12, size = 300;
  search::output_model m;
  m.base.resize(size);
  for (auto& v : m.base) v = u(rng);
  m.delta.resize(ops);
  for (std::size_t op = 0; op < ops; ++op) {
    const std::size_t knobs = 2 + rng() % 6;
    m.base_code.push_back(static_cast<knob_index>(rng() % knobs));
    m.delta[op].resize(knobs);
    for (std::size_t k = 0; k < knobs; ++k) {
      if (k == m.base_code[op]) continue;
      m.delta[op][k].resize(size);
      for (auto& v : m.delta[op][k]) v = u(rng);
    }
  }
  search::output_predictor p(m);
  EXPECT_TRUE(std::equal(p.outputs().begin(), p.outputs().end(), m.base.begin()));
  std::vector<double> scratch;
  config_code code = m.base_code;
  for (int step = 0; step < 3000; ++step) {
    const std::size_t op = rng() % ops;
    const auto k = static_cast<knob_index>(rng() % m.delta[op].size());
    const std::size_t before = p.moves_since_refresh();
    if (step % 3 == 0) {
      p.move(op, k);
      code[op] = k;
      EXPECT_EQ(p.moves_since_refresh(), before + 1);
    } else {
      // One op changed: an incremental move (unless the refresh period is reached).
      auto next = code;
      next[op] = k;
      if (step % 3 == 2) next[rng() % ops] = static_cast<knob_index>(0);
      std::size_t changed = 0, approximated = 0;
      for (std::size_t i = 0; i < ops; ++i) {
        changed += next[i] != code[i];
        approximated += next[i] != m.base_code[i];
      }
      p.set(next);
      code = next;
      // Incremental unless from scratch is cheaper or the refresh period is reached.
      if (changed == 1 && approximated >= 1 && before + 1 <= search::output_predictor::refresh_moves) {
        EXPECT_EQ(p.moves_since_refresh(), before + 1);
      }
      // `set` refreshes rather than go past the period (direct `move`s may go past it).
      if (changed > 0) {
        EXPECT_LE(p.moves_since_refresh(), search::output_predictor::refresh_moves);
      }
    }
    ASSERT_EQ(std::vector<knob_index>(p.code().begin(), p.code().end()), code);
    m.predict(code, scratch);
    for (std::size_t j = 0; j < size; ++j) ASSERT_NEAR(p.outputs()[j], scratch[j], 1e-9) << step;
  }
  p.refresh();
  m.predict(code, scratch);
  EXPECT_TRUE(std::equal(p.outputs().begin(), p.outputs().end(), scratch.begin()));
}

TEST(PredictivePi1, ThroughTheTunerFindsTheExactFront) {
  const auto seed = fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  linear_output_app a(5, 3, 40, 4, seed, 2);
  tuner t(a);
  t.tune(pi1_options(3, {{"model_evaluations", 5000}, {"validate", 1000}}));
  const auto& rep = t.summary().strategy_report;
  EXPECT_EQ(rep.at("qos_model"), "pi1");
  const auto& prof = rep.at("phases").at("profiling");
  EXPECT_EQ(prof.at("output_passes").get<std::size_t>(), 1u + 5u * 3u);
  EXPECT_EQ(rep.at("output_profile").at("source"), "measured");
  EXPECT_EQ(prof.at("measured").get<std::size_t>(), 15u);
  // Brute-force front over the whole space (the oracle).
  const auto all = a.all_configs();
  std::vector<double> q, sp;
  const double base_cost = a.measure(a.space().baseline_code(), split::tune).cost;
  for (const auto& c : all) {
    const auto r = a.measure(c, split::tune);
    q.push_back(r.qos);
    sp.push_back(base_cost / r.cost);
  }
  std::vector<std::pair<double, double>> exact;
  for (auto i : search::pareto_front(q, sp))
    if (q[i] >= t.tuner_threshold()) exact.emplace_back(q[i], sp[i]);
  std::vector<std::pair<double, double>> got;
  for (const auto& c : t.best_configs()) got.emplace_back(c.qos, c.speedup());
  std::sort(exact.begin(), exact.end());
  std::sort(got.begin(), got.end());
  ASSERT_EQ(got.size(), exact.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].first, exact[i].first);
    EXPECT_NEAR(got[i].second, exact[i].second, 1e-9);
  }
  // Exact predictions: every validated configuration meets the threshold for real.
  const auto validated = rep.at("phases").at("validation").at("measured").get<std::size_t>();
  EXPECT_GT(validated, 0u);
  EXPECT_EQ(t.summary().evaluations, 1u + 15u + validated);
  for (std::size_t r = 1 + 15; r < t.results().size(); ++r)
    EXPECT_GE(t.results().qos(r), t.tuner_threshold());
}

TEST(PredictivePi1, OutputProfileFileIsKeyedAndNeverReusedStale) {
  const auto seed = fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const auto dir = std::filesystem::temp_directory_path() /
                   ("approxtune_pi1_" + std::to_string(seed));
  std::filesystem::create_directories(dir);
  const std::string file = (dir / "outputs.bin").string();
  const nlohmann::json params = {
      {"model_evaluations", 3000}, {"validate", 50}, {"output_profile", file}};
  auto run = [&](const linear_output_app& a) {
    tuner t(a);
    t.tune(pi1_options(4, params));
    std::vector<config_code> best;
    for (const auto& c : t.best_configs()) best.push_back(a.encode(c.knobs));
    return std::make_pair(t.summary().strategy_report, best);
  };
  linear_output_app a(5, 3, 30, 4, seed, 7);
  const auto [r1, b1] = run(a);
  EXPECT_EQ(r1.at("output_profile").at("source"), "measured");
  EXPECT_EQ(r1.at("output_profile").at("stale"), "no file yet");
  EXPECT_EQ(r1.at("phases").at("profiling").at("output_passes").get<std::size_t>(), 16u);
  ASSERT_TRUE(std::filesystem::exists(file));
  const auto [r2, b2] = run(a);  // same app: served from the file, same result
  EXPECT_EQ(r2.at("output_profile").at("source"), "file");
  EXPECT_FALSE(r2.at("output_profile").contains("stale"));
  EXPECT_EQ(r2.at("phases").at("profiling").at("output_passes").get<std::size_t>(), 0u);
  EXPECT_EQ(b1, b2);
  // Other model/data (content hash): re-measured, and the report says why.
  linear_output_app other(5, 3, 30, 4, seed + 1, 8);
  const auto [r3, b3] = run(other);
  EXPECT_EQ(r3.at("output_profile").at("source"), "measured");
  EXPECT_EQ(r3.at("output_profile").at("stale"), "content_hash differs");
  // Other knob space, same content hash: re-measured too.
  linear_output_app wider(6, 3, 30, 4, seed + 1, 8);
  const auto [r4, b4] = run(wider);
  EXPECT_EQ(r4.at("output_profile").at("source"), "measured");
  EXPECT_EQ(r4.at("output_profile").at("stale"), "space differs");
  // A damaged file is not trusted.
  {
    std::ofstream f(file, std::ios::binary | std::ios::trunc);
    f << "garbage\n";
  }
  const auto [r5, b5] = run(wider);
  EXPECT_EQ(r5.at("output_profile").at("stale"), "not an output profile file");
  // An app without a content hash (0 = unknown) never reuses a file, even its own.
  linear_output_app unknown(5, 3, 30, 4, seed, 0);
  run(unknown);
  const auto [r6, b6] = run(unknown);
  EXPECT_EQ(r6.at("output_profile").at("source"), "measured");
  EXPECT_NE(r6.at("output_profile").at("stale").get<std::string>().find("no content hash"),
            std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(PredictivePi1, NeedsAnAppWithOutputs) {
  apps::synthetic_app syn(shape(4, 3, 1));
  tuner t(syn);
  auto o = pi1_options(1, nlohmann::json::object());
  try {
    t.tune(o);
    ADD_FAILURE() << "pi1 on an app without outputs must be refused";
  } catch (const config_error& e) {
    EXPECT_NE(std::string(e.what()).find("output tensors"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("synthetic"), std::string::npos) << e.what();
  }
  linear_output_app a(3, 2, 10, 3, 1, 1);
  const nlohmann::json exact = {{"qos_model", "pi1"}, {"search", "exact"}};
  EXPECT_THROW(search::make_strategy("predictive", {&a.space(), 90.0, 0, exact, &a}),
               config_error);
  EXPECT_NO_THROW(search::make_strategy("predictive",
                                        {&a.space(), 90.0, 0, {{"qos_model", "pi1"}}, &a}));
}
