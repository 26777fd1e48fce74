// The tuner's contract (ApproxTuner.tune): baseline, thresholds, budget, cache, kept/best
// selection, take_best_n, test filtering, outputs; checked on small apps with known answers.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "approxtune/apps/synthetic.hpp"
#include "approxtune/runtime/error.hpp"
#include "approxtune/search/pareto.hpp"
#include "approxtune/search/strategy.hpp"
#include "approxtune/search/tuner.hpp"
#include "strategy_driver.hpp"

using namespace approxtune;
using approxtune::test_support::memory_cache;
namespace fs = std::filesystem;

namespace {

// Proposes a fixed script of configs (from params["script"]), `per_round` at a time.
class scripted_strategy final : public search::strategy {
 public:
  explicit scripted_strategy(const search::strategy_context& ctx) {
    for (const auto& c : ctx.params.at("script")) script_.push_back(c.get<config_code>());
  }
  std::string name() const override { return "scripted-test"; }
  std::vector<config_code> propose(std::size_t n) override {
    std::vector<config_code> out;
    while (out.size() < n && next_ < script_.size()) out.push_back(script_[next_++]);
    return out;
  }
  void observe(std::span<const search::observation> r) override { observed += r.size(); }
  nlohmann::json save_state() const override { return {{"next", next_}}; }
  void load_state(const nlohmann::json& s) override { next_ = s.at("next").get<std::size_t>(); }
  std::size_t observed = 0;

 private:
  std::vector<config_code> script_;
  std::size_t next_ = 0;
};

void register_scripted() {
  search::register_strategy("scripted-test", [](const search::strategy_context& c) {
    return std::make_unique<scripted_strategy>(c);
  });
}

// Two ops with knobs a/b/c (+ fp32 baseline). QoS and cost from a table; the test split
// subtracts `test_drop[code]` from the QoS.
class table_app final : public app {
 public:
  table_app()
      : app({{"op0", {knob("fp32", {}, 1), knob("a"), knob("b"), knob("c")}},
             {"op1", {knob("fp32", {}, 1), knob("a"), knob("b"), knob("c")}}}) {}
  std::string name() const override { return "table"; }
  bool cost_is_timed() const override { return false; }
  measurement measure(const config_code& c, split s) const override {
    ++calls[static_cast<int>(s)];
    if (fail_on && c == *fail_on) throw std::runtime_error("measurement exploded");
    // qos = 90 - 1.0*i0 - 0.5*i1 ; cost = 10 / (1 + i0) + 10 / (1 + 2*i1)
    double q = base_qos - 1.0 * c[0] - 0.5 * c[1];
    if (s == split::test) {
      q -= test_offset;
      auto it = test_drop.find(c);
      if (it != test_drop.end()) q -= it->second;
    }
    return {q, 10.0 / (1.0 + c[0]) + 10.0 / (1.0 + 2.0 * c[1])};
  }
  double base_qos = 90.0, test_offset = 0.0;
  std::map<config_code, double> test_drop;
  std::optional<config_code> fail_on;
  mutable std::atomic<int> calls[2] = {0, 0};
};

std::vector<config_code> every_config() {
  std::vector<config_code> v;
  for (knob_index i = 0; i < 4; ++i)
    for (knob_index j = 0; j < 4; ++j) v.push_back({i, j});
  return v;
}

tune_options scripted(const std::vector<config_code>& script) {
  tune_options o;
  o.strategy = "scripted-test";
  o.strategy_params = {{"script", script}};
  o.max_iter = 1000;
  o.devices = "cpu:2";
  o.batch_size = 4;
  return o;
}

std::size_t find_row(const results_buffer& b, const config_code& c) {
  auto r = b.find(c, hash_config(c));
  return r ? *r : SIZE_MAX;
}

}  // namespace

class tuner_test : public ::testing::Test {
 protected:
  void SetUp() override { register_scripted(); }
};

TEST_F(tuner_test, baseline_is_measured_first_and_costs_are_relative) {
  table_app a;
  tuner t(a);
  auto o = scripted({{1, 1}, {3, 0}});
  o.qos_tuner_threshold = 0.0;
  t.tune(o);
  const auto& buf = t.results();
  ASSERT_EQ(buf.size(), 3u);
  EXPECT_EQ(buf.code(0), a.space().baseline_code());
  EXPECT_EQ(buf.cost(0), 1.0);
  EXPECT_EQ(t.baseline_tune_qos(), 90.0);
  // {1,1}: cost 5 + 10/3 over baseline 20.
  EXPECT_NEAR(buf.cost(find_row(buf, {1, 1})), (5.0 + 10.0 / 3.0) / 20.0, 1e-12);
  EXPECT_NEAR(buf.speedup(find_row(buf, {3, 0})), 20.0 / 12.5, 1e-12);
}

TEST_F(tuner_test, duplicates_are_served_from_the_cache_and_do_not_consume_budget) {
  table_app a;
  tuner t(a);
  // Baseline again, repeats within a round and across rounds.
  auto o = scripted({{1, 0}, {1, 0}, {0, 0}, {2, 0}, {1, 0}, {2, 0}, {3, 0}, {0, 1}, {0, 2}});
  o.qos_tuner_threshold = 0.0;
  o.max_iter = 5;  // baseline + 4 unique
  o.test_configs = false;
  t.tune(o);
  EXPECT_EQ(t.summary().evaluations, 5u);
  EXPECT_EQ(t.results().size(), 5u);
  EXPECT_EQ(t.summary().cache_hits, 4u);
  EXPECT_EQ(a.calls[0].load(), 5);  // every tune-split measurement is unique
  EXPECT_EQ(find_row(t.results(), {0, 2}), SIZE_MAX);  // budget reached before it
}

TEST_F(tuner_test, relative_thresholds_use_each_splits_baseline) {
  table_app a;
  a.test_offset = 1.0;  // baseline test QoS 89
  tuner t(a);
  auto o = scripted(every_config());
  o.relative = true;
  o.qos_tuner_threshold = 2.0;
  o.qos_keep_threshold = 1.5;
  t.tune(o);
  EXPECT_EQ(t.baseline_tune_qos(), 90.0);
  EXPECT_EQ(t.baseline_test_qos(), std::optional<double>(89.0));
  EXPECT_EQ(t.tuner_threshold(), 88.0);
  EXPECT_EQ(t.tune_keep_threshold(), 88.5);
  EXPECT_EQ(t.test_keep_threshold(), 87.5);
  for (const auto& c : t.kept_configs()) EXPECT_GE(c.qos, 88.5);
  // Kept = every config with qos >= 88.5 (inclusive comparison): brute-force count.
  std::size_t expect = 0;
  for (const auto& c : every_config()) expect += a.measure(c, split::tune).qos >= 88.5;
  EXPECT_EQ(t.kept_configs().size(), expect);
}

TEST_F(tuner_test, keep_threshold_defaults_to_tuner_threshold_and_zero_is_real) {
  table_app a;
  {
    tuner t(a);
    auto o = scripted(every_config());
    o.relative = true;
    o.qos_tuner_threshold = 1.0;
    t.tune(o);
    EXPECT_EQ(t.tune_keep_threshold(), 89.0);
  }
  {
    tuner t(a);
    auto o = scripted(every_config());
    o.relative = true;
    o.qos_tuner_threshold = 1.0;
    o.qos_keep_threshold = 0.0;  // keep only configs losing nothing
    o.test_configs = false;
    t.tune(o);
    EXPECT_EQ(t.tune_keep_threshold(), 90.0);
    ASSERT_EQ(t.kept_configs().size(), 1u);  // only the baseline loses nothing
    EXPECT_EQ(t.kept_configs()[0].qos, 90.0);
  }
  {
    tuner t(a);
    auto o = scripted(every_config());
    o.qos_tuner_threshold = 0.0;  // absolute threshold of exactly 0: everything is kept
    o.test_configs = false;
    t.tune(o);
    EXPECT_EQ(t.tune_keep_threshold(), 0.0);
    EXPECT_EQ(t.kept_configs().size(), 16u);
  }
}

TEST_F(tuner_test, best_configs_are_the_pareto_front_of_the_kept_ones) {
  table_app a;
  tuner t(a);
  auto o = scripted(every_config());
  o.qos_tuner_threshold = 87.0;
  o.test_configs = false;
  t.tune(o);
  // Brute-force front of the kept configs.
  const auto& kept = t.kept_configs();
  std::vector<config> front;
  for (const auto& p : kept) {
    bool dom = false;
    for (const auto& q : kept)
      if (q.qos >= p.qos && q.speedup() >= p.speedup() && (q.qos > p.qos || q.speedup() > p.speedup()))
        dom = true;
    if (!dom) front.push_back(p);
  }
  ASSERT_EQ(t.best_configs().size(), front.size());
  for (const auto& f : front) {
    bool found = false;
    for (const auto& b : t.best_configs()) found |= b.knobs == f.knobs;
    EXPECT_TRUE(found);
  }
}

TEST_F(tuner_test, take_best_n_limits_the_selection) {
  table_app a;
  for (std::size_t n : {1u, 3u, 10u, 100u}) {
    tuner t(a);
    auto o = scripted(every_config());
    o.qos_tuner_threshold = 0.0;
    o.take_best_n = n;
    o.test_configs = false;
    t.tune(o);
    EXPECT_EQ(t.best_configs().size(), std::min<std::size_t>(n, 16)) << "n=" << n;
  }
}

TEST_F(tuner_test, test_phase_fills_test_qos_and_drops_configs_under_the_test_threshold) {
  table_app a;
  a.test_drop[{0, 2}] = 5.0;  // on the front, but much worse on the test split
  tuner t(a);
  auto o = scripted(every_config());
  o.relative = true;
  o.qos_tuner_threshold = 2.0;
  t.tune(o);
  bool had = false;
  for (const auto& c : t.best_configs_prefilter()) {
    ASSERT_TRUE(c.test_qos.has_value());
    had |= c.knobs == a.decode({0, 2});
  }
  ASSERT_TRUE(had) << "{0,2} should be on the tune-split front";
  for (const auto& c : t.best_configs()) {
    EXPECT_NE(c.knobs, a.decode({0, 2}));
    EXPECT_GE(*c.test_qos, t.test_keep_threshold());
  }
  EXPECT_EQ(t.best_configs().size() + 1, t.best_configs_prefilter().size());
  EXPECT_NEAR(t.summary().mean_abs_test_change, 5.0 / t.best_configs_prefilter().size(), 1e-12);
  EXPECT_EQ(t.summary().test_evaluations, t.best_configs_prefilter().size() + 1);  // + baseline
}

TEST_F(tuner_test, all_configs_failing_the_threshold_gives_empty_results) {
  table_app a;
  tuner t(a);
  auto o = scripted(every_config());
  o.qos_tuner_threshold = 95.0;  // above the baseline
  t.tune(o);
  EXPECT_TRUE(t.kept_configs().empty());
  EXPECT_TRUE(t.best_configs().empty());
  EXPECT_EQ(t.summary().best_speedup_tune, 1.0);
  auto dir = fs::temp_directory_path() / ("approxtune_tuner_empty_" + std::to_string(::getpid()));
  t.write_outputs(dir);
  EXPECT_TRUE(read_configs_json(dir / "configs.json").best.empty());
  fs::remove_all(dir);
}

TEST_F(tuner_test, failed_measurements_are_counted_and_never_kept) {
  table_app a;
  a.fail_on = config_code{3, 3};
  tuner t(a);
  auto o = scripted(every_config());
  o.qos_tuner_threshold = 0.0;
  t.tune(o);
  EXPECT_EQ(t.summary().failed, 1u);
  EXPECT_EQ(t.kept_configs().size(), 15u);
  for (const auto& c : t.all_configs()) EXPECT_NE(c.knobs, a.decode({3, 3}));
}

namespace {
// Measures the baseline, then fails everything else.
class broken_app final : public app {
 public:
  broken_app() : app({{"op", {knob("a"), knob("b"), knob("c")}}, {"op2", {knob("a"), knob("b")}}}) {}
  std::string name() const override { return "broken"; }
  bool cost_is_timed() const override { return false; }
  measurement measure(const config_code& c, split) const override {
    if (c != space().baseline_code()) throw std::runtime_error("device lost");
    return {50.0, 1.0};
  }
};
}  // namespace

TEST_F(tuner_test, when_every_slot_is_retired_the_run_stops_and_keeps_its_results) {
  broken_app a;
  tuner t(a);
  auto o = scripted({{0, 0}, {1, 0}, {2, 0}, {0, 1}, {1, 1}, {2, 1}, {0, 2}, {1, 2}});
  o.devices = "cpu:1";
  o.batch_size = 8;
  o.qos_tuner_threshold = 0.0;
  t.tune(o);
  EXPECT_NE(t.summary().error.find("retired"), std::string::npos);
  EXPECT_NE(t.summary().error.find("device lost"), std::string::npos);
  EXPECT_EQ(t.summary().failed, 5u);  // the default retirement after 5 consecutive failures
  ASSERT_EQ(t.kept_configs().size(), 1u);  // the baseline
  EXPECT_EQ(t.results().size(), 6u);
}

TEST_F(tuner_test, a_baseline_that_cannot_be_measured_is_an_error) {
  table_app a;
  a.fail_on = a.space().baseline_code();
  tuner t(a);
  auto o = scripted(every_config());
  try {
    t.tune(o);
    FAIL();
  } catch (const error& e) {
    EXPECT_NE(std::string(e.what()).find("baseline"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("exploded"), std::string::npos);
  }
}

TEST_F(tuner_test, dump_and_reload) {
  table_app a;
  tuner t(a);
  auto o = scripted(every_config());
  o.relative = true;
  o.qos_tuner_threshold = 3.0;
  EXPECT_THROW(t.dump_configs("/tmp/never.json"), error);  // not tuned yet
  t.tune(o);
  auto dir = fs::temp_directory_path() / ("approxtune_tuner_dump_" + std::to_string(::getpid()));
  t.write_outputs(dir);
  auto r = read_configs_json(dir / "configs.json");
  EXPECT_EQ(r.app_name, "table");
  ASSERT_EQ(r.best.size(), t.best_configs().size());
  for (std::size_t i = 0; i < r.best.size(); ++i) {
    EXPECT_EQ(r.best[i].knobs, t.best_configs()[i].knobs);
    EXPECT_EQ(r.best[i].qos, t.best_configs()[i].qos);
    EXPECT_EQ(r.best[i].test_qos, t.best_configs()[i].test_qos);
    EXPECT_NEAR(r.best[i].speedup(), t.best_configs()[i].speedup(), 1e-12);
    // Every config in the file is measurable again and gives the same QoS.
    EXPECT_EQ(a.measure_named(r.best[i].knobs, split::tune).qos, r.best[i].qos);
  }
  EXPECT_TRUE(fs::exists(dir / "configs.txt"));
  EXPECT_TRUE(fs::exists(dir / "tradeoff.svg"));
  std::ifstream txt(dir / "configs.txt");
  std::string first, plus, conf1;
  std::getline(txt, first);
  std::getline(txt, plus);
  std::getline(txt, conf1);
  EXPECT_EQ(plus, "+++++");
  EXPECT_EQ(conf1.rfind("conf1 1 ", 0), 0u);
  fs::remove_all(dir);
}

TEST_F(tuner_test, invalid_options_are_rejected) {
  table_app a;
  tuner t(a);
  auto o = scripted(every_config());
  o.max_iter = 0;
  EXPECT_THROW(t.tune(o), config_error);
  o = scripted(every_config());
  o.qos_tuner_threshold = std::nan("");
  EXPECT_THROW(t.tune(o), config_error);
  o = scripted(every_config());
  o.take_best_n = 0;
  EXPECT_THROW(t.tune(o), config_error);
  o = scripted(every_config());
  o.strategy = "no-such-strategy";
  try {
    t.tune(o);
    FAIL();
  } catch (const config_error& e) {
    EXPECT_NE(std::string(e.what()).find("no-such-strategy"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("random"), std::string::npos);  // lists the names
  }
}

TEST_F(tuner_test, a_strategy_that_runs_dry_ends_the_run) {
  table_app a;
  tuner t(a);
  auto o = scripted({{1, 1}});
  o.max_iter = 100;
  t.tune(o);
  EXPECT_TRUE(t.summary().exhausted);
  EXPECT_EQ(t.summary().evaluations, 2u);
}

TEST_F(tuner_test, tiny_space_with_a_real_strategy_terminates) {
  apps::synthetic_options so;
  so.ops = 1;
  so.knobs = 1;
  apps::synthetic_app a(so);
  for (const char* s : {"random", "opentuner-default"}) {
    tuner t(a);
    tune_options o;
    o.strategy = s;
    o.max_iter = 50;
    o.qos_tuner_threshold = 0.0;
    o.devices = "cpu:1";
    t.tune(o);
    EXPECT_EQ(t.summary().evaluations, 2u) << s;
    EXPECT_TRUE(t.summary().exhausted) << s;
  }
}

// request_stop() from another thread while tune() ends (the CLI's store error handler does
// this): it must never touch the engine tune() is destroying. A regression test mainly for the
// ThreadSanitizer build: before the fix TSan reported the race in every run of this test;
// without a sanitizer the use after free is only caught if it happens to crash.
TEST_F(tuner_test, request_stop_from_another_thread_while_tune_ends_is_safe) {
  apps::synthetic_options so;
  so.ops = 4;
  so.knobs = 3;
  apps::synthetic_app a(so);
  tuner t(a);
  std::atomic<bool> done{false};
  std::thread stopper([&] {  // stops at random points: before the baseline, mid-run, at the end
    std::mt19937 rng(7);
    while (!done.load()) {
      t.request_stop();
      std::this_thread::sleep_for(std::chrono::microseconds(rng() % 3000));
    }
  });
  for (int i = 0; i < 40; ++i) {
    tune_options o;
    o.strategy = "random";
    o.max_iter = 40;
    o.seed = static_cast<std::uint64_t>(i);
    o.devices = "cpu:2";
    try {
      t.tune(o);
      EXPECT_LE(t.summary().evaluations, o.max_iter) << i;
    } catch (const error& e) {  // stopped before a baseline (tune or test split) was measured
      const std::string m = e.what();
      EXPECT_TRUE(m.find("baseline") != std::string::npos &&
                  m.find("cancelled") != std::string::npos) << m;
    }
  }
  done.store(true);
  stopper.join();
}

TEST_F(tuner_test, same_seed_and_batch_give_the_same_results_for_any_slot_count) {
  apps::synthetic_options so;
  so.ops = 12;
  so.knobs = 5;
  so.seed = 3;
  apps::synthetic_app a(so);
  for (const char* s : {"random", "opentuner-default"}) {
    auto run = [&](const std::string& devices) {
      tuner t(a);
      tune_options o;
      o.strategy = s;
      o.max_iter = 300;
      o.relative = true;
      o.qos_tuner_threshold = 3.0;
      o.seed = 11;
      o.batch_size = 8;
      o.devices = devices;
      t.tune(o);
      return std::make_pair(t.all_configs(), t.best_configs());
    };
    auto [all1, best1] = run("cpu:1");
    auto [all4, best4] = run("cpu:5");
    ASSERT_EQ(all1.size(), all4.size()) << s;
    for (std::size_t i = 0; i < all1.size(); ++i) {
      EXPECT_EQ(all1[i].knobs, all4[i].knobs) << s;
      EXPECT_EQ(all1[i].qos, all4[i].qos) << s;
    }
    ASSERT_EQ(best1.size(), best4.size()) << s;
    for (std::size_t i = 0; i < best1.size(); ++i) EXPECT_EQ(best1[i].knobs, best4[i].knobs) << s;
  }
}

namespace {

class counting_app final : public app {
 public:
  explicit counting_app(const apps::synthetic_app& inner)
      : app(inner.space().ops()), inner_(inner) {}
  std::string name() const override { return "counting"; }
  bool cost_is_timed() const override { return false; }
  measurement measure(const config_code& c, split s) const override {
    ++calls;
    return inner_.measure(c, s);
  }
  const apps::synthetic_app& inner_;
  mutable std::atomic<int> calls{0};
};
}  // namespace

TEST_F(tuner_test, an_interrupted_run_resumed_through_the_cache_equals_an_uninterrupted_one) {
  apps::synthetic_options so;
  so.ops = 10;
  so.knobs = 6;
  so.seed = 5;
  apps::synthetic_app inner(so);
  for (const char* strat : {"random", "opentuner-default"}) {
    auto opts = [&](std::size_t budget) {
      tune_options o;
      o.strategy = strat;
      o.max_iter = budget;
      o.relative = true;
      o.qos_tuner_threshold = 2.0;
      o.seed = 9;
      o.batch_size = 8;
      o.devices = "cpu:2";
      return o;
    };
    counting_app full_app(inner);
    tuner full(full_app);
    full.tune(opts(400));

    memory_cache store;
    counting_app first_app(inner);
    tuner first(first_app);
    auto o1 = opts(150);  // "killed" after 150 evaluations
    o1.on_commit = [&](std::span<const evaluation> es) { store.record(es); };
    first.tune(o1);

    counting_app second_app(inner);
    tuner second(second_app);
    auto o2 = opts(400);
    o2.cache = &store;
    o2.on_commit = [&](std::span<const evaluation> es) { store.record(es); };
    second.tune(o2);

    ASSERT_EQ(second.all_configs().size(), full.all_configs().size()) << strat;
    for (std::size_t i = 0; i < full.all_configs().size(); ++i) {
      EXPECT_EQ(second.all_configs()[i].knobs, full.all_configs()[i].knobs) << strat;
      EXPECT_EQ(second.all_configs()[i].qos, full.all_configs()[i].qos) << strat;
    }
    ASSERT_EQ(second.best_configs().size(), full.best_configs().size()) << strat;
    for (std::size_t i = 0; i < full.best_configs().size(); ++i)
      EXPECT_EQ(second.best_configs()[i].test_qos, full.best_configs()[i].test_qos) << strat;
    // Nothing measured twice: the resumed run measured only what the first did not.
    EXPECT_GE(second.summary().store_hits, 150u) << strat;
    // The resumed run makes exactly the uninterrupted run's evaluations, each either served
    // from the store or measured once.
    EXPECT_EQ(second_app.calls.load() + static_cast<int>(second.summary().store_hits), full_app.calls.load())
        << strat;
  }
}
