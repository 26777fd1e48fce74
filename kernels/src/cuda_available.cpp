#include "approxtune/kernels/cuda.hpp"

#if defined(APPROXTUNE_WITH_CUDA)
#include <cuda_runtime_api.h>
#endif

namespace approxtune::kernels {

bool cuda_available() noexcept {
#if defined(APPROXTUNE_WITH_CUDA)
  int count = 0;
  // Without a driver this returns cudaErrorInsufficientDriver: that means "no device", not a
  // failure. Clear the sticky-free error state so later calls start clean.
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    (void)cudaGetLastError();
    return false;
  }
  return count > 0;
#else
  return false;
#endif
}

bool built_with_cuda() noexcept {
#if defined(APPROXTUNE_WITH_CUDA)
  return true;
#else
  return false;
#endif
}

}  // namespace approxtune::kernels
