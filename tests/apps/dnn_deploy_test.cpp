// The inference-side API: picks by QoS budget and by speedup, the two-point random choice, and
// applying a configuration to a network in place.
#include <gtest/gtest.h>

#include <random>

#include "approxtune/dnn/deploy.hpp"
#include "approxtune/runtime/error.hpp"
#include "approxtune/runtime/outputs.hpp"
#include "dnn_test_util.hpp"

namespace approxtune::dnn {
namespace {

config make(double speedup, double qos, knob_map k = {}) {
  config c;
  c.knobs = std::move(k);
  c.cost = 1.0 / speedup;
  c.qos = qos + 0.1;
  c.test_qos = qos;
  return c;
}

tuned_configs sample() {
  // baseline QoS 90; a dominated config (1.2x at 88) is dropped from the front.
  return tuned_configs({make(1.5, 89.5, {{"conv1", "121"}}), make(2.0, 88.5, {{"conv1", "123"}}),
                        make(1.2, 88.0), make(3.0, 85.0, {{"conv1", "231"}})},
                       90.0);
}

TEST(DnnDeploy, FrontIsSortedAndDominatedConfigsDropped) {
  const auto t = sample();
  ASSERT_EQ(t.front().size(), 4u);
  EXPECT_DOUBLE_EQ(t.front()[0].speedup(), 1.0);
  EXPECT_DOUBLE_EQ(t.front()[1].speedup(), 1.5);
  EXPECT_DOUBLE_EQ(t.front()[3].speedup(), 3.0);
}

TEST(DnnDeploy, PickByQoSLoss) {
  const auto t = sample();
  EXPECT_DOUBLE_EQ(t.pick_by_qos_loss(0.1).speedup(), 1.0);
  EXPECT_DOUBLE_EQ(t.pick_by_qos_loss(0.5).speedup(), 1.5);
  EXPECT_DOUBLE_EQ(t.pick_by_qos_loss(1.5).speedup(), 2.0);
  EXPECT_DOUBLE_EQ(t.pick_by_qos_loss(100).speedup(), 3.0);
}

TEST(DnnDeploy, PickBySpeedup) {
  const auto t = sample();
  EXPECT_DOUBLE_EQ(t.pick_by_speedup(1.4).speedup(), 1.5);
  EXPECT_DOUBLE_EQ(t.pick_by_speedup(2.0).speedup(), 2.0);
  EXPECT_DOUBLE_EQ(t.pick_by_speedup(9.0).speedup(), 3.0);
}

TEST(DnnDeploy, TwoPointRandomChoiceHitsTheTargetOnAverage) {
  const auto t = sample();
  const auto b = t.bracket_speedup(1.75);
  ASSERT_NE(b.lo, nullptr);
  EXPECT_DOUBLE_EQ(b.lo->speedup(), 1.5);
  EXPECT_DOUBLE_EQ(b.hi->speedup(), 2.0);
  EXPECT_NEAR(b.p_hi, 0.5, 1e-12);
  std::mt19937_64 rng(42);
  double sum = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    const double s = t.pick_by_speedup_random(1.6, rng).speedup();
    EXPECT_TRUE(s == 1.5 || s == 2.0);
    sum += s;
  }
  EXPECT_NEAR(sum / n, 1.6, 0.01);
  // Same seed, same sequence.
  std::mt19937_64 r1(7), r2(7);
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(t.pick_by_speedup_random(2.5, r1).speedup(), t.pick_by_speedup_random(2.5, r2).speedup());
  // Outside the range: the ends.
  EXPECT_DOUBLE_EQ(t.pick_by_speedup_random(0.5, rng).speedup(), 1.0);
  EXPECT_DOUBLE_EQ(t.pick_by_speedup_random(5.0, rng).speedup(), 3.0);
}

TEST(DnnDeploy, LoadsConfigsJsonAndAppliesInPlace) {
  tuning_report r;
  r.app_name = "dnn:tiny";
  r.relative = true;
  r.baseline_tune_qos = 80;
  r.baseline_test_qos = 79;
  r.baseline_cost = 1;
  std::vector<config> cs = {make(1.8, 78.5, {{"conv1", "123"}, {"fc1", "11"}})};
  const auto path = std::filesystem::temp_directory_path() / "approxtune_deploy_configs.json";
  atomic_write(path, configs_json(r, cs));
  const auto t = tuned_configs::load(path);
  EXPECT_DOUBLE_EQ(t.baseline_qos(), 79.0);  // test-split QoS when present
  const config& c = t.pick_by_qos_loss(1.0);
  EXPECT_NEAR(c.speedup(), 1.8, 1e-9);

  auto m = std::make_shared<const model>(test::tiny_model());
  network net(m, 2);
  apply_config(net, c.knobs);
  EXPECT_EQ(net.variant(0).conv, kernels::perforated_rows(2, 0));
  apply_config(net, {});  // back to the baseline
  EXPECT_EQ(net.variant(0).conv, kernels::exact_conv());
  EXPECT_THROW(apply_config(net, {{"bn1", "11"}}), config_error);
  EXPECT_THROW(apply_config(net, {{"conv1", "9999"}}), config_error);
  EXPECT_THROW(apply_config(net, {{"fc1", "121"}}), config_error);  // perforation on a dense layer
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace approxtune::dnn
