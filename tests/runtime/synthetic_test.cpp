// The synthetic app and its exact DP front, checked against brute-force enumeration.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "approxtune/apps/synthetic.hpp"

using namespace approxtune;
using namespace approxtune::apps;

namespace {

// Brute force: every configuration, then the O(n^2) non-dominated filter.
std::vector<front_point> brute_front(const synthetic_app& a, double min_qos) {
  std::vector<front_point> all;
  const auto& sp = a.space();
  config_code c(sp.num_ops(), 0);
  while (true) {
    auto m = a.evaluate(c, split::tune);
    if (m.qos >= min_qos) all.push_back({m.qos, a.baseline_cost() / m.cost});
    std::size_t i = 0;
    while (i < c.size() && ++c[i] == sp.num_knobs(i)) c[i++] = 0;
    if (i == c.size()) break;
  }
  std::vector<front_point> front;
  for (const auto& p : all) {
    bool dominated = false;
    for (const auto& q : all)
      if (q.qos >= p.qos && q.speedup >= p.speedup && (q.qos > p.qos + 1e-9 || q.speedup > p.speedup + 1e-9))
        dominated = true;
    if (!dominated) front.push_back(p);
  }
  std::sort(front.begin(), front.end(), [](auto& x, auto& y) { return x.qos < y.qos; });
  front.erase(std::unique(front.begin(), front.end(),
                          [](auto& x, auto& y) {
                            return std::abs(x.qos - y.qos) < 1e-9 && std::abs(x.speedup - y.speedup) < 1e-9;
                          }),
              front.end());
  return front;
}

}  // namespace

class synthetic_front : public ::testing::TestWithParam<double> {};

TEST_P(synthetic_front, dp_front_equals_brute_force) {
  const std::uint64_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  synthetic_options o;
  o.ops = 6;
  o.knobs = 3;
  o.seed = seed;
  o.interaction = GetParam();
  synthetic_app a(o);
  for (double budget : {0.0, 0.5, 1.5, 100.0}) {
    auto dp = a.exact_front(100.0 - budget);
    auto bf = brute_front(a, 100.0 - budget);
    ASSERT_EQ(dp.size(), bf.size()) << "budget " << budget;
    for (std::size_t i = 0; i < dp.size(); ++i) {
      EXPECT_NEAR(dp[i].qos, bf[i].qos, 1e-9);
      EXPECT_NEAR(dp[i].speedup, bf[i].speedup, 1e-9);
    }
    const double hv = hypervolume(dp, 100.0, budget);
    EXPECT_NEAR(hv, hypervolume(bf, 100.0, budget), 1e-9);
  }
}

INSTANTIATE_TEST_SUITE_P(additive_and_interacting, synthetic_front, ::testing::Values(0.0, 0.8));

TEST(synthetic, baseline_and_model) {
  synthetic_options o;
  o.ops = 5;
  o.knobs = 4;
  o.seed = 7;
  synthetic_app a(o);
  EXPECT_EQ(a.space().baseline().name(), "__baseline__");
  EXPECT_EQ(a.space().num_knobs(0), 5u);
  auto base = a.measure(a.space().baseline_code(), split::tune);
  EXPECT_EQ(base.qos, 100.0);
  EXPECT_NEAR(base.cost, a.baseline_cost(), 1e-12);
  EXPECT_EQ(a.measure(a.space().baseline_code(), split::test).qos, 100.0);
  config_code c = a.space().baseline_code();
  c[2] = 1;
  auto m = a.measure(c, split::tune);
  EXPECT_NEAR(m.qos, 100.0 - a.loss(2, 1), 1e-12);
  EXPECT_NEAR(m.cost, a.baseline_cost() - a.op_cost(2) + a.op_cost(2) / a.knob_speedup(2, 1), 1e-12);
  auto t = a.measure(c, split::test);
  EXPECT_NE(t.qos, m.qos);                                 // perturbed
  EXPECT_NEAR(100.0 - t.qos, 100.0 - m.qos, 0.1 * (100.0 - m.qos) + 1e-12);  // by at most 10%
  synthetic_app same(o);
  EXPECT_EQ(same.measure(c, split::tune).qos, m.qos);  // deterministic in the seed
}

TEST(synthetic, hypervolume_of_known_sets) {
  // Points (loss, speedup): (0, 1.5) and (1, 2), budget 2 -> 2*0.5 + 1*0.5 = 1.5.
  std::vector<front_point> pts{{100.0, 1.5}, {99.0, 2.0}};
  EXPECT_NEAR(hypervolume(pts, 100.0, 2.0), 1.5, 1e-12);
  // Out-of-budget and sub-baseline points add nothing.
  pts.push_back({97.0, 5.0});
  pts.push_back({99.5, 0.5});
  EXPECT_NEAR(hypervolume(pts, 100.0, 2.0), 1.5, 1e-12);
  EXPECT_EQ(hypervolume({}, 100.0, 2.0), 0.0);
}

TEST(synthetic, rejects_bad_options) {
  synthetic_options o;
  o.ops = 0;
  EXPECT_THROW(synthetic_app{o}, std::exception);
  o.ops = 2;
  o.eval_latency_ms = -1;
  EXPECT_THROW(synthetic_app{o}, std::exception);
}
