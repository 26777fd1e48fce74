// The results store, measured in one run:
// - store_overhead: a whole tuning run on the zero-cost synthetic app without a store and with
//   one (queue + writer thread + cache, flushed before the clock stops), alternating in each
//   iteration; counters give us/eval of each and the difference (target: < 20 us/eval);
// - record: the part on the tuner thread (queueing one commit of a batch of rows);
// - open_show_1e6: open a store of 10^6 evaluations and compute what `approxtune show` prints
//   (run, progress, best speedup, Pareto front decoded) (target: < 1 s).
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>

#include "approxtune/apps/synthetic.hpp"
#include "approxtune/runtime/store.hpp"
#include "approxtune/search/pareto.hpp"
#include "approxtune/search/tuner.hpp"

using namespace approxtune;
namespace fs = std::filesystem;

namespace {

fs::path bench_dir(const std::string& name) {
  return fs::temp_directory_path() / ("approxtune_store_bench_" + name);
}

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

tune_options run_options(std::size_t evals) {
  tune_options o;
  o.max_iter = evals;
  o.relative = true;
  o.qos_tuner_threshold = 3.0;
  o.strategy = "random";  // the cheapest strategy: the store's share is the most visible
  o.seed = 5;
  o.batch_size = 64;
  o.devices = "cpu:1";
  o.test_configs = false;
  return o;
}

// One tuning run; with a store, exactly what `approxtune tune` wires up (run row, cache,
// on_commit, final flush and end of run). Returns seconds.
double tune_once(std::size_t evals, bool with_store) {
  const auto dir = bench_dir("tune");
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto& a = zero_cost_app();
  auto o = run_options(evals);
  const auto t0 = std::chrono::steady_clock::now();
  if (!with_store) {
    tuner t(a);
    t.tune(o);
  } else {
    results_store s(store_file(dir));
    run_info info;
    info.app_name = a.name();
    info.app_hash = a.content_hash();
    info.space_hash = a.space().fingerprint();
    info.space = describe_space(a.space());
    info.budget = evals;
    const auto id = s.begin_run(info);
    store_reader r(store_file(dir));
    store_cache cache(r, *r.run(id), true, &s);
    o.cache = &cache;
    o.on_commit = [&](std::span<const evaluation> es) {
      cache.add(es);
      s.record(es);
    };
    tuner t(a);
    t.tune(o);
    s.end_run(run_status::finished);  // flushes: every row is committed inside the timing
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void store_overhead(benchmark::State& state) {
  const auto evals = static_cast<std::size_t>(state.range(0));
  double without = 0.0, with = 0.0;
  for (auto _ : state) {
    without += tune_once(evals, false);
    with += tune_once(evals, true);
  }
  const double n = static_cast<double>(evals * state.iterations());
  state.counters["no_store_us_per_eval"] = 1e6 * without / n;
  state.counters["store_us_per_eval"] = 1e6 * with / n;
  state.counters["overhead_us_per_eval"] = 1e6 * (with - without) / n;
  state.counters["store_vs_no_store"] = with / without;
  fs::remove_all(bench_dir("tune"));
}
BENCHMARK(store_overhead)->Arg(20000)->Arg(100000)->Unit(benchmark::kMillisecond)->UseRealTime();

// The tuner thread's share: queueing one committed batch (copying its rows).
void record(benchmark::State& state) {
  const auto dir = bench_dir("record");
  fs::remove_all(dir);
  fs::create_directories(dir);
  const auto batch = static_cast<std::size_t>(state.range(0));
  std::vector<evaluation> evals(batch);
  std::mt19937_64 rng(3);
  for (auto& e : evals) {
    e.code.resize(30);
    for (auto& k : e.code) k = static_cast<knob_index>(rng() % 11);
    e.hash = hash_config(e.code);
    e.qos = 99.0;
    e.cost = 10.0;
    e.device = "cpu";
    e.slot = 0;
  }
  double seconds = 0.0;
  {
    results_store s(store_file(dir));
    s.begin_run(run_info{});
    for (auto _ : state) {
      const auto t0 = std::chrono::steady_clock::now();
      s.record(evals);
      seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    s.flush();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch));
  state.counters["us_per_row"] = 1e6 * seconds / static_cast<double>(state.iterations() * batch);
  fs::remove_all(dir);
}
BENCHMARK(record)->Arg(1)->Arg(64)->UseRealTime();

// A store of n evaluations of one run (the zero-cost app on random configs), built once and
// reused by later runs of the benchmark.
fs::path big_store(std::size_t n) {
  const auto dir = bench_dir("big_" + std::to_string(n));
  const auto file = store_file(dir);
  if (fs::exists(file)) {
    try {
      store_reader r(file);
      const auto run = r.latest_run();
      if (run && run->status == run_status::finished && r.progress(run->id).tune_evaluations == n)
        return file;
    } catch (const std::exception&) {
    }
  }
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto& a = zero_cost_app();
  results_store s(file, store_options{.batch_rows = 65536});
  run_info info;
  info.app_name = a.name();
  info.app_hash = a.content_hash();
  info.space_hash = a.space().fingerprint();
  info.space = describe_space(a.space());
  info.budget = n;
  info.relative = true;
  info.tuner_threshold = info.keep_threshold = 3.0;
  s.begin_run(info);
  std::mt19937_64 rng(9);
  std::vector<evaluation> chunk;
  for (std::size_t i = 0; i < n; ++i) {
    evaluation e;
    e.code = a.space().baseline_code();
    if (i > 0)
      for (std::size_t op = 0; op < e.code.size(); ++op)
        if (rng() % 4 == 0) e.code[op] = static_cast<knob_index>(rng() % a.space().num_knobs(op));
    e.hash = hash_config(e.code);
    const auto m = a.evaluate(e.code, split::tune);
    e.qos = m.qos;
    e.cost = m.cost;
    e.device = "cpu";
    e.slot = static_cast<int>(i % 2);
    chunk.push_back(std::move(e));
    if (chunk.size() == 65536 || i + 1 == n) {
      s.record(chunk);
      chunk.clear();
    }
  }
  s.end_run(run_status::finished);
  return file;
}

void open_show(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto file = big_store(n);
  std::size_t front = 0;
  double best = 0.0;
  for (auto _ : state) {
    // What `approxtune show` does: open, run, progress, tune points, best within the
    // threshold, Pareto front of the kept configs, and the front's rows decoded.
    store_reader r(file);
    const auto run = *r.latest_run();
    const auto p = r.progress(run.id);
    const auto pts = r.points(run.id);
    const double base_qos = pts.qos[0], base_cost = pts.cost[0];
    const double thr = base_qos - run.info.tuner_threshold;
    std::vector<std::size_t> kept;
    std::vector<double> kq, ks;
    best = 1.0;
    for (std::size_t i = 0; i < pts.ids.size(); ++i) {
      if (!pts.ok[i] || pts.qos[i] < thr) continue;
      kept.push_back(i);
      kq.push_back(pts.qos[i]);
      ks.push_back(base_cost / pts.cost[i]);
      best = std::max(best, ks.back());
    }
    const auto f = search::pareto_front(kq, ks);
    std::vector<std::int64_t> ids;
    for (auto i : f) ids.push_back(pts.ids[kept[i]]);
    std::size_t decoded = 0;
    for (const auto& e : r.evaluations(ids)) decoded += decode_with(run.info.space, e.code).size();
    front = f.size();
    benchmark::DoNotOptimize(decoded);
    benchmark::DoNotOptimize(p);
  }
  state.counters["front"] = static_cast<double>(front);
  state.counters["best_speedup"] = best;
}
BENCHMARK(open_show)->Arg(1000000)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(5);

}  // namespace

BENCHMARK_MAIN();
