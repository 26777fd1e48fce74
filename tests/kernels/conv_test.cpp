// conv2d (exact, perforated, filter-sampled, fp16 simulation) against a naive float64 direct
// convolution written here, with the perforation and sampling rules re-implemented from the
// reference text (reference/knobs.md), not taken from the kernels.
#include <gtest/gtest.h>
#include <tbb/task_arena.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "approxtune/kernels/error.hpp"
#include "approxtune/kernels/ops.hpp"

namespace {

namespace k = approxtune::kernels;

struct conv_case {
  int n, c, h, w;    // input
  int kout, kh, kw;  // filters
  k::conv_params params;
  bool bias;
};

// Expected value and the magnitude sum|terms| that bounds its rounding error.
struct oracle {
  std::vector<double> value;
  std::vector<double> magnitude;
  int inner = 0;  // terms per output (for the error bound)
};

double to_half_value(double x) {
  return static_cast<double>(static_cast<_Float16>(static_cast<float>(x)));
}

bool ref_sampled_out(int c, int dy, int dx, int kh, int kw, int e, int off) {
  const int plane = kh * kw;
  const int j = dy * kw + dx;
  if (plane % e != 0) {
    const int f = c * plane + j;  // flat index in [C, KH, KW] order
    return f >= off && (f - off) % e == 0;
  }
  return j % e == (off + c) % e;
}

// Direct 7-loop convolution, float64, then the variant's rules.
oracle reference_conv(const conv_case& cc, const std::vector<float>& x,
                      const std::vector<float>& wt, const std::vector<float>& bias,
                      const k::conv_variant& v) {
  const int oh = (cc.h + 2 * cc.params.pad_h - cc.kh) / cc.params.stride_h + 1;
  const int ow = (cc.w + 2 * cc.params.pad_w - cc.kw) / cc.params.stride_w + 1;
  const bool half = v.prec == k::precision::fp16;
  const bool sampled = v.kind == k::conv_kind::filter_sampling;
  const double scale = sampled ? static_cast<double>(v.skip) / (v.skip - 1) : 1.0;
  oracle o;
  o.value.assign(static_cast<std::size_t>(cc.n) * cc.kout * oh * ow, 0.0);
  o.magnitude = o.value;
  o.inner = cc.c * cc.kh * cc.kw;
  auto at = [&](int n, int ko, int i, int j) {
    return ((static_cast<std::size_t>(n) * cc.kout + ko) * oh + i) * ow + j;
  };
  for (int n = 0; n < cc.n; ++n) {
    for (int ko = 0; ko < cc.kout; ++ko) {
      for (int i = 0; i < oh; ++i) {
        for (int j = 0; j < ow; ++j) {
          double sum = 0.0;
          double mag = 0.0;
          for (int c = 0; c < cc.c; ++c) {
            for (int dy = 0; dy < cc.kh; ++dy) {
              for (int dx = 0; dx < cc.kw; ++dx) {
                if (sampled && ref_sampled_out(c, dy, dx, cc.kh, cc.kw, v.skip, v.offset)) continue;
                const int ih = i * cc.params.stride_h - cc.params.pad_h + dy;
                const int iw = j * cc.params.stride_w - cc.params.pad_w + dx;
                if (ih < 0 || ih >= cc.h || iw < 0 || iw >= cc.w) continue;
                double xv = x[((static_cast<std::size_t>(n) * cc.c + c) * cc.h + ih) * cc.w + iw];
                const float w32 =
                    wt[((static_cast<std::size_t>(ko) * cc.c + c) * cc.kh + dy) * cc.kw + dx];
                double wv = w32 * scale;
                if (half) {
                  // fp16: inputs and the weights scaled in fp32 are what is stored in half.
                  const float fscale =
                      sampled ? static_cast<float>(v.skip) / static_cast<float>(v.skip - 1) : 1.0f;
                  xv = to_half_value(xv);
                  wv = to_half_value(w32 * fscale);
                }
                sum += xv * wv;
                mag += std::abs(xv * wv);
              }
            }
          }
          o.value[at(n, ko, i, j)] = sum;
          o.magnitude[at(n, ko, i, j)] = mag;
        }
      }
      // Perforation: each skipped row/column comes from its computed neighbours.
      const bool rows = v.kind == k::conv_kind::perforated_rows;
      const bool cols = v.kind == k::conv_kind::perforated_cols;
      if (rows || cols) {
        const int extent = rows ? oh : ow;
        const int other = rows ? ow : oh;
        std::vector<double> val(o.value), mag(o.magnitude);
        for (int r = 0; r < extent; ++r) {
          if (!(r >= v.offset && (r - v.offset) % v.stride == 0)) continue;
          int a = r - 1;
          int b = r + 1;
          if (r == 0) a = b = 1;
          if (r == extent - 1) a = b = extent - 2;
          for (int q = 0; q < other; ++q) {
            const std::size_t dst = rows ? at(n, ko, r, q) : at(n, ko, q, r);
            const std::size_t sa = rows ? at(n, ko, a, q) : at(n, ko, q, a);
            const std::size_t sb = rows ? at(n, ko, b, q) : at(n, ko, q, b);
            val[dst] = 0.5 * (o.value[sa] + o.value[sb]);
            mag[dst] = 0.5 * (o.magnitude[sa] + o.magnitude[sb]);
          }
        }
        for (int i = 0; i < oh; ++i) {
          for (int j = 0; j < ow; ++j) {
            o.value[at(n, ko, i, j)] = val[at(n, ko, i, j)];
            o.magnitude[at(n, ko, i, j)] = mag[at(n, ko, i, j)];
          }
        }
      }
      if (!bias.empty()) {
        for (int i = 0; i < oh; ++i) {
          for (int j = 0; j < ow; ++j) {
            o.value[at(n, ko, i, j)] += bias[ko];
            o.magnitude[at(n, ko, i, j)] += std::abs(bias[ko]);
          }
        }
      }
    }
  }
  return o;
}

std::vector<float> random_vector(std::mt19937& rng, std::size_t n) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

std::string describe(const conv_case& cc) {
  return "input [" + std::to_string(cc.n) + "," + std::to_string(cc.c) + "," +
         std::to_string(cc.h) + "," + std::to_string(cc.w) + "] filters " +
         std::to_string(cc.kout) + "x" + std::to_string(cc.kh) + "x" + std::to_string(cc.kw) +
         " stride " + std::to_string(cc.params.stride_h) + "," +
         std::to_string(cc.params.stride_w) + " pad " + std::to_string(cc.params.pad_h) + "," +
         std::to_string(cc.params.pad_w);
}

// Runs conv2d and compares every element with the oracle.
//
// Tolerance: the kernel sums `inner` fp32 products (plus at most an interpolation and a bias
// add), so each output differs from the exact sum by at most about inner * eps32 * sum|terms|
// (the standard gamma_n bound for recursive summation; blocked GEMM summation is no worse).
// The half rounding of fp16 is applied identically by the oracle (via _Float16), so the same
// fp32 bound holds there. Bugs (a wrong row, offset or scale) give errors of the order of the
// values themselves, far above this bound.
// Can the reference rules be applied at all? (Something must be computed, and a skipped
// row needs a computed neighbour.) Enumerated here from the rules, not asked of the kernels.
bool runnable(const conv_case& cc, k::shape4 out, const k::conv_variant& v) {
  if (v.kind == k::conv_kind::perforated_rows || v.kind == k::conv_kind::perforated_cols) {
    const int extent = v.kind == k::conv_kind::perforated_rows ? out.h : out.w;
    int computed = 0;
    for (int r = 0; r < extent; ++r)
      computed += (r >= v.offset && (r - v.offset) % v.stride == 0) ? 0 : 1;
    return computed == extent || (computed > 0 && extent >= 2);
  }
  if (v.kind == k::conv_kind::filter_sampling) {
    for (int c = 0; c < cc.c; ++c) {
      for (int dy = 0; dy < cc.kh; ++dy) {
        for (int dx = 0; dx < cc.kw; ++dx) {
          if (!ref_sampled_out(c, dy, dx, cc.kh, cc.kw, v.skip, v.offset)) return true;
        }
      }
    }
    return false;
  }
  return true;
}

void check_variant(const conv_case& cc, const k::conv_variant& v, std::mt19937& rng,
                   k::workspace& ws) {
  SCOPED_TRACE(describe(cc) + " variant " + v.to_string());
  const k::shape4 in_shape{cc.n, cc.c, cc.h, cc.w};
  const k::shape4 w_shape{cc.kout, cc.c, cc.kh, cc.kw};
  const auto x = random_vector(rng, in_shape.size());
  const auto wt = random_vector(rng, w_shape.size());
  const auto bias =
      cc.bias ? random_vector(rng, static_cast<std::size_t>(cc.kout)) : std::vector<float>{};
  const k::shape4 out_shape = k::conv2d_output_shape(in_shape, w_shape, cc.params);
  k::tensor out(out_shape,
                std::numeric_limits<float>::quiet_NaN());  // NaN: catches unwritten outputs
  if (!runnable(cc, out_shape, v)) {
    EXPECT_THROW(k::conv2d({x.data(), in_shape}, {wt.data(), w_shape}, bias, cc.params, v, out, ws),
                 k::shape_error);
    return;
  }
  k::conv2d({x.data(), in_shape}, {wt.data(), w_shape}, bias, cc.params, v, out, ws);
  const oracle o = reference_conv(cc, x, wt, bias, v);
  const double eps = std::numeric_limits<float>::epsilon();
  for (std::size_t i = 0; i < out.size(); ++i) {
    const double tol = (o.inner + 3) * eps * o.magnitude[i] + 1e-30;
    ASSERT_NEAR(out.data()[i], o.value[i], tol)
        << "element " << i << " of " << out_shape.to_string();
  }
}

// Runs @p v on fresh random inputs in a one-thread arena and in the default one: the results
// must agree bit for bit (each GEMM's split of the batch does not depend on the thread count).
void expect_same_with_one_thread(const conv_case& cc, const k::conv_variant& v, std::mt19937& rng,
                                 k::workspace& ws) {
  const k::shape4 in_shape{cc.n, cc.c, cc.h, cc.w};
  const k::shape4 w_shape{cc.kout, cc.c, cc.kh, cc.kw};
  const auto x = random_vector(rng, in_shape.size());
  const auto wt = random_vector(rng, w_shape.size());
  const auto bias = random_vector(rng, static_cast<std::size_t>(cc.kout));
  k::tensor a(k::conv2d_output_shape(in_shape, w_shape, cc.params));
  k::tensor b(a.shape());
  k::workspace ws1;
  tbb::task_arena one(1);
  one.execute([&] {
    k::conv2d({x.data(), in_shape}, {wt.data(), w_shape}, bias, cc.params, v, a, ws1);
  });
  k::conv2d({x.data(), in_shape}, {wt.data(), w_shape}, bias, cc.params, v, b, ws);
  for (std::size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a.data()[i], b.data()[i]) << describe(cc) << " " << v.to_string();
  }
}

std::vector<conv_case> edge_cases() {
  return {
      {1, 1, 5, 5, 1, 1, 1, {}, false},             // 1x1 filter, batch 1
      {3, 3, 9, 11, 4, 3, 3, {1, 1, 1, 1}, true},   // odd sizes, same padding
      {2, 2, 7, 6, 3, 5, 5, {1, 1, 2, 2}, true},    // 5x5 filter
      {4, 3, 13, 10, 2, 3, 3, {2, 2, 0, 1}, true},  // stride 2
      {1, 4, 8, 8, 5, 1, 1, {2, 1, 0, 0}, false},   // 1x1 with stride
      {5, 2, 12, 9, 3, 3, 2, {1, 2, 1, 0}, true},   // non-square filter, mixed strides
      {2, 3, 2, 17, 2, 1, 3, {1, 1, 0, 1}, true},   // 2-row output: both rows are edges
      {3, 2, 1, 9, 2, 1, 3, {1, 1, 0, 0}, true},    // 1-row output: rows offset 0 must throw
      {6, 16, 7, 7, 8, 3, 3, {1, 1, 1, 1}, true},   // regular sampling case with many channels
  };
}

std::vector<k::conv_variant> all_variants(k::precision p) {
  std::vector<k::conv_variant> vs{k::exact_conv(p)};
  for (int x = 2; x <= 4; ++x) {
    for (int s = 0; s < x; ++s) {
      vs.push_back(k::perforated_rows(x, s, p));
      vs.push_back(k::perforated_cols(x, s, p));
      vs.push_back(k::filter_sampling(x, s, p));
    }
  }
  return vs;
}

class ConvTest : public testing::Test {
 protected:
  void SetUp() override {
    seed_ = std::random_device{}();
    rng_.seed(seed_);
  }
  unsigned seed_ = 0;
  std::mt19937 rng_;
  k::workspace ws_;
};

TEST_F(ConvTest, EveryVariantOnEdgeCasesMatchesOracle) {
  SCOPED_TRACE(testing::Message() << "seed=" << seed_);
  for (const auto& cc : edge_cases()) {
    for (k::precision p : {k::precision::fp32, k::precision::fp16}) {
      for (const auto& v : all_variants(p)) check_variant(cc, v, rng_, ws_);
    }
  }
}

// Shapes aimed at the CPU im2col paths: the phase-split copy with column step q = 1 (exact,
// rows), 2 (stride-2 column perforation, stride-2 convs), 3, 4 and 6 (strided convs with column
// perforation), the gather path (1x1 filters, perforation stride >= 3), the stride-2
// column expansion with its vectorised pairs on wide rows (even and odd widths), several images
// packed into one GEMM with perforation, and unpadded / asymmetrically padded inputs.
std::vector<conv_case> im2col_path_cases() {
  return {
      {2, 3, 28, 31, 4, 3, 3, {1, 1, 1, 1}, true},   // wide rows, odd width
      {2, 3, 15, 16, 4, 3, 3, {2, 2, 1, 1}, true},   // stride-2 conv: q = 2, cols s2 -> q = 4
      {2, 2, 9, 13, 3, 3, 3, {1, 3, 1, 1}, true},    // stride_w 3: q = 3, cols s2 -> q = 6
      {2, 3, 12, 13, 4, 5, 5, {1, 1, 2, 2}, false},  // 5x5, pad 2
      {3, 2, 10, 9, 3, 1, 1, {2, 2, 0, 0}, true},    // 1x1 stride 2: gather path
      {20, 6, 7, 7, 8, 3, 3, {1, 1, 1, 1}, true},    // many images per GEMM, perforated
      {2, 2, 12, 9, 3, 3, 3, {3, 1, 0, 2}, true},    // stride_h 3, padding on one axis only
      {2, 3, 6, 6, 2, 3, 3, {1, 1, 0, 0}, true},     // unpadded
  };
}

TEST_F(ConvTest, Im2colPathShapesMatchOracle) {
  SCOPED_TRACE(testing::Message() << "seed=" << seed_);
  for (const auto& cc : im2col_path_cases()) {
    for (k::precision p : {k::precision::fp32, k::precision::fp16}) {
      for (const auto& v : all_variants(p)) check_variant(cc, v, rng_, ws_);
    }
  }
}

// Shapes aimed at the shifted layout of perforated convs (no im2col; kh accumulating GEMMs on
// a copy of the image with rows stacked per image, split into row phases and repeated per filter
// column): one image per GEMM, several images per GEMM sharing a zero padding row (28x28, 14x14)
// with a short last group, a zero row appended between images (unpadded odd height with row
// perforation: period > padded height), stride_h 2 with row perforation (4 row phases), 5x5 and
// 1xk / kx1 filters, a strided conv with column perforation (column step 4), padding on one axis
// only, a 2-row output, and (perforation stride >= 3 of columns) the gathered rows.
std::vector<conv_case> shifted_layout_cases() {
  return {
      {1, 3, 9, 11, 4, 3, 3, {1, 1, 1, 1}, true},   // one image, odd sizes
      {5, 3, 28, 28, 4, 3, 3, {1, 1, 1, 1}, true},  // 2 images per GEMM, last group 1
      {7, 4, 14, 14, 5, 3, 3, {1, 1, 1, 1}, true},  // 6 images per GEMM, last group 1
      {5, 2, 63, 5, 3, 1, 3, {1, 1, 0, 1}, false},  // 1x3, unpadded odd height: period > hp
      {3, 2, 57, 9, 3, 3, 3, {2, 1, 1, 1}, true},   // stride_h 2: rows s2 -> 4 row phases
      {1, 3, 12, 13, 4, 5, 5, {1, 1, 2, 2}, true},  // 5x5, pad 2
      {1, 2, 15, 16, 3, 3, 3, {1, 2, 1, 1}, true},  // stride_w 2: cols s2 -> column step 4
      {1, 3, 10, 12, 2, 3, 3, {1, 1, 0, 1}, true},  // padding on the columns only
      {1, 2, 9, 8, 3, 3, 1, {1, 1, 1, 0}, true},    // 3x1 filter
      {1, 3, 2, 17, 2, 1, 3, {1, 1, 0, 1}, true},   // 2-row output
  };
}

TEST_F(ConvTest, ShiftedLayoutShapesMatchOracle) {
  SCOPED_TRACE(testing::Message() << "seed=" << seed_);
  for (const auto& cc : shifted_layout_cases()) {
    for (const auto& v : all_variants(k::precision::fp32)) check_variant(cc, v, rng_, ws_);
  }
}

TEST_F(ConvTest, RandomShapesMatchOracle) {
  SCOPED_TRACE(testing::Message() << "seed=" << seed_);
  std::uniform_int_distribution<int> small(1, 6);
  std::uniform_int_distribution<int> size(3, 16);
  std::uniform_int_distribution<int> filt(1, 5);
  std::uniform_int_distribution<int> coin(0, 1);
  const auto variants = all_variants(k::precision::fp32);
  for (int trial = 0; trial < 200; ++trial) {
    conv_case cc{small(rng_),    small(rng_),
                 size(rng_),     size(rng_),
                 small(rng_),    filt(rng_),
                 filt(rng_),     {1 + coin(rng_), 1 + coin(rng_), coin(rng_), coin(rng_)},
                 coin(rng_) == 1};
    cc.kh = std::min(cc.kh, cc.h);
    cc.kw = std::min(cc.kw, cc.w);
    const auto& v = variants[static_cast<std::size_t>(trial) % variants.size()];
    check_variant(cc, v, rng_, ws_);
  }
}

TEST_F(ConvTest, SameResultWithOneThreadAndManyImages) {
  SCOPED_TRACE(testing::Message() << "seed=" << seed_);
  // Batch much larger than the thread count; one- and default-concurrency arenas must agree
  // bit for bit (each image is one GEMM, whatever thread runs it).
  const conv_case cc{17, 4, 10, 10, 6, 3, 3, {1, 1, 1, 1}, true};
  for (const auto& v : all_variants(k::precision::fp32))
    expect_same_with_one_thread(cc, v, rng_, ws_);
  check_variant(cc, k::perforated_rows(2, 0), rng_, ws_);
}

TEST_F(ConvTest, ShiftedLayoutSameResultWithOneThread) {
  SCOPED_TRACE(testing::Message() << "seed=" << seed_);
  // Stride-2 perforation of 28x28 and 14x14 outputs runs on the shifted layout with 2 and 6
  // images per GEMM (several GEMMs, short last group): one- and default-concurrency arenas must
  // agree bit for bit, and each result must match the oracle.
  for (const conv_case& cc : {conv_case{9, 3, 28, 28, 4, 3, 3, {1, 1, 1, 1}, true},
                              conv_case{13, 4, 14, 14, 5, 3, 3, {1, 1, 1, 1}, true}}) {
    for (const auto& v : {k::perforated_rows(2, 0), k::perforated_rows(2, 1),
                          k::perforated_cols(2, 0), k::perforated_cols(2, 1)}) {
      expect_same_with_one_thread(cc, v, rng_, ws_);
      check_variant(cc, v, rng_, ws_);
    }
  }
}

TEST_F(ConvTest, WorkspaceDoesNotGrowOnRepeatedCalls) {
  const k::shape4 in_shape{8, 8, 14, 14};
  const k::shape4 w_shape{8, 8, 3, 3};
  const k::conv_params params{1, 1, 1, 1};
  k::tensor x(in_shape, 0.5f);
  k::tensor wt(w_shape, 0.25f);
  k::tensor out(k::conv2d_output_shape(in_shape, w_shape, params));
  for (const auto& v : all_variants(k::precision::fp32)) k::conv2d(x, wt, {}, params, v, out, ws_);
  const auto growths = ws_.growths();
  for (const auto& v : all_variants(k::precision::fp32)) k::conv2d(x, wt, {}, params, v, out, ws_);
  EXPECT_EQ(ws_.growths(), growths);
}

TEST(ConvErrors, ClearMessagesNamingOpAndShapes) {
  k::workspace ws;
  k::tensor x({1, 3, 8, 8});
  k::tensor wt({4, 2, 3, 3});
  k::tensor out({1, 4, 6, 6});
  try {
    k::conv2d(x, wt, {}, {}, k::exact_conv(), out, ws);
    FAIL() << "expected shape_error";
  } catch (const k::shape_error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("conv2d"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[1,3,8,8]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[4,2,3,3]"), std::string::npos) << msg;
  }
  k::tensor w3({4, 3, 3, 3});
  k::tensor wrong_out({1, 4, 8, 8});
  EXPECT_THROW(k::conv2d(x, w3, {}, {}, k::exact_conv(), wrong_out, ws), k::shape_error);
  std::vector<float> bad_bias(3);
  EXPECT_THROW(k::conv2d(x, w3, bad_bias, {}, k::exact_conv(), out, ws), std::invalid_argument);
  EXPECT_THROW(k::conv2d(x, w3, {}, {}, k::perforated_rows(2, 2), out, ws), k::shape_error);
  EXPECT_THROW(k::conv2d(x, w3, {}, {}, k::perforated_rows(1, 0), out, ws), k::shape_error);
  EXPECT_THROW(k::conv2d(x, w3, {}, {}, k::filter_sampling(5, 7), out, ws), k::shape_error);
  // A single-row output with offset 0 would have nothing to compute or interpolate from.
  k::tensor one_row_out({1, 4, 1, 6});
  k::tensor x3({1, 3, 3, 8});
  EXPECT_THROW(k::conv2d(x3, w3, {}, {}, k::perforated_rows(2, 0), one_row_out, ws),
               k::shape_error);
  EXPECT_NO_THROW(k::conv2d(x3, w3, {}, {}, k::perforated_rows(2, 1), one_row_out, ws));
}

TEST(ConvFlops, RatiosFollowTheComputedFraction) {
  const k::shape4 in{64, 32, 28, 28};
  const k::shape4 w{32, 32, 3, 3};
  const k::conv_params p{1, 1, 1, 1};
  const double base = k::conv2d_flops(in, w, p, k::exact_conv());
  EXPECT_DOUBLE_EQ(base, 2.0 * 64 * 32 * 28 * 28 * 288 + 64.0 * 32 * 28 * 28);
  // Stride-2 rows: 14 of 28 rows computed, 14 interpolated.
  const double perf = k::conv2d_flops(in, w, p, k::perforated_rows(2, 0));
  EXPECT_DOUBLE_EQ(perf,
                   2.0 * 64 * 32 * 14 * 28 * 288 + 2.0 * 64 * 32 * 14 * 28 + 64.0 * 32 * 28 * 28);
  // Skip-2 sampling of 3x3 (irregular): 144 of 288 filter elements.
  const double samp = k::conv2d_flops(in, w, p, k::filter_sampling(2, 0));
  EXPECT_DOUBLE_EQ(samp, 2.0 * 64 * 32 * 28 * 28 * 144 + 64.0 * 32 * 28 * 28);
  // Regular case: 3x3 with e = 3 keeps 6 of 9 per channel.
  EXPECT_EQ(k::sampling_kept_length(w, k::filter_sampling(3, 1)), 32 * 6);
  EXPECT_EQ(k::perforation_computed_extent({1, 1, 7, 7}, k::perforated_rows(2, 0)), 3);
  EXPECT_EQ(k::perforation_computed_extent({1, 1, 7, 7}, k::perforated_cols(2, 1)), 4);
}

}  // namespace
