// The CUDA twin of pareto.cpp: the same Thrust algorithm (pareto_kernels.cuh) on the CUDA device
// system. This is the only CUDA Thrust translation unit of the search area (each costs ~25 s).
#include <cuda_runtime_api.h>

#include <thrust/device_vector.h>
#include <thrust/execution_policy.h>

#include "pareto_cuda.hpp"
#include "pareto_kernels.cuh"

namespace approxtune::search::detail {

int pareto_cuda_device_count() noexcept {
  int count = 0;
  // No driver (cudaErrorInsufficientDriver on the build machines) counts as no device.
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    (void)cudaGetLastError();
    return 0;
  }
  return count;
}

std::vector<std::size_t> pareto_front_cuda(const double* qos, const double* speedup,
                                           std::size_t n) {
  if (n == 0) return {};
  thrust::device_vector<double> q(qos, qos + n);
  thrust::device_vector<double> s(speedup, speedup + n);
  const double* raw_s = thrust::raw_pointer_cast(s.data());
  const auto order = front_order(thrust::device, thrust::raw_pointer_cast(q.data()), raw_s, n);
  return to_increasing_qos(front_of_sorted(thrust::device, order, raw_s));
}

}  // namespace approxtune::search::detail
