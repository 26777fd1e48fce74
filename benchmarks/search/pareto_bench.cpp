// Pareto selection throughput (points/s) on uniform and anti-correlated sets, next to a
// brute-force O(n^2) filter on the sizes it can do; the brute-force runs also report the ratio
// to pareto_front measured in the same run.
//
//   search_pareto_bench --benchmark_filter=. --benchmark_min_time=0.5
#include <chrono>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include <benchmark/benchmark.h>

#include "approxtune/search/pareto.hpp"

namespace {

struct point_set {
  std::vector<double> q, s;
};

// kind 0: uniform in the unit square (the front is a few dozen points);
// kind 1: anti-correlated, s = 1 - q: every point is on the front (the worst case).
const point_set& points(std::size_t n, int kind) {
  static point_set cache[2];
  static std::size_t cached_n[2] = {0, 0};
  point_set& p = cache[kind];
  if (cached_n[kind] != n) {
    std::mt19937_64 rng(12345 + static_cast<std::uint64_t>(kind));
    std::uniform_real_distribution<double> u(0.0, 1.0);
    p.q.resize(n);
    p.s.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      p.q[i] = u(rng);
      p.s[i] = kind == 0 ? u(rng) : 1.0 - p.q[i];
    }
    cached_n[kind] = n;
  }
  return p;
}

const char* kind_name(int kind) { return kind == 0 ? "uniform" : "anticorrelated"; }

// The O(n^2) oracle the tests use, without the NaN and duplicate bookkeeping (none here).
std::size_t brute_force_front_size(const point_set& p) {
  const std::size_t n = p.q.size();
  std::size_t count = 0;
  for (std::size_t i = 0; i < n; ++i) {
    bool dominated = false;
    for (std::size_t j = 0; j < n && !dominated; ++j) {
      dominated = p.q[j] >= p.q[i] && p.s[j] >= p.s[i] && (p.q[j] > p.q[i] || p.s[j] > p.s[i]);
    }
    count += dominated ? 0 : 1;
  }
  return count;
}

void bm_pareto_front(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const int kind = static_cast<int>(state.range(1));
  const auto& p = points(n, kind);
  std::size_t front = 0;
  for (auto _ : state) {
    auto f = approxtune::search::pareto_front(p.q, p.s);
    front = f.size();
    benchmark::DoNotOptimize(f.data());
  }
  state.SetLabel(kind_name(kind));
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
  state.counters["front"] = static_cast<double>(front);
}

void bm_brute_force(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const int kind = static_cast<int>(state.range(1));
  const auto& p = points(n, kind);
  using clock = std::chrono::steady_clock;
  std::size_t front = 0;
  const auto t0 = clock::now();
  for (auto _ : state) benchmark::DoNotOptimize(front = brute_force_front_size(p));
  const auto t1 = clock::now();
  // pareto_front on the same data in the same run, for the ratio.
  constexpr int fast_reps = 20;
  std::size_t fast_front = 0;
  for (int k = 0; k < fast_reps; ++k)
    fast_front = approxtune::search::pareto_front(p.q, p.s).size();
  const auto t2 = clock::now();
  const double brute =
      std::chrono::duration<double>(t1 - t0).count() / static_cast<double>(state.iterations());
  const double fast = std::chrono::duration<double>(t2 - t1).count() / fast_reps;
  if (fast_front != front) state.SkipWithError("pareto_front and the brute force disagree");
  state.SetLabel(kind_name(kind));
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
  state.counters["front"] = static_cast<double>(front);
  state.counters["pareto_front_speedup"] = brute / fast;
}

void bm_nondominated_ranks(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const int kind = static_cast<int>(state.range(1));
  const auto& p = points(n, kind);
  for (auto _ : state) {
    auto r = approxtune::search::nondominated_ranks(p.q, p.s);
    benchmark::DoNotOptimize(r.data());
  }
  state.SetLabel(kind_name(kind));
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
}

void bm_take_best_n(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const int kind = static_cast<int>(state.range(1));
  const auto take = static_cast<std::size_t>(state.range(2));
  const auto& p = points(n, kind);
  for (auto _ : state) {
    auto r = approxtune::search::take_best_n(p.q, p.s, take);
    benchmark::DoNotOptimize(r.data());
  }
  state.SetLabel(kind_name(kind));
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
}

// Process CPU time (all TBB threads): on the shared 2-core machines it tells contention (real
// time well above CPU time / 2) from slow code.
BENCHMARK(bm_pareto_front)
    ->ArgsProduct({{10'000, 1'000'000, 10'000'000}, {0, 1}})
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime();
BENCHMARK(bm_brute_force)
    ->ArgsProduct({{10'000, 30'000}, {0, 1}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(bm_nondominated_ranks)
    ->ArgsProduct({{1'000'000}, {0, 1}})
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime();
BENCHMARK(bm_take_best_n)
    ->ArgsProduct({{1'000'000}, {0, 1}, {50, 2'000}})
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
