// Approximate convolutions against the exact one on realistic layer shapes (batch 64, 3x3,
// padding 1), and the exact conv against plain OpenBLAS sgemm of the same GEMM sizes.
//
// Every benchmark reports `flop_ratio` (variant FLOPs / exact FLOPs, from conv2d_flops) and
// `GFLOPs` (its own FLOPs per second). After the run, a table prints, per layer, each variant's
// measured speedup over the exact conv of the same run, 1/flop_ratio, and their quotient
// (the "efficiency": 1.0 = the variant is as fast as its FLOP count promises), then the exact
// conv's GFLOP/s relative to sgemm. Times are the mean real time per iteration. A second
// family, paired/<layer>/<variant>, times the exact conv and the variant back to back in every
// iteration; its per-pair ratios give the p.speedup / p.effic columns (see bm_paired), the
// measurement least disturbed by other processes on shared cores.
#include <benchmark/benchmark.h>
#include <cblas.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "approxtune/kernels/ops.hpp"

namespace {

namespace k = approxtune::kernels;

struct layer {
  const char* name;
  int n, c, hw;  // batch, channels in = out, spatial size
};

const layer layers[] = {
    {"32x28x28", 64, 32, 28}, {"64x14x14", 64, 64, 14}, {"128x7x7", 64, 128, 7}};

struct variant_entry {
  const char* name;
  k::conv_variant v;
};

const variant_entry variants[] = {
    {"exact", k::exact_conv()},
    {"perf_rows_s2_o0", k::perforated_rows(2, 0)},
    {"perf_rows_s2_o1", k::perforated_rows(2, 1)},
    {"perf_cols_s2_o0", k::perforated_cols(2, 0)},
    {"perf_cols_s2_o1", k::perforated_cols(2, 1)},
    {"perf_rows_s3_o0", k::perforated_rows(3, 0)},
    {"perf_rows_s4_o0", k::perforated_rows(4, 0)},
    {"samp_e2_o0", k::filter_sampling(2, 0)},
    {"samp_e3_o0", k::filter_sampling(3, 0)},
    {"samp_e4_o0", k::filter_sampling(4, 0)},
    // Accuracy simulation on the CPU: half-rounded operands, fp32 arithmetic. Not a speedup.
    {"fp16_sim_cpu", k::exact_conv(k::precision::fp16)},
};

std::vector<float> random_vector(std::size_t n) {
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

const k::conv_params same_pad{1, 1, 1, 1};

void bm_conv(benchmark::State& state, layer l, variant_entry ve) {
  const k::shape4 in{l.n, l.c, l.hw, l.hw};
  const k::shape4 w{l.c, l.c, 3, 3};
  const auto x = random_vector(in.size());
  const auto wt = random_vector(w.size());
  const auto bias = random_vector(static_cast<std::size_t>(l.c));
  k::tensor out(k::conv2d_output_shape(in, w, same_pad));
  k::workspace ws;
  k::conv2d({x.data(), in}, {wt.data(), w}, bias, same_pad, ve.v, out, ws);  // warm-up: grows ws
  for (auto _ : state) {
    k::conv2d({x.data(), in}, {wt.data(), w}, bias, same_pad, ve.v, out, ws);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  const double flops = k::conv2d_flops(in, w, same_pad, ve.v);
  state.counters["flop_ratio"] = flops / k::conv2d_flops(in, w, same_pad, k::exact_conv());
  state.counters["flops"] = flops;
  state.counters["GFLOPs"] =
      benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// Paired measurement: every iteration runs the exact conv and the variant back to back
// (alternating which goes first) and records exact time / variant time. Other processes on the
// shared cores change speed over seconds, so two calls a few milliseconds apart see nearly the
// same machine; the median of these per-pair ratios (counter `paired_speedup`) is much less
// sensitive to that load than the ratio of two separately measured medians. The iteration time
// reported to the library is the variant's.
void bm_paired(benchmark::State& state, layer l, variant_entry ve) {
  const k::shape4 in{l.n, l.c, l.hw, l.hw};
  const k::shape4 w{l.c, l.c, 3, 3};
  const auto x = random_vector(in.size());
  const auto wt = random_vector(w.size());
  const auto bias = random_vector(static_cast<std::size_t>(l.c));
  k::tensor out_exact(k::conv2d_output_shape(in, w, same_pad));
  k::tensor out(out_exact.shape());
  k::workspace ws;
  auto run = [&](const k::conv_variant& v, k::tensor& o) {
    const auto t0 = std::chrono::steady_clock::now();
    k::conv2d({x.data(), in}, {wt.data(), w}, bias, same_pad, v, o, ws);
    benchmark::DoNotOptimize(o.data());
    benchmark::ClobberMemory();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  run(k::exact_conv(), out_exact);  // warm-up: grows ws
  run(ve.v, out);
  std::vector<double> ratios;
  bool exact_first = true;
  for (auto _ : state) {
    double t_exact = 0.0;
    double t_variant = 0.0;
    if (exact_first) {
      t_exact = run(k::exact_conv(), out_exact);
      t_variant = run(ve.v, out);
    } else {
      t_variant = run(ve.v, out);
      t_exact = run(k::exact_conv(), out_exact);
    }
    exact_first = !exact_first;
    ratios.push_back(t_exact / t_variant);
    state.SetIterationTime(t_variant);
  }
  std::sort(ratios.begin(), ratios.end());
  const std::size_t n = ratios.size();
  state.counters["paired_speedup"] =
      n == 0 ? 0.0 : (n % 2 == 1 ? ratios[n / 2] : 0.5 * (ratios[n / 2 - 1] + ratios[n / 2]));
  state.counters["flop_ratio"] =
      k::conv2d_flops(in, w, same_pad, ve.v) / k::conv2d_flops(in, w, same_pad, k::exact_conv());
}

// The GEMMs the exact conv issues, without the im2col: one single-threaded sgemm per image
// ([C_out x 9*C_in] x [9*C_in x H*W]), images spread over TBB threads exactly as in conv2d.
void bm_sgemm_per_image(benchmark::State& state, layer l) {
  const int m = l.c;
  const int kk = 9 * l.c;
  const int p = l.hw * l.hw;
  const auto a = random_vector(static_cast<std::size_t>(m) * kk);
  const auto b = random_vector(static_cast<std::size_t>(kk) * p * l.n);
  std::vector<float> c(static_cast<std::size_t>(m) * p * l.n);
  openblas_set_num_threads(1);
  for (auto _ : state) {
    tbb::parallel_for(tbb::blocked_range<int>(0, l.n, 1), [&](const tbb::blocked_range<int>& r) {
      for (int i = r.begin(); i != r.end(); ++i) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, p, kk, 1.0f, a.data(), kk,
                    b.data() + static_cast<std::size_t>(i) * kk * p, p, 0.0f,
                    c.data() + static_cast<std::size_t>(i) * m * p, p);
      }
    });
    benchmark::ClobberMemory();
  }
  const double flops = 2.0 * m * kk * static_cast<double>(p) * l.n;
  state.counters["flops"] = flops;
  state.counters["GFLOPs"] =
      benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// One big sgemm of the whole batch ([C_out x 9*C_in] x [9*C_in x N*H*W]) with OpenBLAS's own
// threads (as many as TBB would use), the best case for the library.
void bm_sgemm_one_call(benchmark::State& state, layer l) {
  const int m = l.c;
  const int kk = 9 * l.c;
  const int np = l.hw * l.hw * l.n;
  const auto a = random_vector(static_cast<std::size_t>(m) * kk);
  const auto b = random_vector(static_cast<std::size_t>(kk) * np);
  std::vector<float> c(static_cast<std::size_t>(m) * np);
  openblas_set_num_threads(tbb::this_task_arena::max_concurrency());
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, np, kk, 1.0f, a.data(), kk, b.data(),
                np, 0.0f, c.data(), np);
    benchmark::ClobberMemory();
  }
  openblas_set_num_threads(1);  // back to the kernels' policy
  const double flops = 2.0 * m * kk * static_cast<double>(np);
  state.counters["flops"] = flops;
  state.counters["GFLOPs"] =
      benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// Keeps every repetition's mean time per iteration, so that the ratio table uses numbers of
// this run; with --benchmark_repetitions the table takes the median over repetitions (robust to
// other processes sharing the cores), and --benchmark_enable_random_interleaving spreads any
// such disturbance over all variants instead of hitting a few.
class recording_reporter : public benchmark::ConsoleReporter {
 public:
  struct row {
    std::vector<double> seconds;
    std::vector<double> paired;  // paired_speedup of each repetition (paired benchmarks)
    double flops = 0.0;
    double flop_ratio = 0.0;
    double median() const {
      std::vector<double> s = seconds;
      std::sort(s.begin(), s.end());
      const std::size_t n = s.size();
      return n == 0 ? 0.0 : (n % 2 == 1 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]));
    }
    double best() const {
      return seconds.empty() ? 0.0 : *std::min_element(seconds.begin(), seconds.end());
    }
    double gflops() const { return flops * 1e-9 / median(); }
    static double median_of(std::vector<double> s) {
      std::sort(s.begin(), s.end());
      const std::size_t n = s.size();
      return n == 0 ? 0.0 : (n % 2 == 1 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]));
    }
    double paired_median() const { return median_of(paired); }
    double paired_min() const {
      return paired.empty() ? 0.0 : *std::min_element(paired.begin(), paired.end());
    }
    double paired_max() const {
      return paired.empty() ? 0.0 : *std::max_element(paired.begin(), paired.end());
    }
  };
  std::map<std::string, row> rows;

  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      if (r.error_occurred || r.run_type == Run::RT_Aggregate || r.iterations == 0) continue;
      std::string name = r.benchmark_name();
      for (const std::string suffix : {"/real_time", "/manual_time"}) {
        if (name.size() > suffix.size() &&
            name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
          name.resize(name.size() - suffix.size());
        }
      }
      row& x = rows[name];
      x.seconds.push_back(r.real_accumulated_time / static_cast<double>(r.iterations));
      auto f = r.counters.find("flops");
      if (f != r.counters.end()) x.flops = f->second.value;
      auto ps = r.counters.find("paired_speedup");
      if (ps != r.counters.end()) x.paired.push_back(ps->second.value);
      auto q = r.counters.find("flop_ratio");
      if (q != r.counters.end()) x.flop_ratio = q->second.value;
    }
    ConsoleReporter::ReportRuns(runs);
  }
};

}  // namespace

int main(int argc, char** argv) {
  for (const layer& l : layers) {
    for (const variant_entry& ve : variants) {
      benchmark::RegisterBenchmark((std::string("conv/") + l.name + "/" + ve.name).c_str(), bm_conv,
                                   l, ve)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    }
    for (const variant_entry& ve : variants) {
      if (ve.v == k::exact_conv()) continue;
      benchmark::RegisterBenchmark((std::string("paired/") + l.name + "/" + ve.name).c_str(),
                                   bm_paired, l, ve)
          ->Unit(benchmark::kMillisecond)
          ->UseManualTime();
    }
    benchmark::RegisterBenchmark((std::string("sgemm_per_image/") + l.name).c_str(),
                                 bm_sgemm_per_image, l)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark((std::string("sgemm_one_call/") + l.name).c_str(),
                                 bm_sgemm_one_call, l)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
  benchmark::Initialize(&argc, argv);
  recording_reporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);

  std::printf(
      "\nRatio table (median over repetitions of this run; speedup = exact time / variant "
      "time; effic. = speedup / (1/flop_ratio); effic.(min) uses each benchmark's fastest "
      "repetition; p.speedup = median over repetitions of the median exact/variant ratio of "
      "back-to-back pairs, p.effic = p.speedup / (1/flop_ratio), [min,max] of p.effic over the "
      "repetitions)\n");
  std::printf("%-10s %-16s %9s %9s %9s %8s %8s %12s %9s %8s %15s\n", "layer", "variant",
              "time_ms", "speedup", "1/flop_r", "effic.", "GFLOP/s", "effic.(min)", "p.speedup",
              "p.effic", "p.effic[min,max]");
  for (const layer& l : layers) {
    const auto base = reporter.rows.find(std::string("conv/") + l.name + "/exact");
    if (base == reporter.rows.end()) continue;
    for (const variant_entry& ve : variants) {
      const auto it = reporter.rows.find(std::string("conv/") + l.name + "/" + ve.name);
      if (it == reporter.rows.end()) continue;
      const double speedup = base->second.median() / it->second.median();
      const double ideal = 1.0 / it->second.flop_ratio;
      // The same efficiency from each benchmark's fastest repetition, the least disturbed one.
      const double speedup_min = base->second.best() / it->second.best();
      // Paired: median over repetitions of each repetition's median per-pair speedup.
      const auto pit = reporter.rows.find(std::string("paired/") + l.name + "/" + ve.name);
      const bool paired = pit != reporter.rows.end() && !pit->second.paired.empty();
      const double ps = paired ? pit->second.paired_median() : 1.0;
      const double ps_lo = paired ? pit->second.paired_min() : 1.0;
      const double ps_hi = paired ? pit->second.paired_max() : 1.0;
      std::printf("%-10s %-16s %9.2f %9.3f %9.3f %8.3f %8.1f %12.3f %9.3f %8.3f   [%.3f,%.3f]\n",
                  l.name, ve.name, it->second.median() * 1e3, speedup, ideal, speedup / ideal,
                  it->second.gflops(), speedup_min / ideal, ps, ps / ideal, ps_lo / ideal,
                  ps_hi / ideal);
    }
    const auto per_image = reporter.rows.find(std::string("sgemm_per_image/") + l.name);
    const auto one_call = reporter.rows.find(std::string("sgemm_one_call/") + l.name);
    if (per_image != reporter.rows.end() && one_call != reporter.rows.end()) {
      std::printf(
          "%-10s exact conv %.1f GFLOP/s = %.3f x sgemm per image (%.1f GFLOP/s), "
          "%.3f x one batched sgemm call (%.1f GFLOP/s)\n",
          l.name, base->second.gflops(), base->second.gflops() / per_image->second.gflops(),
          per_image->second.gflops(), base->second.gflops() / one_call->second.gflops(),
          one_call->second.gflops());
    }
  }
  benchmark::Shutdown();
  return 0;
}
