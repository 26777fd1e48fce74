// GPU parity: every CUDA twin against the CPU op on the same inputs. Skipped without a device
// (this machine has none: cuda_available() is false and the tests report SKIPPED); the
// device-free parts (cuda_available itself, construction errors) run everywhere.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "approxtune/kernels/cuda.hpp"
#include "approxtune/kernels/error.hpp"
#include "approxtune/kernels/ops.hpp"

namespace {

namespace k = approxtune::kernels;

TEST(CudaAvailability, NeverThrowsAndMatchesBuild) {
  EXPECT_TRUE(k::built_with_cuda());
  const bool available = k::cuda_available();  // must not crash without a driver
  if (!available) {
    // Creating a context without a device is a clear cuda_error, not a crash.
    EXPECT_THROW(k::cuda::context ctx, k::cuda_error);
  }
}

std::vector<float> random_vector(std::mt19937& rng, std::size_t n) {
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

k::cuda::device_buffer to_device(const std::vector<float>& host) {
  k::cuda::device_buffer b(host.size());
  b.upload(host);
  return b;
}

class CudaParity : public testing::Test {
 protected:
  void SetUp() override {
    if (!k::cuda_available()) GTEST_SKIP() << "no CUDA device";
    seed_ = std::random_device{}();
    rng_.seed(seed_);
  }
  unsigned seed_ = 0;
  std::mt19937 rng_;
};

TEST_F(CudaParity, ConvEveryVariantMatchesCpu) {
  SCOPED_TRACE(testing::Message() << "seed=" << seed_);
  const k::shape4 in{5, 6, 13, 11};
  const k::shape4 w{7, 6, 3, 3};
  const k::conv_params params{1, 1, 1, 1};
  const auto x = random_vector(rng_, in.size());
  const auto wt = random_vector(rng_, w.size());
  const auto bias = random_vector(rng_, 7);
  const k::shape4 out = k::conv2d_output_shape(in, w, params);
  auto dx = to_device(x);
  auto dw = to_device(wt);
  auto db = to_device(bias);
  k::cuda::device_buffer dy(out.size());
  k::cuda::context ctx;
  k::workspace ws;
  std::vector<k::conv_variant> variants{k::exact_conv(), k::exact_conv(k::precision::fp16)};
  for (int s = 2; s <= 4; ++s) {
    for (int o = 0; o < s; ++o) {
      for (k::precision p : {k::precision::fp32, k::precision::fp16}) {
        variants.push_back(k::perforated_rows(s, o, p));
        variants.push_back(k::perforated_cols(s, o, p));
        variants.push_back(k::filter_sampling(s, o, p));
      }
    }
  }
  for (const auto& v : variants) {
    SCOPED_TRACE(v.to_string());
    k::tensor cpu(out);
    k::conv2d({x.data(), in}, {wt.data(), w}, bias, params, v, cpu, ws);
    k::cuda::conv2d(ctx, {dx.data(), in}, {dw.data(), w}, db.data(), params, v, {dy.data(), out});
    ctx.synchronize();
    std::vector<float> gpu(out.size());
    dy.download(gpu);
    // Same operands (the fp16 halves are bit-identical, from the shared rounding); only the
    // summation order differs: |diff| <= 2 * K * eps32 * sum|terms| <= 2 * 54 * eps * 54.
    // Tensor-core fp16 GEMMs may accumulate in a different order but still in fp32.
    for (std::size_t i = 0; i < gpu.size(); ++i) ASSERT_NEAR(gpu[i], cpu.data()[i], 2e-3) << i;
  }
}

TEST_F(CudaParity, DensePoolAndElementwiseMatchCpu) {
  SCOPED_TRACE(testing::Message() << "seed=" << seed_);
  k::cuda::context ctx;
  k::workspace ws;
  const k::shape4 in{9, 4, 6, 6};
  const auto x = random_vector(rng_, in.size());
  auto dx = to_device(x);
  for (const auto& v :
       {k::exact_pool(), k::sampled_pool(1, 2), k::sampled_pool(2, 5), k::sampled_pool(1, 4)}) {
    const k::pool_params p{3, 3, 2, 2, 1, 1};
    const k::shape4 os = k::pool2d_output_shape(in, p);
    k::cuda::device_buffer dy(os.size());
    k::tensor cpu(os);
    std::vector<float> gpu(os.size());
    k::max_pool2d({x.data(), in}, p, v, cpu);
    k::cuda::max_pool2d(ctx, {dx.data(), in}, p, v, {dy.data(), os});
    dy.download(gpu);
    for (std::size_t i = 0; i < gpu.size(); ++i) ASSERT_EQ(gpu[i], cpu.data()[i]);
    k::avg_pool2d({x.data(), in}, p, v, cpu);
    k::cuda::avg_pool2d(ctx, {dx.data(), in}, p, v, {dy.data(), os});
    dy.download(gpu);
    for (std::size_t i = 0; i < gpu.size(); ++i) ASSERT_NEAR(gpu[i], cpu.data()[i], 1e-6);
  }
  const k::shape4 ws_shape{10, 144, 1, 1};
  const auto wt = random_vector(rng_, ws_shape.size());
  auto dw = to_device(wt);
  for (k::precision prec : {k::precision::fp32, k::precision::fp16}) {
    k::tensor cpu({9, 10, 1, 1});
    k::dense({x.data(), in}, {wt.data(), ws_shape}, {}, {prec}, cpu, ws);
    k::cuda::device_buffer dy(cpu.size());
    k::cuda::dense(ctx, {dx.data(), in}, {dw.data(), ws_shape}, nullptr, {prec},
                   {dy.data(), cpu.shape()});
    std::vector<float> gpu(cpu.size());
    dy.download(gpu);
    for (std::size_t i = 0; i < gpu.size(); ++i) ASSERT_NEAR(gpu[i], cpu.data()[i], 2e-3);
  }
  k::cuda::device_buffer dy(in.size());
  std::vector<float> gpu(in.size());
  k::tensor cpu(in);
  k::relu({x.data(), in}, cpu);
  k::cuda::relu(ctx, {dx.data(), in}, {dy.data(), in});
  dy.download(gpu);
  for (std::size_t i = 0; i < gpu.size(); ++i) ASSERT_EQ(gpu[i], cpu.data()[i]);
  const auto gamma = random_vector(rng_, 4);
  const auto beta = random_vector(rng_, 4);
  const auto mean = random_vector(rng_, 4);
  auto var = random_vector(rng_, 4);
  for (auto& v : var) v = 0.5f + v * v;
  auto dg = to_device(gamma);
  auto dbeta = to_device(beta);
  auto dmean = to_device(mean);
  auto dvar = to_device(var);
  k::batch_norm({x.data(), in}, gamma, beta, mean, var, 1e-5f, cpu);
  k::cuda::batch_norm(ctx, {dx.data(), in}, dg.data(), dbeta.data(), dmean.data(), dvar.data(),
                      1e-5f, {dy.data(), in});
  dy.download(gpu);
  for (std::size_t i = 0; i < gpu.size(); ++i) ASSERT_NEAR(gpu[i], cpu.data()[i], 1e-5);
  k::softmax({x.data(), in}, cpu);
  k::cuda::softmax(ctx, {dx.data(), in}, {dy.data(), in});
  dy.download(gpu);
  for (std::size_t i = 0; i < gpu.size(); ++i) ASSERT_NEAR(gpu[i], cpu.data()[i], 1e-6);
}

}  // namespace
