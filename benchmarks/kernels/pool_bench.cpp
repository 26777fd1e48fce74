// Pooling kernels against memory-bound references on the same input tensor: a plain memcpy of
// the tensor, kernels::batch_norm (one read and one write per element), and a hand-written
// exact 2x2 / stride-2 max pooling loop over planes under TBB (the loop the DNN engine used as
// a fast path). After the run a table prints, per shape, each op's median time and its ratio to
// the three references, all from the same run (median over repetitions).
#include <benchmark/benchmark.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "approxtune/kernels/ops.hpp"

namespace {

namespace k = approxtune::kernels;

struct shape_entry {
  const char* name;
  k::shape4 s;
};

// The DNN engine's Fashion-MNIST case first, then the conv benchmark's layer shapes.
const shape_entry shapes[] = {{"100x16x28x28", {100, 16, 28, 28}},
                              {"64x32x28x28", {64, 32, 28, 28}},
                              {"64x64x14x14", {64, 64, 14, 14}}};

enum class op_kind { memcpy_ref, batch_norm_ref, hand_2x2_ref, max_pool, avg_pool };

struct op_entry {
  const char* name;
  op_kind kind;
  k::pool_params params;
  k::pool_variant variant;
};

const k::pool_params p2x2{2, 2, 2, 2, 0, 0};
const k::pool_params p3x3_s2_pad1{3, 3, 2, 2, 1, 1};

const op_entry ops[] = {
    {"memcpy", op_kind::memcpy_ref, {}, {}},
    {"batch_norm", op_kind::batch_norm_ref, {}, {}},
    {"hand_max_2x2", op_kind::hand_2x2_ref, p2x2, {}},
    {"max_2x2", op_kind::max_pool, p2x2, k::exact_pool()},
    {"avg_2x2", op_kind::avg_pool, p2x2, k::exact_pool()},
    {"max_3x3_s2_p1", op_kind::max_pool, p3x3_s2_pad1, k::exact_pool()},
    {"avg_3x3_s2_p1", op_kind::avg_pool, p3x3_s2_pad1, k::exact_pool()},
    {"max_2x2_samp1/2", op_kind::max_pool, p2x2, k::sampled_pool(1, 2)},
    {"avg_3x3_samp2/5", op_kind::avg_pool, p3x3_s2_pad1, k::sampled_pool(2, 5)},
    {"max_2x2_fp16sim", op_kind::max_pool, p2x2, k::exact_pool(k::precision::fp16)},
};

std::vector<float> random_vector(std::size_t n) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// The DNN engine's former fast path (apps/dnn/src/network.cpp), kept here as a reference.
void hand_max_2x2(k::const_tensor_view in, k::tensor_view out) {
  const int H = in.shape.h, W = in.shape.w, OH = out.shape.h, OW = out.shape.w;
  const std::size_t planes = static_cast<std::size_t>(in.shape.n) * in.shape.c;
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, planes, 16),
                    [&](const tbb::blocked_range<std::size_t>& r) {
                      for (std::size_t pl = r.begin(); pl != r.end(); ++pl) {
                        const float* src = in.data + pl * static_cast<std::size_t>(H) * W;
                        float* dst = out.data + pl * static_cast<std::size_t>(OH) * OW;
                        for (int oh = 0; oh < OH; ++oh) {
                          const float* r0 = src + static_cast<std::size_t>(2 * oh) * W;
                          const float* r1 = r0 + W;
                          float* o = dst + static_cast<std::size_t>(oh) * OW;
                          for (int ow = 0; ow < OW; ++ow) {
                            const float a = std::max(r0[2 * ow], r0[2 * ow + 1]);
                            const float b = std::max(r1[2 * ow], r1[2 * ow + 1]);
                            o[ow] = std::max(a, b);
                          }
                        }
                      }
                    });
}

void bm_op(benchmark::State& state, shape_entry se, op_entry oe) {
  const auto x = random_vector(se.s.size());
  const k::const_tensor_view in{x.data(), se.s};
  const bool pooling = oe.kind == op_kind::max_pool || oe.kind == op_kind::avg_pool ||
                       oe.kind == op_kind::hand_2x2_ref;
  k::tensor out(pooling ? k::pool2d_output_shape(se.s, oe.params) : se.s);
  const auto c = static_cast<std::size_t>(se.s.c);
  const std::vector<float> gamma(c, 1.5f), beta(c, 0.25f), mean(c, 0.1f), var(c, 2.0f);
  auto run = [&] {
    switch (oe.kind) {
      case op_kind::memcpy_ref:
        std::memcpy(out.data(), x.data(), sizeof(float) * x.size());
        break;
      case op_kind::batch_norm_ref:
        k::batch_norm(in, gamma, beta, mean, var, 1e-5f, out);
        break;
      case op_kind::hand_2x2_ref:
        hand_max_2x2(in, out);
        break;
      case op_kind::max_pool:
        k::max_pool2d(in, oe.params, oe.variant, out);
        break;
      case op_kind::avg_pool:
        k::avg_pool2d(in, oe.params, oe.variant, out);
        break;
    }
  };
  run();  // warm-up
  for (auto _ : state) {
    run();
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.counters["in_MB"] = static_cast<double>(x.size() * sizeof(float)) / 1e6;
}

// Keeps every repetition's time per iteration for the ratio table (median over repetitions).
class recording_reporter : public benchmark::ConsoleReporter {
 public:
  std::map<std::string, std::vector<double>> seconds;
  double median(const std::string& name) const {
    auto it = seconds.find(name);
    if (it == seconds.end() || it->second.empty()) return 0.0;
    std::vector<double> s = it->second;
    std::sort(s.begin(), s.end());
    const std::size_t n = s.size();
    return n % 2 == 1 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
  }
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      if (r.error_occurred || r.run_type == Run::RT_Aggregate || r.iterations == 0) continue;
      std::string name = r.benchmark_name();
      const std::string suffix = "/real_time";
      if (name.size() > suffix.size() &&
          name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
        name.resize(name.size() - suffix.size());
      }
      seconds[name].push_back(r.real_accumulated_time / static_cast<double>(r.iterations));
    }
    ConsoleReporter::ReportRuns(runs);
  }
};

}  // namespace

int main(int argc, char** argv) {
  for (const shape_entry& se : shapes) {
    for (const op_entry& oe : ops) {
      benchmark::RegisterBenchmark((std::string("pool/") + se.name + "/" + oe.name).c_str(), bm_op,
                                   se, oe)
          ->Unit(benchmark::kMicrosecond)
          ->UseRealTime();
    }
  }
  benchmark::Initialize(&argc, argv);
  recording_reporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);

  std::printf(
      "\nRatio table (median time over repetitions of this run; x_memcpy = time / memcpy of the "
      "input tensor, x_bn = time / batch_norm, x_hand = time / hand-written 2x2 max loop)\n");
  std::printf("%-14s %-18s %10s %9s %9s %9s\n", "shape", "op", "time_us", "x_memcpy", "x_bn",
              "x_hand");
  for (const shape_entry& se : shapes) {
    const std::string prefix = std::string("pool/") + se.name + "/";
    const double t_mem = reporter.median(prefix + "memcpy");
    const double t_bn = reporter.median(prefix + "batch_norm");
    const double t_hand = reporter.median(prefix + "hand_max_2x2");
    for (const op_entry& oe : ops) {
      const double t = reporter.median(prefix + oe.name);
      if (t == 0.0) continue;
      auto ratio = [&](double ref) { return ref > 0.0 ? t / ref : 0.0; };
      std::printf("%-14s %-18s %10.1f %9.3f %9.3f %9.3f\n", se.name, oe.name, t * 1e6,
                  ratio(t_mem), ratio(t_bn), ratio(t_hand));
    }
  }
  benchmark::Shutdown();
  return 0;
}
