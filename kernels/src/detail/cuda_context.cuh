// Private: the state behind kernels::cuda::context, shared by the CUDA translation units.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstddef>

#include "approxtune/kernels/cuda.hpp"
#include "detail/cuda_check.hpp"

namespace approxtune::kernels::cuda {

struct context::impl {
  cudaStream_t stream = nullptr;
  bool owns_stream = false;
  cublasHandle_t blas = nullptr;
  void* workspace = nullptr;
  std::size_t workspace_bytes = 0;

  // Device scratch of at least `bytes`; grows (cudaFree + cudaMalloc, both synchronising) only
  // when a larger layer comes along, so steady-state inference does not allocate.
  void* scratch(std::size_t bytes) {
    if (bytes > workspace_bytes) {
      if (workspace != nullptr) APPROXTUNE_CUDA_TRY(cudaFree(workspace));
      workspace = nullptr;
      workspace_bytes = 0;
      APPROXTUNE_CUDA_TRY(cudaMalloc(&workspace, bytes));
      workspace_bytes = bytes;
    }
    return workspace;
  }
};

namespace detail {

inline constexpr int block_size = 256;

inline unsigned grid_for(std::size_t n) {
  return static_cast<unsigned>((n + block_size - 1) / block_size);
}

// Splits one scratch allocation into 256-byte aligned pieces.
class scratch_layout {
 public:
  std::size_t add(std::size_t bytes) {
    const std::size_t at = total_;
    total_ += (bytes + 255) / 256 * 256;
    return at;
  }
  std::size_t total() const { return total_; }

 private:
  std::size_t total_ = 0;
};

}  // namespace detail
}  // namespace approxtune::kernels::cuda
