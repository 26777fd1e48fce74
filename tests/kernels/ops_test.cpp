// dense, pooling (with reduction sampling), element-wise ops and batch norm / softmax against
// naive float64 loops written here.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "approxtune/kernels/error.hpp"
#include "approxtune/kernels/ops.hpp"

namespace {

namespace k = approxtune::kernels;

class OpsTest : public testing::Test {
 protected:
  void SetUp() override {
    seed_ = std::random_device{}();
    rng_.seed(seed_);
  }
  std::vector<float> random(std::size_t n, float lo = -1.0f, float hi = 1.0f) {
    std::uniform_real_distribution<float> d(lo, hi);
    std::vector<float> v(n);
    for (auto& x : v) x = d(rng_);
    return v;
  }
  unsigned seed_ = 0;
  std::mt19937 rng_;
  k::workspace ws_;
};

double half_of(float x) { return static_cast<double>(static_cast<_Float16>(x)); }

TEST_F(OpsTest, DenseMatchesOracle) {
  SCOPED_TRACE(testing::Message() << "seed=" << seed_);
  const int cases[][4] = {{1, 3, 1, 1}, {7, 4, 3, 3}, {64, 128, 1, 1}, {5, 2, 5, 1}};
  for (const auto& cs : cases) {
    for (k::precision p : {k::precision::fp32, k::precision::fp16}) {
      const k::shape4 in{cs[0], cs[1], cs[2], cs[3]};
      const int in_features = cs[1] * cs[2] * cs[3];
      const int out_features = 10;
      const k::shape4 ws{out_features, in_features, 1, 1};
      const auto x = random(in.size());
      const auto w = random(ws.size());
      const auto b = random(out_features);
      k::tensor out({in.n, out_features, 1, 1}, std::numeric_limits<float>::quiet_NaN());
      k::dense({x.data(), in}, {w.data(), ws}, b, {p}, out, ws_);
      const bool half = p == k::precision::fp16;
      for (int n = 0; n < in.n; ++n) {
        for (int o = 0; o < out_features; ++o) {
          double sum = b[o];
          double mag = std::abs(b[o]);
          for (int i = 0; i < in_features; ++i) {
            double xv = x[static_cast<std::size_t>(n) * in_features + i];
            double wv = w[static_cast<std::size_t>(o) * in_features + i];
            if (half) {
              xv = half_of(static_cast<float>(xv));
              wv = half_of(static_cast<float>(wv));
            }
            sum += xv * wv;
            mag += std::abs(xv * wv);
          }
          // fp32 summation of in_features + 1 terms: |error| <= (n + 1) eps sum|terms|.
          const double tol = (in_features + 2) * std::numeric_limits<float>::epsilon() * mag;
          ASSERT_NEAR(out.at(n, o, 0, 0), sum, tol) << "n=" << n << " o=" << o;
        }
      }
    }
  }
}

TEST_F(OpsTest, DenseRejectsMismatchedShapes) {
  k::tensor x({2, 3, 2, 2});
  k::tensor w({5, 11, 1, 1});
  k::tensor out({2, 5, 1, 1});
  EXPECT_THROW(k::dense(x, w, {}, {}, out, ws_), k::shape_error);
  k::tensor w12({5, 12, 1, 1});
  k::tensor bad_out({2, 4, 1, 1});
  EXPECT_THROW(k::dense(x, w12, {}, {}, bad_out, ws_), k::shape_error);
  EXPECT_NO_THROW(k::dense(x, w12, {}, {}, out, ws_));
}

// Pooling oracle: window elements j (row-major) skipped per the documented rule.
void check_pool(bool is_max, const std::vector<float>& x, k::shape4 in, const k::pool_params& p,
                const k::pool_variant& v, const k::tensor& out) {
  const int oh = (in.h + 2 * p.pad_h - p.window_h) / p.stride_h + 1;
  const int ow = (in.w + 2 * p.pad_w - p.window_w) / p.stride_w + 1;
  ASSERT_EQ(out.shape(), (k::shape4{in.n, in.c, oh, ow}));
  for (int n = 0; n < in.n; ++n) {
    for (int c = 0; c < in.c; ++c) {
      for (int i = 0; i < oh; ++i) {
        for (int j = 0; j < ow; ++j) {
          double acc = is_max ? -1e300 : 0.0;
          int count = 0;
          for (int dy = 0; dy < p.window_h; ++dy) {
            for (int dx = 0; dx < p.window_w; ++dx) {
              const int e = dy * p.window_w + dx;
              // floor((e+1) num/den) > floor(e num/den), written as counting skipped-so-far.
              const long long before = static_cast<long long>(e) * v.skip_num / v.skip_den;
              const long long after = static_cast<long long>(e + 1) * v.skip_num / v.skip_den;
              if (after > before) continue;
              const int ih = i * p.stride_h - p.pad_h + dy;
              const int iw = j * p.stride_w - p.pad_w + dx;
              if (ih < 0 || ih >= in.h || iw < 0 || iw >= in.w) continue;
              double val = x[((static_cast<std::size_t>(n) * in.c + c) * in.h + ih) * in.w + iw];
              if (v.prec == k::precision::fp16) val = half_of(static_cast<float>(val));
              acc = is_max ? std::max(acc, val) : acc + val;
              ++count;
            }
          }
          const double expected = count == 0 ? 0.0 : (is_max ? acc : acc / count);
          // Max is exact; the mean of <= 49 fp32 values is within (count + 1) eps of the
          // magnitude (inputs are in [-1, 1]).
          const double tol =
              is_max ? 0.0 : (count + 1) * std::numeric_limits<float>::epsilon() * count;
          ASSERT_NEAR(out.at(n, c, i, j), expected, tol)
              << (is_max ? "max" : "avg") << " at " << n << "," << c << "," << i << "," << j;
        }
      }
    }
  }
}

TEST_F(OpsTest, PoolingWithAndWithoutReductionSamplingMatchesOracle) {
  SCOPED_TRACE(testing::Message() << "seed=" << seed_);
  const k::shape4 shapes[] = {{1, 1, 4, 4}, {3, 5, 9, 11}, {2, 2, 28, 28}};
  const k::pool_params params[] = {
      {2, 2, 2, 2, 0, 0}, {3, 3, 2, 2, 1, 1}, {3, 2, 1, 2, 0, 1}, {5, 5, 1, 1, 2, 2}};
  const k::pool_variant variants[] = {k::exact_pool(), k::sampled_pool(1, 2), k::sampled_pool(2, 5),
                                      k::sampled_pool(1, 4),
                                      k::sampled_pool(1, 2, k::precision::fp16)};
  for (const auto& in : shapes) {
    const auto x = random(in.size());
    for (const auto& p : params) {
      for (const auto& v : variants) {
        const k::shape4 os = k::pool2d_output_shape(in, p);
        k::tensor out(os, std::numeric_limits<float>::quiet_NaN());
        k::max_pool2d({x.data(), in}, p, v, out);
        check_pool(true, x, in, p, v, out);
        k::avg_pool2d({x.data(), in}, p, v, out);
        check_pool(false, x, in, p, v, out);
      }
    }
  }
  // FLOPs: 2x2 window at 50 % reads 2 of 4.
  EXPECT_DOUBLE_EQ(k::pool2d_flops({1, 1, 4, 4}, {}, k::sampled_pool(1, 2)), 4.0 * 2);
  EXPECT_DOUBLE_EQ(k::pool2d_flops({1, 1, 4, 4}, {}, k::exact_pool()), 4.0 * 4);
  EXPECT_THROW(k::pool2d_output_shape({1, 1, 4, 4}, {2, 2, 2, 2, 2, 0}), k::shape_error);
  k::tensor o({1, 1, 2, 2});
  k::tensor in({1, 1, 4, 4});
  EXPECT_THROW(k::max_pool2d(in, {}, k::sampled_pool(2, 2), o), k::shape_error);
}

// The kernels' pooling must equal, bit for bit, the element-by-element definition in fp32: each
// output accumulates its kept, in-bounds window elements in row-major order from -inf (max) or
// 0 (mean, then divided by the count). Written here independently; covers the kernels' interior
// fast paths (exact 2x2 / stride 2, window rows with strides 1, 2, 3), their padded borders,
// odd sizes and a window of more than 64 elements.
float pool_fp32_reference(bool is_max, const std::vector<float>& x, k::shape4 in,
                          const k::pool_params& p, const k::pool_variant& v, int n, int c, int i,
                          int j) {
  float acc = is_max ? -std::numeric_limits<float>::infinity() : 0.0f;
  int count = 0;
  for (int dy = 0; dy < p.window_h; ++dy) {
    for (int dx = 0; dx < p.window_w; ++dx) {
      const int e = dy * p.window_w + dx;
      if ((e + 1) * v.skip_num / v.skip_den > e * v.skip_num / v.skip_den) continue;
      const int ih = i * p.stride_h - p.pad_h + dy;
      const int iw = j * p.stride_w - p.pad_w + dx;
      if (ih < 0 || ih >= in.h || iw < 0 || iw >= in.w) continue;
      float val = x[((static_cast<std::size_t>(n) * in.c + c) * in.h + ih) * in.w + iw];
      if (v.prec == k::precision::fp16) val = static_cast<float>(static_cast<_Float16>(val));
      acc = is_max ? std::max(acc, val) : acc + val;
      ++count;
    }
  }
  return count == 0 ? 0.0f : (is_max ? acc : acc / static_cast<float>(count));
}

TEST_F(OpsTest, PoolingEqualsElementByElementDefinitionBitForBit) {
  SCOPED_TRACE(testing::Message() << "seed=" << seed_);
  const k::shape4 shapes[] = {{2, 3, 29, 29}, {1, 4, 28, 28}, {3, 2, 13, 30}, {1, 2, 12, 12}};
  const k::pool_params params[] = {{2, 2, 2, 2, 0, 0}, {3, 3, 2, 2, 1, 1}, {2, 2, 1, 1, 0, 0},
                                   {3, 3, 3, 3, 0, 0}, {3, 2, 2, 3, 1, 0}, {1, 1, 1, 1, 0, 0},
                                   {9, 9, 2, 2, 4, 4}, {2, 2, 2, 2, 1, 1}};
  const k::pool_variant variants[] = {k::exact_pool(), k::sampled_pool(1, 2), k::sampled_pool(2, 5),
                                      k::sampled_pool(1, 4), k::exact_pool(k::precision::fp16),
                                      k::sampled_pool(1, 2, k::precision::fp16)};
  for (const auto& in : shapes) {
    const auto x = random(in.size(), -4.0f, 4.0f);
    for (const auto& p : params) {
      if (in.h + 2 * p.pad_h < p.window_h || in.w + 2 * p.pad_w < p.window_w) continue;
      const k::shape4 os = k::pool2d_output_shape(in, p);
      for (const auto& v : variants) {
        for (bool is_max : {true, false}) {
          k::tensor out(os, std::numeric_limits<float>::quiet_NaN());
          if (is_max) {
            k::max_pool2d({x.data(), in}, p, v, out);
          } else {
            k::avg_pool2d({x.data(), in}, p, v, out);
          }
          for (int n = 0; n < os.n; ++n) {
            for (int c = 0; c < os.c; ++c) {
              for (int i = 0; i < os.h; ++i) {
                for (int j = 0; j < os.w; ++j) {
                  const float expected = pool_fp32_reference(is_max, x, in, p, v, n, c, i, j);
                  ASSERT_EQ(out.at(n, c, i, j), expected)
                      << (is_max ? "max" : "avg") << " input " << in.to_string() << " window "
                      << p.window_h << "x" << p.window_w << " stride " << p.stride_h << ","
                      << p.stride_w << " pad " << p.pad_h << "," << p.pad_w << " skip "
                      << v.skip_num << "/" << v.skip_den << " at " << n << "," << c << "," << i
                      << "," << j;
                }
              }
            }
          }
        }
      }
    }
  }
}

TEST_F(OpsTest, ElementwiseOpsMatchOracleInPlaceToo) {
  SCOPED_TRACE(testing::Message() << "seed=" << seed_);
  const k::shape4 s{3, 4, 5, 7};
  const auto a = random(s.size(), -3.0f, 3.0f);
  const auto b = random(s.size(), -3.0f, 3.0f);
  k::tensor out(s);
  k::relu({a.data(), s}, out);
  for (std::size_t i = 0; i < a.size(); ++i) ASSERT_EQ(out.data()[i], a[i] > 0 ? a[i] : 0.0f);
  k::tanh({a.data(), s}, out);
  for (std::size_t i = 0; i < a.size(); ++i)
    ASSERT_NEAR(out.data()[i], std::tanh(static_cast<double>(a[i])), 4e-7);
  k::add({a.data(), s}, {b.data(), s}, out);
  for (std::size_t i = 0; i < a.size(); ++i) ASSERT_EQ(out.data()[i], a[i] + b[i]);
  k::tensor inplace(s, std::vector<float>(a));
  k::relu(inplace, inplace);
  for (std::size_t i = 0; i < a.size(); ++i) ASSERT_EQ(inplace.data()[i], std::max(a[i], 0.0f));
  const auto bias = random(4);
  k::tensor biased(s, std::vector<float>(a));
  k::bias_add(biased, bias);
  for (int n = 0; n < s.n; ++n)
    for (int c = 0; c < s.c; ++c)
      for (int h = 0; h < s.h; ++h)
        for (int w = 0; w < s.w; ++w) {
          const std::size_t i = ((static_cast<std::size_t>(n) * s.c + c) * s.h + h) * s.w + w;
          ASSERT_EQ(biased.at(n, c, h, w), a[i] + bias[c]);
        }
  EXPECT_THROW(k::bias_add(biased, std::vector<float>(3)), k::shape_error);
  k::tensor wrong({3, 4, 5, 6});
  EXPECT_THROW(k::relu({a.data(), s}, wrong), k::shape_error);
  EXPECT_THROW(k::add({a.data(), s}, wrong, out), k::shape_error);
}

TEST_F(OpsTest, BatchNormAndSoftmaxMatchOracle) {
  SCOPED_TRACE(testing::Message() << "seed=" << seed_);
  const k::shape4 s{2, 3, 4, 5};
  const auto x = random(s.size(), -4.0f, 4.0f);
  const auto gamma = random(3), beta = random(3), mean = random(3);
  const auto var = random(3, 0.1f, 2.0f);
  k::tensor out(s);
  // Small, then large enough to run in parallel (planes of 900 values, and of 1 value).
  for (const k::shape4 bs : {s, k::shape4{40, 9, 30, 30}, k::shape4{300, 300, 1, 1}}) {
    SCOPED_TRACE("batch_norm " + bs.to_string());
    const auto bx = bs == s ? x : random(bs.size(), -4.0f, 4.0f);
    const auto c_ = static_cast<std::size_t>(bs.c);
    const auto g = bs == s ? gamma : random(c_), b = bs == s ? beta : random(c_), m = bs == s ? mean : random(c_);
    const auto v = bs == s ? var : random(c_, 0.1f, 2.0f);
    k::tensor bout(bs, std::numeric_limits<float>::quiet_NaN());
    k::batch_norm({bx.data(), bs}, g, b, m, v, 1e-5f, bout);
    for (int n = 0; n < bs.n; ++n)
      for (int c = 0; c < bs.c; ++c)
        for (int h = 0; h < bs.h; ++h)
          for (int w = 0; w < bs.w; ++w) {
            const std::size_t i = ((static_cast<std::size_t>(n) * bs.c + c) * bs.h + h) * bs.w + w;
            const double ref = g[c] * (bx[i] - static_cast<double>(m[c])) / std::sqrt(v[c] + 1e-5) + b[c];
            ASSERT_NEAR(bout.at(n, c, h, w), ref, 1e-5 * (1.0 + std::abs(ref)));
          }
  }
  k::softmax({x.data(), s}, out);
  for (int n = 0; n < s.n; ++n)
    for (int h = 0; h < s.h; ++h)
      for (int w = 0; w < s.w; ++w) {
        double z = 0.0;
        for (int c = 0; c < s.c; ++c)
          z += std::exp(static_cast<double>(
              x[((static_cast<std::size_t>(n) * s.c + c) * s.h + h) * s.w + w]));
        for (int c = 0; c < s.c; ++c) {
          const double ref =
              std::exp(static_cast<double>(
                  x[((static_cast<std::size_t>(n) * s.c + c) * s.h + h) * s.w + w])) /
              z;
          ASSERT_NEAR(out.at(n, c, h, w), ref, 1e-6);
        }
      }
  // Large logits must not overflow.
  k::tensor big({1, 2, 1, 1}, std::vector<float>{1000.0f, 999.0f});
  k::softmax(big, big);
  EXPECT_NEAR(big.at(0, 0, 0, 0), 1.0 / (1.0 + std::exp(-1.0)), 1e-6);
  EXPECT_THROW(k::batch_norm({x.data(), s}, gamma, beta, mean, std::vector<float>(2), 1e-5f, out),
               k::shape_error);
}

TEST(Tensor, ShapesViewsAndResize) {
  k::tensor t({2, 3, 4, 5}, 1.0f);
  EXPECT_EQ(t.size(), 120u);
  EXPECT_EQ(t.shape().to_string(), "[2,3,4,5]");
  t.at(1, 2, 3, 4) = 7.0f;
  EXPECT_EQ(t.data()[119], 7.0f);
  k::const_tensor_view v = t.view();
  EXPECT_EQ(v.image(1).at(0, 2, 3, 4), 7.0f);
  const float* before = t.data();
  t.resize({1, 3, 4, 5});
  EXPECT_EQ(t.data(), before);  // shrinking keeps the allocation
  EXPECT_THROW(k::tensor({1, 1, 2, 2}, std::vector<float>(3)), k::shape_error);
}

}  // namespace
