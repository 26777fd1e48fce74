// Tuner overhead per evaluation on the zero-cost synthetic app (30 ops x 10 knobs, 5000
// evaluations), for each strategy, next to the plain serial loop (strategy + measure, no engine,
// no cache, no buffer) in the same run. The reference Python tuner spends ~7 ms per evaluation.
#include <benchmark/benchmark.h>

#include "approxtune/apps/synthetic.hpp"
#include "approxtune/search/strategy.hpp"
#include "approxtune/search/tuner.hpp"

using namespace approxtune;

namespace {

apps::synthetic_app& zero_cost_app() {
  static apps::synthetic_app a([] {
    apps::synthetic_options o;
    o.ops = 30;
    o.knobs = 10;
    o.seed = 1;
    return o;
  }());
  return a;
}

constexpr std::size_t evals = 5000;

void per_eval_counter(benchmark::State& state, std::size_t n) {
  state.counters["us_per_eval"] = benchmark::Counter(
      static_cast<double>(n) * 1e-6, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

void tuner_overhead(benchmark::State& state, const std::string& strategy, const std::string& devices) {
  auto& a = zero_cost_app();
  std::size_t n = 0;
  for (auto _ : state) {
    tuner t(a);
    tune_options o;
    o.strategy = strategy;
    o.max_iter = evals;
    o.relative = true;
    o.qos_tuner_threshold = 3.0;
    o.test_configs = false;
    o.devices = devices;
    o.batch_size = 16;
    t.tune(o);
    n = t.summary().evaluations;
    benchmark::DoNotOptimize(t.best_configs().data());
  }
  per_eval_counter(state, n);
  state.counters["evaluations"] = static_cast<double>(n);
}

// The plain serial loop: what the tuner does minus the engine, cache, buffer and selection.
void serial_loop(benchmark::State& state, const std::string& strategy) {
  auto& a = zero_cost_app();
  for (auto _ : state) {
    search::strategy_context ctx{&a.space(), 97.0, 0, nlohmann::json::object()};
    auto s = search::make_strategy(strategy, ctx);
    const double base_cost = a.baseline_cost();
    std::size_t done = 0;
    std::vector<measurement> ms;
    std::vector<search::observation> obs;
    while (done < evals) {
      auto batch = s->propose(16);
      if (batch.empty()) break;
      ms.clear();
      obs.clear();
      for (const auto& c : batch) ms.push_back(a.measure(c, split::tune));
      for (std::size_t i = 0; i < batch.size(); ++i)
        obs.push_back({batch[i], ms[i].qos, ms[i].cost / base_cost, true, false});
      s->observe(obs);
      done += batch.size();
    }
    benchmark::DoNotOptimize(done);
  }
  per_eval_counter(state, evals);
}

}  // namespace

BENCHMARK_CAPTURE(serial_loop, random, std::string("random"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(tuner_overhead, random_1slot, std::string("random"), std::string("cpu:1"))
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(tuner_overhead, random_2slots, std::string("random"), std::string("cpu:2"))
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(serial_loop, opentuner_default, std::string("opentuner-default"))
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(tuner_overhead, opentuner_default_1slot, std::string("opentuner-default"),
                  std::string("cpu:1"))
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(tuner_overhead, opentuner_default_2slots, std::string("opentuner-default"),
                  std::string("cpu:2"))
    ->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
