// The GPU conv pipeline emulated on the host with the very element functions its kernels call
// (conv_tap_of for im2col, conv_filter_of + samp_scale for the weights, perf_output_value for
// the perforation gather), a float64 GEMM in place of cuBLAS, and the bias last -- compared
// with the CPU conv2d, itself checked against the float64 oracle in conv_test. Without a GPU on
// the build machines this is what tests the index logic of conv_cuda.cu.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "approxtune/kernels/ops.hpp"
#include "detail/approx_element.hpp"
#include "detail/conv_plan.hpp"

namespace {

namespace k = approxtune::kernels;
namespace d = approxtune::kernels::detail;

std::vector<float> emulate_gpu_conv(const d::conv_plan& plan, const std::vector<float>& x,
                                    const std::vector<float>& w, const std::vector<float>& bias,
                                    std::vector<double>* magnitude) {
  const d::conv_dims g = d::dims_of(plan);
  const int positions = g.rows_eff * g.cols_eff;
  const bool half = plan.variant.prec == k::precision::fp16;
  // weights_kernel
  std::vector<double> a(static_cast<std::size_t>(g.k) * g.n_kept);
  const float scale = g.kind == d::conv_kind_sampling ? d::samp_scale(g.samp_skip) : 1.0f;
  for (int kk = 0; kk < g.k; ++kk) {
    for (int t = 0; t < g.n_kept; ++t) {
      const float v = w[static_cast<std::size_t>(kk) * g.n_full + d::conv_filter_of(g, t)] * scale;
      a[static_cast<std::size_t>(kk) * g.n_kept + t] = half ? d::round_half(v) : v;
    }
  }
  std::vector<float> out(plan.output_shape().size());
  magnitude->assign(out.size(), 0.0);
  std::vector<double> col(static_cast<std::size_t>(g.n_kept) * positions);
  std::vector<float> compact(static_cast<std::size_t>(g.k) * positions);
  std::vector<double> compact_mag(compact.size());
  for (int img = 0; img < g.n; ++img) {
    // im2col_kernel
    for (int t = 0; t < g.n_kept; ++t) {
      for (int pos = 0; pos < positions; ++pos) {
        d::conv_tap tap{};
        float v = 0.0f;
        if (d::conv_tap_of(g, t, pos, &tap)) {
          v = x[((static_cast<std::size_t>(img) * g.c + tap.c) * g.h + tap.ih) * g.w + tap.iw];
        }
        col[static_cast<std::size_t>(t) * positions + pos] = half ? d::round_half(v) : v;
      }
    }
    // cuBLAS GEMM, here in float64
    for (int kk = 0; kk < g.k; ++kk) {
      for (int pos = 0; pos < positions; ++pos) {
        double sum = 0.0;
        double mag = 0.0;
        for (int t = 0; t < g.n_kept; ++t) {
          const double term = a[static_cast<std::size_t>(kk) * g.n_kept + t] *
                              col[static_cast<std::size_t>(t) * positions + pos];
          sum += term;
          mag += std::abs(term);
        }
        compact[static_cast<std::size_t>(kk) * positions + pos] = static_cast<float>(sum);
        compact_mag[static_cast<std::size_t>(kk) * positions + pos] = mag;
      }
    }
    // perforation_gather_kernel / bias_kernel
    const bool perforated = g.kind == d::conv_kind_rows || g.kind == d::conv_kind_cols;
    for (int kk = 0; kk < g.k; ++kk) {
      for (int y = 0; y < g.oh; ++y) {
        for (int xx = 0; xx < g.ow; ++xx) {
          const std::size_t o = ((static_cast<std::size_t>(img) * g.k + kk) * g.oh + y) * g.ow + xx;
          const float* c = compact.data() + static_cast<std::size_t>(kk) * positions;
          float v = perforated ? d::perf_output_value(g, c, y, xx) : c[y * g.ow + xx];
          if (!bias.empty()) v += bias[kk];
          out[o] = v;
          // The magnitude of the largest compact entry of the channel bounds any interpolation.
          double mag = 0.0;
          for (int p = 0; p < positions; ++p)
            mag = std::max(mag, compact_mag[static_cast<std::size_t>(kk) * positions + p]);
          (*magnitude)[o] = mag + (bias.empty() ? 0.0 : std::abs(bias[kk]));
        }
      }
    }
  }
  return out;
}

TEST(ConvCudaLogic, EmulatedGpuPipelineMatchesCpuConv) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE(testing::Message() << "seed=" << seed);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  struct shape_case {
    k::shape4 in, w;
    k::conv_params p;
  };
  const shape_case cases[] = {{{2, 3, 9, 11}, {4, 3, 3, 3}, {1, 1, 1, 1}},
                              {{1, 2, 8, 7}, {3, 2, 5, 5}, {1, 1, 2, 2}},
                              {{3, 4, 12, 9}, {2, 4, 3, 2}, {2, 1, 1, 0}},
                              {{2, 5, 7, 7}, {3, 5, 1, 1}, {1, 1, 0, 0}}};
  k::workspace ws;
  for (const auto& cs : cases) {
    std::vector<k::conv_variant> variants{k::exact_conv(), k::exact_conv(k::precision::fp16)};
    for (int s = 2; s <= 4; ++s) {
      for (int o = 0; o < s; ++o) {
        for (auto prec : {k::precision::fp32, k::precision::fp16}) {
          variants.push_back(k::perforated_rows(s, o, prec));
          variants.push_back(k::perforated_cols(s, o, prec));
          variants.push_back(k::filter_sampling(s, o, prec));
        }
      }
    }
    std::vector<float> x(cs.in.size()), w(cs.w.size()), bias(static_cast<std::size_t>(cs.w.n));
    for (auto& v : x) v = dist(rng);
    for (auto& v : w) v = dist(rng);
    for (auto& v : bias) v = dist(rng);
    for (const auto& v : variants) {
      SCOPED_TRACE(v.to_string() + " input " + cs.in.to_string() + " weights " + cs.w.to_string());
      const d::conv_plan plan = d::make_conv_plan("test", cs.in, cs.w, bias.size(), cs.p, v);
      std::vector<double> mag;
      const std::vector<float> gpu = emulate_gpu_conv(plan, x, w, bias, &mag);
      k::tensor cpu(plan.output_shape());
      k::conv2d({x.data(), cs.in}, {w.data(), cs.w}, bias, cs.p, v, cpu, ws);
      // Both sides use identical operands (same half rounding); they differ by the CPU's fp32
      // summation of n_kept terms: <= (n_kept + 3) * eps32 * sum|terms| (+ the float rounding of
      // the emulated sum, within the same bound).
      const double eps = std::numeric_limits<float>::epsilon();
      for (std::size_t i = 0; i < gpu.size(); ++i) {
        ASSERT_NEAR(gpu[i], cpu.data()[i], (plan.n_kept + 4) * eps * mag[i] + 1e-30) << i;
      }
    }
  }
}

}  // namespace
