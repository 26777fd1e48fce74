/**
 * @file cuda.hpp
 * @brief CUDA twins of the ops (library `approxtune::kernels_cuda`) and device discovery.
 *
 * Plain C++: compiles with g++ alone and holds no device code. Views passed to the functions in
 * `approxtune::kernels::cuda` carry *device* pointers (the same `tensor_view` type, so an engine
 * keeps one shape bookkeeping for both back ends). Every function enqueues work on the
 * context's stream and returns without synchronising, unless it says otherwise; errors of
 * kernel launches and CUDA/cuBLAS calls throw `cuda_error` with file:line and the CUDA message.
 *
 * `cuda_available()` and `built_with_cuda()` live in `approxtune::kernels` and are always there;
 * everything in namespace `cuda` needs the `approxtune::kernels_cuda` target (CUDA builds only).
 */
#pragma once

#include <cstddef>
#include <memory>
#include <span>

#include "approxtune/kernels/tensor.hpp"
#include "approxtune/kernels/variants.hpp"

namespace approxtune::kernels {

/**
 * @brief True if this build has CUDA and at least one device is usable. Never throws: a missing
 * or too old driver (cudaErrorInsufficientDriver) counts as zero devices.
 */
bool cuda_available() noexcept;

/** @brief True if the library was built with the CUDA back end (APPROXTUNE_WITH_CUDA). */
bool built_with_cuda() noexcept;

namespace cuda {

/** @brief An owning device allocation of floats. Move-only; the destructor only logs errors. */
class device_buffer {
 public:
  device_buffer() = default;
  /** @brief Allocates @p count floats (uninitialised). @throws cuda_error */
  explicit device_buffer(std::size_t count);
  ~device_buffer();
  device_buffer(device_buffer&& other) noexcept;
  device_buffer& operator=(device_buffer&& other) noexcept;
  device_buffer(const device_buffer&) = delete;
  device_buffer& operator=(const device_buffer&) = delete;

  float* data() noexcept { return data_; }
  const float* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }

  /** @brief Copies @p host to the start of the buffer. Synchronises. @throws cuda_error */
  void upload(std::span<const float> host);
  /** @brief Copies the start of the buffer to @p host. Synchronises. @throws cuda_error */
  void download(std::span<float> host) const;

 private:
  float* data_ = nullptr;
  std::size_t size_ = 0;
};

/**
 * @brief Per-stream state of the CUDA ops: the stream, a cuBLAS handle bound to it, and a device
 * workspace (im2col, half copies, index maps) that grows on first use and is then reused.
 * One context per engine slot; not thread-safe.
 */
class context {
 public:
  /**
   * @param stream a cudaStream_t to run on (e.g. approxtune::slot_info::stream), or null to
   *        create and own a new stream
   * @throws cuda_error if no device is usable or a CUDA/cuBLAS call fails
   */
  explicit context(void* stream = nullptr);
  ~context();
  context(const context&) = delete;
  context& operator=(const context&) = delete;

  /** @brief The cudaStream_t the ops run on. */
  void* stream() const noexcept;
  /** @brief Waits for all work enqueued on the stream. @throws cuda_error */
  void synchronize();

  struct impl;
  /** @brief Back-end internals (used by the CUDA translation units). */
  impl& internals() noexcept { return *impl_; }

 private:
  std::unique_ptr<impl> impl_;
};

/**
 * @brief GPU conv2d: same semantics and validation as the CPU `kernels::conv2d`.
 *
 * fp32: im2col of the computed positions/kept filter elements and cublasSgemm. fp16: the im2col
 * and the (scaled) weights are stored in half in the workspace, and the GEMM runs on tensor
 * cores through cublasGemmEx (half inputs, fp32 accumulation and output). Perforated outputs
 * are expanded and interpolated by a kernel using the shared element functions, then the bias
 * is added. Asynchronous on `ctx.stream()`.
 * @param bias device pointer to K floats, or null
 * @throws shape_error, cuda_error
 */
void conv2d(context& ctx, const_tensor_view input, const_tensor_view weights, const float* bias,
            const conv_params& params, const conv_variant& variant, tensor_view output);

/** @brief GPU dense (see kernels::dense); fp16 = half operands, tensor-core GEMM. Async. */
void dense(context& ctx, const_tensor_view input, const_tensor_view weights, const float* bias,
           const dense_variant& variant, tensor_view output);

/** @brief x[n, c, :, :] += bias[c] (device pointer, C floats). Async. */
void bias_add(context& ctx, tensor_view x, const float* bias);
/** @brief out = max(in, 0); output may alias input. Async. */
void relu(context& ctx, const_tensor_view input, tensor_view output);
/** @brief out = tanh(in); output may alias input. Async. */
void tanh(context& ctx, const_tensor_view input, tensor_view output);
/** @brief out = a + b; output may alias a or b. Async. */
void add(context& ctx, const_tensor_view a, const_tensor_view b, tensor_view output);
/** @brief Max pooling with reduction sampling (same rule as the CPU). Async. */
void max_pool2d(context& ctx, const_tensor_view input, const pool_params& params,
                const pool_variant& variant, tensor_view output);
/** @brief Average pooling with reduction sampling (same rule as the CPU). Async. */
void avg_pool2d(context& ctx, const_tensor_view input, const pool_params& params,
                const pool_variant& variant, tensor_view output);
/**
 * @brief Inference batch norm (see kernels::batch_norm); @p gamma, @p beta, @p mean, @p var are
 * device pointers to C floats each. Output may alias input. Async.
 */
void batch_norm(context& ctx, const_tensor_view input, const float* gamma, const float* beta,
                const float* mean, const float* var, float eps, tensor_view output);
/** @brief Softmax over channels at every (n, h, w) (see kernels::softmax). Async. */
void softmax(context& ctx, const_tensor_view input, tensor_view output);

}  // namespace cuda
}  // namespace approxtune::kernels
