// CUDA twins of the element-wise ops and pooling in ops_cpu.cpp (same reduction-sampling rule
// from detail/approx_element.hpp).
#include <cuda_runtime.h>

#include <cfloat>
#include <string>

#include "approxtune/kernels/cuda.hpp"
#include "approxtune/kernels/error.hpp"
#include "approxtune/kernels/ops.hpp"
#include "detail/approx_element.hpp"
#include "detail/cuda_check.hpp"
#include "detail/cuda_context.cuh"

namespace approxtune::kernels::cuda {
namespace {

namespace d = approxtune::kernels::detail;

unsigned grid(std::size_t n) {
  const unsigned g = detail::grid_for(n);
  return g == 0 ? 1u : (g > 65535u ? 65535u : g);
}

#define APPROXTUNE_GRID_STRIDE(idx, total)                                                \
  for (std::size_t idx = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; \
       idx < (total); idx += static_cast<std::size_t>(gridDim.x) * blockDim.x)

__global__ void relu_kernel(const float* in, float* out, std::size_t n) {
  APPROXTUNE_GRID_STRIDE(i, n) { out[i] = fmaxf(in[i], 0.0f); }
}
__global__ void tanh_kernel(const float* in, float* out, std::size_t n) {
  APPROXTUNE_GRID_STRIDE(i, n) { out[i] = tanhf(in[i]); }
}
__global__ void add_kernel(const float* a, const float* b, float* out, std::size_t n) {
  APPROXTUNE_GRID_STRIDE(i, n) { out[i] = a[i] + b[i]; }
}
__global__ void bias_add_kernel(float* x, const float* bias, std::size_t n, std::size_t plane,
                                int channels) {
  APPROXTUNE_GRID_STRIDE(i, n) { x[i] += bias[(i / plane) % channels]; }
}

template <bool IsMax>
__global__ void pool_kernel(const float* in, float* out, int planes, int h, int w, int oh, int ow,
                            pool_params p, pool_variant v) {
  const std::size_t total = static_cast<std::size_t>(planes) * oh * ow;
  const bool half = v.prec == precision::fp16;
  APPROXTUNE_GRID_STRIDE(idx, total) {
    const std::size_t pl = idx / (static_cast<std::size_t>(oh) * ow);
    const int i = static_cast<int>((idx / ow) % oh);
    const int j = static_cast<int>(idx % ow);
    const float* x = in + pl * h * w;
    float acc = IsMax ? -FLT_MAX : 0.0f;
    int count = 0;
    for (int dy = 0; dy < p.window_h; ++dy) {
      const int ih = i * p.stride_h - p.pad_h + dy;
      for (int dx = 0; dx < p.window_w; ++dx) {
        const int iw = j * p.stride_w - p.pad_w + dx;
        if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
        if (v.skip_num > 0 && d::red_is_skipped(dy * p.window_w + dx, v.skip_num, v.skip_den))
          continue;
        const float val = half ? d::round_half(x[ih * w + iw]) : x[ih * w + iw];
        acc = IsMax ? fmaxf(acc, val) : acc + val;
        ++count;
      }
    }
    out[idx] = count == 0 ? 0.0f : (IsMax ? acc : acc / static_cast<float>(count));
  }
}

__global__ void batch_norm_kernel(const float* in, float* out, std::size_t n, std::size_t plane,
                                  int channels, const float* gamma, const float* beta,
                                  const float* mean, const float* var, float eps) {
  APPROXTUNE_GRID_STRIDE(i, n) {
    const int c = static_cast<int>((i / plane) % channels);
    // Same folding into scale and shift as the CPU op.
    const float scale = gamma[c] / sqrtf(var[c] + eps);
    out[i] = in[i] * scale + (beta[c] - mean[c] * scale);
  }
}

__global__ void softmax_kernel(const float* in, float* out, int n, int channels,
                               std::size_t plane) {
  const std::size_t total = static_cast<std::size_t>(n) * plane;
  APPROXTUNE_GRID_STRIDE(idx, total) {
    const std::size_t img = idx / plane;
    const std::size_t pos = idx % plane;
    const float* x = in + img * channels * plane + pos;
    float* y = out + img * channels * plane + pos;
    float mx = -FLT_MAX;
    for (int c = 0; c < channels; ++c) mx = fmaxf(mx, x[c * plane]);
    float sum = 0.0f;
    for (int c = 0; c < channels; ++c) {
      const float e = expf(x[c * plane] - mx);
      y[c * plane] = e;
      sum += e;
    }
    const float inv = 1.0f / sum;
    for (int c = 0; c < channels; ++c) y[c * plane] *= inv;
  }
}

#undef APPROXTUNE_GRID_STRIDE

void same_shape(const char* op, shape4 a, shape4 b) {
  if (a != b)
    throw shape_error(std::string(op) + ": shapes " + a.to_string() + " and " + b.to_string() +
                      " differ");
}

void not_null(const char* op, const void* a, const void* b) {
  if (a == nullptr || b == nullptr) throw shape_error(std::string(op) + ": null data pointer");
}

template <bool IsMax>
void pool(const char* op, context& ctx, const_tensor_view input, const pool_params& params,
          const pool_variant& variant, tensor_view output) {
  if (variant.skip_den <= 0 || variant.skip_num < 0 || variant.skip_num >= variant.skip_den) {
    throw shape_error(std::string(op) + ": reduction sampling needs 0 <= skip_num < skip_den");
  }
  const shape4 expected = pool2d_output_shape(input.shape, params);
  same_shape(op, output.shape, expected);
  not_null(op, input.data, output.data);
  const std::size_t total = output.shape.size();
  pool_kernel<IsMax><<<grid(total), detail::block_size, 0, ctx.internals().stream>>>(
      input.data, output.data, input.shape.n * input.shape.c, input.shape.h, input.shape.w,
      expected.h, expected.w, params, variant);
  APPROXTUNE_CUDA_CHECK_LAUNCH();
}

}  // namespace

void bias_add(context& ctx, tensor_view x, const float* bias) {
  not_null("cuda::bias_add", x.data, bias);
  const std::size_t n = x.size();
  bias_add_kernel<<<grid(n), detail::block_size, 0, ctx.internals().stream>>>(
      x.data, bias, n, x.shape.plane_size(), x.shape.c);
  APPROXTUNE_CUDA_CHECK_LAUNCH();
}

void relu(context& ctx, const_tensor_view input, tensor_view output) {
  same_shape("cuda::relu", input.shape, output.shape);
  not_null("cuda::relu", input.data, output.data);
  relu_kernel<<<grid(input.size()), detail::block_size, 0, ctx.internals().stream>>>(
      input.data, output.data, input.size());
  APPROXTUNE_CUDA_CHECK_LAUNCH();
}

void tanh(context& ctx, const_tensor_view input, tensor_view output) {
  same_shape("cuda::tanh", input.shape, output.shape);
  not_null("cuda::tanh", input.data, output.data);
  tanh_kernel<<<grid(input.size()), detail::block_size, 0, ctx.internals().stream>>>(
      input.data, output.data, input.size());
  APPROXTUNE_CUDA_CHECK_LAUNCH();
}

void add(context& ctx, const_tensor_view a, const_tensor_view b, tensor_view output) {
  same_shape("cuda::add", a.shape, b.shape);
  same_shape("cuda::add", a.shape, output.shape);
  not_null("cuda::add", a.data, b.data);
  not_null("cuda::add", output.data, output.data);
  add_kernel<<<grid(a.size()), detail::block_size, 0, ctx.internals().stream>>>(
      a.data, b.data, output.data, a.size());
  APPROXTUNE_CUDA_CHECK_LAUNCH();
}

void max_pool2d(context& ctx, const_tensor_view input, const pool_params& params,
                const pool_variant& variant, tensor_view output) {
  pool<true>("cuda::max_pool2d", ctx, input, params, variant, output);
}

void avg_pool2d(context& ctx, const_tensor_view input, const pool_params& params,
                const pool_variant& variant, tensor_view output) {
  pool<false>("cuda::avg_pool2d", ctx, input, params, variant, output);
}

void batch_norm(context& ctx, const_tensor_view input, const float* gamma, const float* beta,
                const float* mean, const float* var, float eps, tensor_view output) {
  same_shape("cuda::batch_norm", input.shape, output.shape);
  not_null("cuda::batch_norm", input.data, output.data);
  not_null("cuda::batch_norm", gamma, beta);
  not_null("cuda::batch_norm", mean, var);
  if (eps < 0.0f) throw shape_error("cuda::batch_norm: eps must be >= 0");
  const std::size_t n = input.size();
  batch_norm_kernel<<<grid(n), detail::block_size, 0, ctx.internals().stream>>>(
      input.data, output.data, n, input.shape.plane_size(), input.shape.c, gamma, beta, mean, var,
      eps);
  APPROXTUNE_CUDA_CHECK_LAUNCH();
}

void softmax(context& ctx, const_tensor_view input, tensor_view output) {
  same_shape("cuda::softmax", input.shape, output.shape);
  not_null("cuda::softmax", input.data, output.data);
  const std::size_t positions = static_cast<std::size_t>(input.shape.n) * input.shape.plane_size();
  softmax_kernel<<<grid(positions), detail::block_size, 0, ctx.internals().stream>>>(
      input.data, output.data, input.shape.n, input.shape.c, input.shape.plane_size());
  APPROXTUNE_CUDA_CHECK_LAUNCH();
}

}  // namespace approxtune::kernels::cuda
