// Pareto selection against brute-force oracles written here, independently of the library:
// O(n^2) dominance filter, peeling for ranks, naive greedy spread and full sort for take_best_n.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "approxtune/runtime/error.hpp"
#include "approxtune/search/pareto.hpp"

namespace approxtune::search {
namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();

struct points {
  std::vector<double> q, s;
  std::size_t size() const { return q.size(); }
};

bool valid(const points& p, std::size_t i) { return !std::isnan(p.q[i]) && !std::isnan(p.s[i]); }

// Brute-force front among the points where alive[i]: i is on it when no alive point dominates
// it and no alive identical point has a lower index. Returned in increasing qos order.
std::vector<std::size_t> brute_front(const points& p, const std::vector<bool>& alive) {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (!alive[i] || !valid(p, i)) continue;
    bool kept = true;
    for (std::size_t j = 0; j < p.size() && kept; ++j) {
      if (j == i || !alive[j] || !valid(p, j)) continue;
      const bool ge = p.q[j] >= p.q[i] && p.s[j] >= p.s[i];
      const bool gt = p.q[j] > p.q[i] || p.s[j] > p.s[i];
      if ((ge && gt) || (p.q[j] == p.q[i] && p.s[j] == p.s[i] && j < i)) kept = false;
    }
    if (kept) out.push_back(i);
  }
  std::sort(out.begin(), out.end(), [&](std::size_t a, std::size_t b) { return p.q[a] < p.q[b]; });
  return out;
}

std::vector<std::size_t> brute_front(const points& p) {
  return brute_front(p, std::vector<bool>(p.size(), true));
}

std::vector<std::size_t> brute_ranks(const points& p) {
  std::vector<std::size_t> ranks(p.size(), unranked);
  std::vector<bool> alive(p.size());
  for (std::size_t i = 0; i < p.size(); ++i) alive[i] = valid(p, i);
  for (std::size_t r = 0;; ++r) {
    const auto front = brute_front(p, alive);
    if (front.empty()) break;
    for (std::size_t i : front) {
      ranks[i] = r;
      alive[i] = false;
    }
  }
  return ranks;
}

struct scale {
  double lo, range;
  double operator()(double v) const { return (v - lo) / range; }
};

// The normalisation documented in pareto.hpp.
scale make_scale(double lo, double hi) {
  const double r = hi - lo;
  return {lo, (r > 0.0 && std::isfinite(r)) ? r : 1.0};
}

double d2(double x0, double y0, double x1, double y1) {
  const double dx = x1 - x0, dy = y1 - y0;
  return dx * dx + dy * dy;
}

// take_best_n as documented, naively: greedy max-min over all taken points for n <= |F|,
// full sort by (rank, distance to nearest front point, index) for n > |F|.
std::vector<std::size_t> brute_take_best_n(const points& p, std::size_t n) {
  const auto front = brute_front(p);
  const std::size_t f = front.size();
  if (n == 0 || f == 0) return {};
  if (n <= f) {
    const auto sx = make_scale(p.q[front.front()], p.q[front.back()]);
    const auto sy = make_scale(p.s[front.back()], p.s[front.front()]);
    std::vector<double> x(f), y(f);
    for (std::size_t k = 0; k < f; ++k) {
      x[k] = sx(p.q[front[k]]);
      y[k] = sy(p.s[front[k]]);
    }
    std::vector<std::size_t> taken{0};  // the highest-speedup end
    if (n >= 2 && f >= 2) taken.push_back(f - 1);
    while (taken.size() < n) {
      double best = -1.0;
      std::size_t best_k = 0;
      for (std::size_t k = 0; k < f; ++k) {
        if (std::find(taken.begin(), taken.end(), k) != taken.end()) continue;
        double m = std::numeric_limits<double>::infinity();
        for (std::size_t t : taken) m = std::min(m, d2(x[t], y[t], x[k], y[k]));
        if (m > best) {
          best = m;
          best_k = k;
        }
      }
      taken.push_back(best_k);
    }
    std::sort(taken.begin(), taken.end());
    std::vector<std::size_t> out;
    for (std::size_t k : taken) out.push_back(front[k]);
    return out;
  }
  const auto ranks = brute_ranks(p);
  double qlo = std::numeric_limits<double>::infinity(), qhi = -qlo, slo = qlo, shi = -qlo;
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (!valid(p, i)) continue;
    qlo = std::min(qlo, p.q[i]);
    qhi = std::max(qhi, p.q[i]);
    slo = std::min(slo, p.s[i]);
    shi = std::max(shi, p.s[i]);
  }
  const auto sx = make_scale(qlo, qhi), sy = make_scale(slo, shi);
  std::vector<std::tuple<std::size_t, double, std::size_t>> rest;
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (ranks[i] == unranked || ranks[i] == 0) continue;
    double m = std::numeric_limits<double>::infinity();
    for (std::size_t j : front) m = std::min(m, d2(sx(p.q[i]), sy(p.s[i]), sx(p.q[j]), sy(p.s[j])));
    rest.emplace_back(ranks[i], m, i);
  }
  std::sort(rest.begin(), rest.end());
  std::vector<std::size_t> out = front;
  for (std::size_t k = 0; k < rest.size() && out.size() < n; ++k)
    out.push_back(std::get<2>(rest[k]));
  return out;
}

// Values from a small grid so ties and exact duplicates are common; a few NaNs.
points random_grid_points(std::mt19937_64& rng, std::size_t n, int grid, double nan_rate) {
  std::uniform_int_distribution<int> g(0, grid - 1);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  points p;
  for (std::size_t i = 0; i < n; ++i) {
    p.q.push_back(u(rng) < nan_rate ? nan : 90.0 + 0.5 * g(rng));
    p.s.push_back(u(rng) < nan_rate ? nan : 1.0 + 0.25 * g(rng));
  }
  return p;
}

points random_continuous_points(std::mt19937_64& rng, std::size_t n, bool anti) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  points p;
  for (std::size_t i = 0; i < n; ++i) {
    const double a = u(rng);
    p.q.push_back(a);
    p.s.push_back(anti ? -a : u(rng));  // -a is exact: strictly decreasing in a
  }
  return p;
}

class pareto_random : public ::testing::Test {
 protected:
  void SetUp() override {
    seed_ = std::random_device{}();
    seed_ = (seed_ << 32) ^ std::random_device{}();
    rng_.seed(seed_);
  }
  std::string trace() const { return "seed = " + std::to_string(seed_); }
  std::uint64_t seed_ = 0;
  std::mt19937_64 rng_;
};

TEST(pareto_front_test, empty_input) {
  EXPECT_TRUE(pareto_front({}, {}).empty());
  EXPECT_TRUE(nondominated_ranks({}, {}).empty());
  EXPECT_TRUE(take_best_n({}, {}, 5).empty());
}

TEST(pareto_front_test, single_point) {
  const std::vector<double> q{3.0}, s{2.0};
  EXPECT_EQ(pareto_front(q, s), std::vector<std::size_t>{0});
  EXPECT_EQ(nondominated_ranks(q, s), std::vector<std::size_t>{0});
  EXPECT_EQ(take_best_n(q, s, 1), std::vector<std::size_t>{0});
  EXPECT_EQ(take_best_n(q, s, 3), std::vector<std::size_t>{0});
  EXPECT_TRUE(take_best_n(q, s, 0).empty());
}

TEST(pareto_front_test, all_equal_points_keep_lowest_index) {
  const std::vector<double> q(7, 1.5), s(7, 2.5);
  EXPECT_EQ(pareto_front(q, s), std::vector<std::size_t>{0});
  EXPECT_EQ(nondominated_ranks(q, s), (std::vector<std::size_t>{0, 1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(take_best_n(q, s, 3), (std::vector<std::size_t>{0, 1, 2}));
}

TEST(pareto_front_test, signed_zeros_are_equal) {
  const std::vector<double> q{0.0, -0.0}, s{1.0, 1.0};
  EXPECT_EQ(pareto_front(q, s), std::vector<std::size_t>{0});
  const std::vector<double> q2{-0.0, 0.0};
  EXPECT_EQ(pareto_front(q2, s), std::vector<std::size_t>{0});
}

TEST(pareto_front_test, nans_are_never_selected) {
  const std::vector<double> q{nan, 1.0, 5.0, nan, 2.0}, s{9.0, 3.0, nan, nan, 1.0};
  EXPECT_EQ(pareto_front(q, s), (std::vector<std::size_t>{1, 4}));
  EXPECT_EQ(nondominated_ranks(q, s),
            (std::vector<std::size_t>{unranked, 0, unranked, unranked, 0}));
  const std::vector<double> all_nan(4, nan), ones(4, 1.0);
  EXPECT_TRUE(pareto_front(all_nan, ones).empty());
  EXPECT_TRUE(take_best_n(all_nan, ones, 2).empty());
  EXPECT_EQ(take_best_n(q, s, 10), (std::vector<std::size_t>{1, 4}));
  EXPECT_EQ(take_best_n(q, s, 1), std::vector<std::size_t>{1});
}

TEST(pareto_front_test, known_small_case_in_increasing_qos) {
  //            0    1    2    3    4    5
  const std::vector<double> q{1.0, 2.0, 3.0, 2.0, 0.5, 3.0};
  const std::vector<double> s{5.0, 4.0, 1.0, 3.0, 5.0, 0.5};
  EXPECT_EQ(pareto_front(q, s), (std::vector<std::size_t>{0, 1, 2}));
  EXPECT_EQ(nondominated_ranks(q, s), (std::vector<std::size_t>{0, 0, 0, 1, 1, 1}));
}

TEST(pareto_front_test, mismatched_lengths_throw) {
  const std::vector<double> q{1.0, 2.0}, s{1.0};
  EXPECT_THROW(pareto_front(q, s), config_error);
  EXPECT_THROW(nondominated_ranks(q, s), config_error);
  EXPECT_THROW(take_best_n(q, s, 1), config_error);
}

TEST(pareto_front_test, unavailable_backend_throws) {
  if (pareto_backend_available(pareto_backend::cuda)) GTEST_SKIP() << "a CUDA device is present";
  const std::vector<double> q{1.0}, s{1.0};
  EXPECT_THROW(pareto_front(q, s, pareto_backend::cuda), config_error);
}

TEST(pareto_front_test, cuda_matches_host) {
  if (!pareto_backend_available(pareto_backend::cuda)) {
    GTEST_SKIP() << "no CUDA device (or a CPU-only build)";
  }
  std::mt19937_64 rng(std::random_device{}());
  for (int round = 0; round < 10; ++round) {
    const auto p = random_grid_points(rng, 5000, 40, 0.01);
    EXPECT_EQ(pareto_front(p.q, p.s, pareto_backend::cuda), pareto_front(p.q, p.s));
  }
}

TEST_F(pareto_random, front_matches_brute_force_with_ties_and_nans) {
  SCOPED_TRACE(trace());
  for (int round = 0; round < 200; ++round) {
    const std::size_t n = 1 + rng_() % 300;
    const int grid = 2 + static_cast<int>(rng_() % 20);
    const auto p = random_grid_points(rng_, n, grid, round % 3 == 0 ? 0.05 : 0.0);
    SCOPED_TRACE("round " + std::to_string(round) + ", n = " + std::to_string(n));
    ASSERT_EQ(pareto_front(p.q, p.s), brute_front(p));
  }
}

TEST_F(pareto_random, front_matches_brute_force_continuous) {
  SCOPED_TRACE(trace());
  for (int round = 0; round < 20; ++round) {
    const auto p = random_continuous_points(rng_, 2000, false);
    ASSERT_EQ(pareto_front(p.q, p.s), brute_front(p));
  }
}

TEST_F(pareto_random, anti_correlated_points_are_all_on_the_front) {
  SCOPED_TRACE(trace());
  const auto p = random_continuous_points(rng_, 5000, true);
  // q distinct with probability 1; s = -q strictly decreasing in q.
  const auto front = pareto_front(p.q, p.s);
  ASSERT_EQ(front.size(), p.size());
  for (std::size_t k = 1; k < front.size(); ++k) {
    ASSERT_LT(p.q[front[k - 1]], p.q[front[k]]);
  }
  const auto ranks = nondominated_ranks(p.q, p.s);
  EXPECT_TRUE(std::all_of(ranks.begin(), ranks.end(), [](std::size_t r) { return r == 0; }));
}

TEST_F(pareto_random, ranks_match_brute_force_peeling) {
  SCOPED_TRACE(trace());
  for (int round = 0; round < 100; ++round) {
    const std::size_t n = 1 + rng_() % 250;
    const int grid = 2 + static_cast<int>(rng_() % 15);
    const auto p = random_grid_points(rng_, n, grid, round % 4 == 0 ? 0.05 : 0.0);
    SCOPED_TRACE("round " + std::to_string(round) + ", n = " + std::to_string(n));
    const auto ranks = nondominated_ranks(p.q, p.s);
    ASSERT_EQ(ranks, brute_ranks(p));
    // Rank 0 is exactly the front.
    std::vector<std::size_t> rank0;
    for (std::size_t i = 0; i < n; ++i) {
      if (ranks[i] == 0) rank0.push_back(i);
    }
    auto front = pareto_front(p.q, p.s);
    std::sort(front.begin(), front.end());
    ASSERT_EQ(rank0, front);
  }
}

void check_take(const points& p, std::size_t n) {
  const auto got = take_best_n(p.q, p.s, n);
  const auto want = brute_take_best_n(p, n);
  ASSERT_EQ(got, want) << "n = " << n;
  ASSERT_LE(got.size(), n);
  ASSERT_EQ(std::set<std::size_t>(got.begin(), got.end()).size(), got.size()) << "duplicates";
}

TEST_F(pareto_random, take_best_n_below_at_and_above_front_size) {
  SCOPED_TRACE(trace());
  for (int round = 0; round < 60; ++round) {
    const std::size_t n = 2 + rng_() % 200;
    const int grid = 3 + static_cast<int>(rng_() % 30);
    const auto p = random_grid_points(rng_, n, grid, round % 5 == 0 ? 0.05 : 0.0);
    SCOPED_TRACE("round " + std::to_string(round) + ", n = " + std::to_string(n));
    const std::size_t f = brute_front(p).size();
    std::size_t valid_count = 0;
    for (std::size_t i = 0; i < n; ++i) valid_count += valid(p, i) ? 1 : 0;
    for (std::size_t k : {std::size_t{0}, std::size_t{1}, std::size_t{2}, f / 2, f - 1, f, f + 1,
                          f + 7, (f + valid_count) / 2, valid_count, n + 5}) {
      check_take(p, k);
    }
    EXPECT_EQ(take_best_n(p.q, p.s, n + 5).size(), valid_count);
  }
}

TEST_F(pareto_random, take_best_n_spreads_a_large_front) {
  SCOPED_TRACE(trace());
  // Anti-correlated: the whole set is the front, so n < front exercises the spread rule.
  const auto p = random_continuous_points(rng_, 600, true);
  for (std::size_t n : {1, 2, 3, 10, 50, 300, 599, 600}) check_take(p, n);
  // Both ends come first.
  const auto two = take_best_n(p.q, p.s, 2);
  const auto front = pareto_front(p.q, p.s);
  EXPECT_EQ(two, (std::vector<std::size_t>{front.front(), front.back()}));
}

TEST(take_best_n_test, returns_at_most_n_when_front_is_larger) {
  // The Python version returned nearly every point here. Ends first, then the middle (49 and 50
  // tie at distance 49/99 from an end: the lower qos wins), then the middle of each half.
  std::vector<double> q, s;
  for (int i = 0; i < 100; ++i) {
    q.push_back(i);
    s.push_back(100 - i);
  }
  EXPECT_EQ(take_best_n(q, s, 5), (std::vector<std::size_t>{0, 24, 49, 74, 99}));
}

}  // namespace
}  // namespace approxtune::search
