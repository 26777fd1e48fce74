// The evaluation engine, measured side by side in one run:
// - scaling: synthetic app with a fixed 5 ms latency (no CPU) on 1..16 slots; throughput
//   relative to 1 slot (target >= 0.9 x slots);
// - overhead: engine vs a plain serial loop calling measure() directly on the zero-cost app;
// - a CPU-bound app (real arithmetic) on 1 vs 2 slots, to show both cores are used.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cmath>
#include <map>

#include "approxtune/apps/synthetic.hpp"
#include "approxtune/runtime/engine.hpp"

using namespace approxtune;

namespace {

std::vector<config_code> configs(const app& a, std::size_t n) {
  std::vector<config_code> out;
  config_code c = a.space().baseline_code();
  for (std::size_t i = 0; i < n; ++i) {
    c[i % c.size()] = static_cast<knob_index>(i % a.space().num_knobs(i % c.size()));
    out.push_back(c);
  }
  return out;
}

engine_options slots(int n) {
  engine_options o;
  o.devices = parse_devices("cpu:" + std::to_string(n), discover_devices());
  return o;
}

// Throughput of the 1-slot run of each group, measured earlier in the same process.
std::map<std::string, double> one_slot_rate;

// Sets evals_per_s, and speedup_vs_1slot / efficiency (= speedup / slots) against the 1-slot
// run of the same group measured earlier in this run.
void report_scaling(benchmark::State& state, const std::string& group, int n_slots,
                    std::size_t evals_per_iter, double seconds) {
  const double rate = static_cast<double>(evals_per_iter * state.iterations()) / seconds;
  if (n_slots == 1) one_slot_rate[group] = rate;
  state.counters["evals_per_s"] = rate;
  if (auto it = one_slot_rate.find(group); it != one_slot_rate.end()) {
    state.counters["speedup_vs_1slot"] = rate / it->second;
    state.counters["efficiency"] = rate / it->second / n_slots;
  }
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void scaling(benchmark::State& state) {
  apps::synthetic_options o;
  o.ops = 30;
  o.knobs = 10;
  o.eval_latency_ms = 5.0;
  apps::synthetic_app a(o);
  const int n = static_cast<int>(state.range(0));
  engine e(a, slots(n));
  const auto batch = configs(a, static_cast<std::size_t>(16 * n));  // 16 rounds per slot
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) benchmark::DoNotOptimize(e.evaluate(batch, split::tune).data());
  report_scaling(state, "latency", n, batch.size(), seconds_since(t0));
}
BENCHMARK(scaling)->Arg(1)->Arg(2)->Arg(4)->Arg(8)->Arg(16)->UseRealTime()->Unit(benchmark::kMillisecond);

apps::synthetic_app& zero_cost() {
  static apps::synthetic_app a([] {
    apps::synthetic_options o;
    o.ops = 30;
    o.knobs = 10;
    return o;
  }());
  return a;
}

void overhead_serial(benchmark::State& state) {
  auto& a = zero_cost();
  const auto batch = configs(a, 4096);
  std::vector<measurement> out(batch.size());
  for (auto _ : state) {
    for (std::size_t i = 0; i < batch.size(); ++i) out[i] = a.measure(batch[i], split::tune);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["us_per_eval"] = benchmark::Counter(
      static_cast<double>(batch.size()) * 1e-6,
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
BENCHMARK(overhead_serial)->UseRealTime()->Unit(benchmark::kMicrosecond);

void overhead_engine(benchmark::State& state) {
  auto& a = zero_cost();
  engine e(a, slots(static_cast<int>(state.range(0))));
  const auto batch = configs(a, static_cast<std::size_t>(state.range(1)));
  for (auto _ : state) benchmark::DoNotOptimize(e.evaluate(batch, split::tune).data());
  state.counters["us_per_eval"] = benchmark::Counter(
      static_cast<double>(batch.size()) * 1e-6,
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
// (slots, batch size): the tuner's default batch is 2 x slots; large batches amortise the graph.
BENCHMARK(overhead_engine)->Args({1, 2})->Args({2, 4})->Args({1, 64})->Args({2, 64})->Args({2, 4096})
    ->UseRealTime()->Unit(benchmark::kMicrosecond);

// Real arithmetic, about 2 ms per evaluation on one core.
class cpu_bound_app final : public app {
 public:
  cpu_bound_app() : app({{"op", {knob("a"), knob("b")}}}) {}
  std::string name() const override { return "cpu-bound"; }
  bool cost_is_timed() const override { return false; }
  measurement measure(const config_code& c, split) const override {
    double x = 1.0 + c[0];
    for (int i = 0; i < 2'000'000; ++i) x = std::sqrt(x * 1.0000001 + 1.0);
    return {x, 1.0};
  }
};

void cpu_bound(benchmark::State& state) {
  cpu_bound_app a;
  engine e(a, slots(static_cast<int>(state.range(0))));
  std::vector<config_code> batch(32, config_code{1});
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) benchmark::DoNotOptimize(e.evaluate(batch, split::tune).data());
  report_scaling(state, "cpu", static_cast<int>(state.range(0)), batch.size(), seconds_since(t0));
}
BENCHMARK(cpu_bound)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
