// Private: the plain C++ boundary of the CUDA Pareto twin (pareto_cuda.cu). No CUDA or Thrust
// type crosses it, so pareto.cpp (built by g++ with Thrust on oneTBB) can call it.
#pragma once

#include <cstddef>
#include <vector>

namespace approxtune::search::detail {

/// Number of usable CUDA devices; 0 when there is no driver or no device (never throws).
int pareto_cuda_device_count() noexcept;

/**
 * Pareto front of host arrays computed on CUDA device 0 with the algorithm of
 * pareto_kernels.cuh: copies both arrays to the device, returns input indices in increasing qos
 * order. Synchronises. Throws std::runtime_error (thrust::system_error) on CUDA failures.
 */
std::vector<std::size_t> pareto_front_cuda(const double* qos, const double* speedup, std::size_t n);

}  // namespace approxtune::search::detail
