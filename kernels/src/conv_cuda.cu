// CUDA twin of conv_cpu.cpp / perforated_conv_cpu.cpp / sampled_conv_cpu.cpp, and dense: the
// same plan (detail/conv_plan.hpp) and the same element functions (detail/approx_element.hpp),
// with one im2col launch and one strided-batched cuBLAS GEMM per batch.
#include <cublas_v2.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "approxtune/kernels/cuda.hpp"
#include "approxtune/kernels/error.hpp"
#include "detail/approx_element.hpp"
#include "detail/conv_plan.hpp"
#include "detail/cuda_check.hpp"
#include "detail/cuda_context.cuh"

namespace approxtune::kernels::cuda {
namespace {

namespace d = approxtune::kernels::detail;

__device__ inline void store(float* p, float v) { *p = v; }
__device__ inline void store(__half* p, float v) {
  // The shared software rounding, so the GPU stores exactly the halves the CPU simulation uses.
  *p = __ushort_as_half(d::half_from_float_bits(v));
}

// col[img][t][i * cols_eff + j] for all images: one thread per element.
template <class T>
__global__ void im2col_kernel(d::conv_dims g, const float* __restrict__ input,
                              T* __restrict__ col) {
  const std::size_t positions = static_cast<std::size_t>(g.rows_eff) * g.cols_eff;
  const std::size_t per_image = positions * g.n_kept;
  const std::size_t total = per_image * g.n;
  for (std::size_t idx = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x;
       idx < total; idx += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    const int img = static_cast<int>(idx / per_image);
    const std::size_t rest = idx % per_image;
    d::conv_tap tap{};
    float v = 0.0f;
    if (d::conv_tap_of(g, static_cast<int>(rest / positions), static_cast<int>(rest % positions),
                       &tap)) {
      v = input[((static_cast<std::size_t>(img) * g.c + tap.c) * g.h + tap.ih) * g.w + tap.iw];
    }
    store(col + idx, v);
  }
}

// A[k][t] = weight of kept filter element t, times e/(e-1) when sampling.
template <class T>
__global__ void weights_kernel(d::conv_dims g, const float* __restrict__ weights,
                               T* __restrict__ a) {
  const std::size_t total = static_cast<std::size_t>(g.k) * g.n_kept;
  const float scale = g.kind == d::conv_kind_sampling ? d::samp_scale(g.samp_skip) : 1.0f;
  for (std::size_t idx = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x;
       idx < total; idx += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    const int k = static_cast<int>(idx / g.n_kept);
    const int t = static_cast<int>(idx % g.n_kept);
    store(a + idx,
          weights[static_cast<std::size_t>(k) * g.n_full + d::conv_filter_of(g, t)] * scale);
  }
}

// Perforation: every output element either reads its computed value from the compact GEMM
// result or the mean of its two interpolation sources (shared rules), then adds the bias.
__global__ void perforation_gather_kernel(d::conv_dims g, const float* __restrict__ compact,
                                          const float* __restrict__ bias, float* __restrict__ out) {
  const std::size_t plane = static_cast<std::size_t>(g.oh) * g.ow;
  const std::size_t positions = static_cast<std::size_t>(g.rows_eff) * g.cols_eff;
  const std::size_t total = static_cast<std::size_t>(g.n) * g.k * plane;
  for (std::size_t idx = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x;
       idx < total; idx += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    const std::size_t chan = idx / plane;  // img * k + k
    const int y = static_cast<int>((idx % plane) / g.ow);
    const int x = static_cast<int>(idx % g.ow);
    float v = d::perf_output_value(g, compact + chan * positions, y, x);
    if (bias != nullptr) v += bias[chan % g.k];
    out[idx] = v;
  }
}

__global__ void bias_kernel(float* __restrict__ x, const float* __restrict__ bias,
                            std::size_t total, std::size_t plane, int channels) {
  for (std::size_t idx = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x;
       idx < total; idx += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    x[idx] += bias[(idx / plane) % channels];
  }
}

template <class T>
__global__ void convert_kernel(const float* __restrict__ in, T* __restrict__ out,
                               std::size_t total) {
  for (std::size_t idx = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x;
       idx < total; idx += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    store(out + idx, in[idx]);
  }
}

unsigned grid(std::size_t n) {
  // Grid-stride loops: cap the grid, the loop covers the rest.
  const unsigned g = detail::grid_for(n);
  return g == 0 ? 1u : (g > 65535u ? 65535u : g);
}

void require_device_pointers(const char* op, const void* a, const void* b, const void* c) {
  if (a == nullptr || b == nullptr || c == nullptr)
    throw shape_error(std::string(op) + ": null data pointer");
}

}  // namespace

void conv2d(context& ctx, const_tensor_view input, const_tensor_view weights, const float* bias,
            const conv_params& params, const conv_variant& variant, tensor_view output) {
  const char* op = "cuda::conv2d";
  const d::conv_plan p = d::make_conv_plan(op, input.shape, weights.shape, 0, params, variant);
  d::check_conv_output(op, p, output.shape);
  require_device_pointers(op, input.data, weights.data, output.data);
  context::impl& impl = ctx.internals();
  const d::conv_dims g = d::dims_of(p);
  const bool half = variant.prec == precision::fp16;
  const bool perforated = p.perf_rows() || p.perf_cols();
  const std::size_t elem = half ? sizeof(__half) : sizeof(float);
  const std::size_t positions = p.positions();
  const std::size_t a_count = static_cast<std::size_t>(p.k) * p.n_kept;
  const std::size_t col_count = positions * p.n_kept * p.n;
  const std::size_t compact_count = perforated ? positions * p.k * p.n : 0;

  detail::scratch_layout layout;
  const std::size_t a_at = layout.add(half || p.sampled() ? a_count * elem : 0);
  const std::size_t col_at = layout.add(col_count * elem);
  const std::size_t compact_at = layout.add(compact_count * sizeof(float));
  char* base = static_cast<char*>(impl.scratch(layout.total()));
  float* compact = reinterpret_cast<float*>(base + compact_at);

  // C row-major [k x positions] per image == column-major [positions x k]: C^T = B^T A^T.
  float* c_matrix = perforated ? compact : output.data;
  const long long stride_c = static_cast<long long>(perforated ? positions : p.out_plane()) * p.k;
  const long long stride_b = static_cast<long long>(positions) * p.n_kept;
  const float one = 1.0f;
  const float zero = 0.0f;
  APPROXTUNE_CUBLAS_TRY(cublasSetStream(impl.blas, impl.stream));
  if (half) {
    auto* a = reinterpret_cast<__half*>(base + a_at);
    auto* col = reinterpret_cast<__half*>(base + col_at);
    weights_kernel<<<grid(a_count), detail::block_size, 0, impl.stream>>>(g, weights.data, a);
    APPROXTUNE_CUDA_CHECK_LAUNCH();
    im2col_kernel<<<grid(col_count), detail::block_size, 0, impl.stream>>>(g, input.data, col);
    APPROXTUNE_CUDA_CHECK_LAUNCH();
    // Half inputs, fp32 accumulation and output: tensor cores (default math mode since CUDA 11).
    APPROXTUNE_CUBLAS_TRY(cublasGemmStridedBatchedEx(
        impl.blas, CUBLAS_OP_N, CUBLAS_OP_N, static_cast<int>(positions), p.k, p.n_kept, &one, col,
        CUDA_R_16F, static_cast<int>(positions), stride_b, a, CUDA_R_16F, p.n_kept, 0, &zero,
        c_matrix, CUDA_R_32F, static_cast<int>(perforated ? positions : p.out_plane()), stride_c,
        p.n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
  } else {
    // fp32 without sampling reads the caller's weights as they are; sampling packs and scales.
    const float* a = weights.data;
    if (p.sampled()) {
      auto* packed = reinterpret_cast<float*>(base + a_at);
      weights_kernel<<<grid(a_count), detail::block_size, 0, impl.stream>>>(g, weights.data, packed);
      APPROXTUNE_CUDA_CHECK_LAUNCH();
      a = packed;
    }
    auto* col = reinterpret_cast<float*>(base + col_at);
    im2col_kernel<<<grid(col_count), detail::block_size, 0, impl.stream>>>(g, input.data, col);
    APPROXTUNE_CUDA_CHECK_LAUNCH();
    APPROXTUNE_CUBLAS_TRY(cublasSgemmStridedBatched(
        impl.blas, CUBLAS_OP_N, CUBLAS_OP_N, static_cast<int>(positions), p.k, p.n_kept, &one, col,
        static_cast<int>(positions), stride_b, a, p.n_kept, 0, &zero, c_matrix,
        static_cast<int>(perforated ? positions : p.out_plane()), stride_c, p.n));
  }
  const std::size_t out_count = output.shape.size();
  if (perforated) {
    perforation_gather_kernel<<<grid(out_count), detail::block_size, 0, impl.stream>>>(
        g, compact, bias, output.data);
    APPROXTUNE_CUDA_CHECK_LAUNCH();
  } else if (bias != nullptr) {
    bias_kernel<<<grid(out_count), detail::block_size, 0, impl.stream>>>(
        output.data, bias, out_count, p.out_plane(), p.k);
    APPROXTUNE_CUDA_CHECK_LAUNCH();
  }
}

void dense(context& ctx, const_tensor_view input, const_tensor_view weights, const float* bias,
           const dense_variant& variant, tensor_view output) {
  const char* op = "cuda::dense";
  require_device_pointers(op, input.data, weights.data, output.data);
  const int n = input.shape.n;
  const int in_features = static_cast<int>(input.shape.image_size());
  const int out_features = weights.shape.n;
  if (n <= 0 || in_features <= 0 || out_features <= 0 ||
      static_cast<int>(weights.shape.image_size()) != in_features ||
      output.shape != shape4{n, out_features, 1, 1}) {
    throw shape_error(std::string(op) + ": input " + input.shape.to_string() + ", weights " +
                      weights.shape.to_string() + ", output " + output.shape.to_string() +
                      " are inconsistent (expected weights [O, C*H*W] and output [N, O, 1, 1])");
  }
  context::impl& impl = ctx.internals();
  APPROXTUNE_CUBLAS_TRY(cublasSetStream(impl.blas, impl.stream));
  const float one = 1.0f;
  const float zero = 0.0f;
  // Row-major C[n x o] = X[n x i] W[o x i]^T  ==  column-major C^T[o x n] = W^T(op T) X^T.
  if (variant.prec == precision::fp16) {
    detail::scratch_layout layout;
    const std::size_t x_at = layout.add(input.size() * sizeof(__half));
    const std::size_t w_at = layout.add(weights.size() * sizeof(__half));
    char* base = static_cast<char*>(impl.scratch(layout.total()));
    auto* xh = reinterpret_cast<__half*>(base + x_at);
    auto* wh = reinterpret_cast<__half*>(base + w_at);
    convert_kernel<<<grid(input.size()), detail::block_size, 0, impl.stream>>>(input.data, xh,
                                                                               input.size());
    APPROXTUNE_CUDA_CHECK_LAUNCH();
    convert_kernel<<<grid(weights.size()), detail::block_size, 0, impl.stream>>>(weights.data, wh,
                                                                                 weights.size());
    APPROXTUNE_CUDA_CHECK_LAUNCH();
    APPROXTUNE_CUBLAS_TRY(cublasGemmEx(impl.blas, CUBLAS_OP_T, CUBLAS_OP_N, out_features, n,
                                       in_features, &one, wh, CUDA_R_16F, in_features, xh,
                                       CUDA_R_16F, in_features, &zero, output.data, CUDA_R_32F,
                                       out_features, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
  } else {
    APPROXTUNE_CUBLAS_TRY(cublasSgemm(impl.blas, CUBLAS_OP_T, CUBLAS_OP_N, out_features, n,
                                      in_features, &one, weights.data, in_features, input.data,
                                      in_features, &zero, output.data, out_features));
  }
  if (bias != nullptr) {
    const std::size_t total = output.shape.size();
    bias_kernel<<<grid(total), detail::block_size, 0, impl.stream>>>(output.data, bias, total, 1,
                                                                     out_features);
    APPROXTUNE_CUDA_CHECK_LAUNCH();
  }
}

// ---- context and device_buffer ------------------------------------------------------------------

context::context(void* stream) : impl_(std::make_unique<impl>()) {
  if (stream != nullptr) {
    impl_->stream = static_cast<cudaStream_t>(stream);
  } else {
    APPROXTUNE_CUDA_TRY(cudaStreamCreateWithFlags(&impl_->stream, cudaStreamNonBlocking));
    impl_->owns_stream = true;
  }
  try {
    APPROXTUNE_CUBLAS_TRY(cublasCreate(&impl_->blas));
    APPROXTUNE_CUBLAS_TRY(cublasSetStream(impl_->blas, impl_->stream));
  } catch (...) {
    if (impl_->owns_stream) APPROXTUNE_CUDA_TRY_LOG(cudaStreamDestroy(impl_->stream));
    throw;
  }
}

context::~context() {
  if (!impl_) return;
  if (impl_->workspace != nullptr) APPROXTUNE_CUDA_TRY_LOG(cudaFree(impl_->workspace));
  if (impl_->blas != nullptr) APPROXTUNE_CUBLAS_TRY_LOG(cublasDestroy(impl_->blas));
  if (impl_->owns_stream) APPROXTUNE_CUDA_TRY_LOG(cudaStreamDestroy(impl_->stream));
}

void* context::stream() const noexcept { return impl_->stream; }

void context::synchronize() { APPROXTUNE_CUDA_TRY(cudaStreamSynchronize(impl_->stream)); }

device_buffer::device_buffer(std::size_t count) : size_(count) {
  if (count > 0)
    APPROXTUNE_CUDA_TRY(cudaMalloc(reinterpret_cast<void**>(&data_), count * sizeof(float)));
}

device_buffer::~device_buffer() {
  if (data_ != nullptr) APPROXTUNE_CUDA_TRY_LOG(cudaFree(data_));
}

device_buffer::device_buffer(device_buffer&& other) noexcept
    : data_(other.data_), size_(other.size_) {
  other.data_ = nullptr;
  other.size_ = 0;
}

device_buffer& device_buffer::operator=(device_buffer&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) APPROXTUNE_CUDA_TRY_LOG(cudaFree(data_));
    data_ = other.data_;
    size_ = other.size_;
    other.data_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

void device_buffer::upload(std::span<const float> host) {
  if (host.size() > size_) {
    throw shape_error("cuda::device_buffer::upload: " + std::to_string(host.size()) +
                      " floats into a buffer of " + std::to_string(size_));
  }
  APPROXTUNE_CUDA_TRY(cudaMemcpy(data_, host.data(), host.size_bytes(), cudaMemcpyHostToDevice));
}

void device_buffer::download(std::span<float> host) const {
  if (host.size() > size_) {
    throw shape_error("cuda::device_buffer::download: " + std::to_string(host.size()) +
                      " floats from a buffer of " + std::to_string(size_));
  }
  APPROXTUNE_CUDA_TRY(cudaMemcpy(host.data(), data_, host.size_bytes(), cudaMemcpyDeviceToHost));
}

}  // namespace approxtune::kernels::cuda
