// Private: error checking for CUDA runtime and cuBLAS calls (host code of the CUDA back end).
#pragma once

#include <string>

namespace approxtune::kernels::detail {

// Throws kernels::cuda_error "file:line: expr: message".
[[noreturn]] void throw_cuda_error(const char* expr, const char* file, int line,
                                   const std::string& message);
// Logs the same text at error level on the "approxtune" spdlog logger (or the default logger);
// for destructors and noexcept code.
void log_cuda_error(const char* expr, const char* file, int line,
                    const std::string& message) noexcept;

}  // namespace approxtune::kernels::detail

// Every CUDA runtime call: throws with file:line and cudaGetErrorString.
#define APPROXTUNE_CUDA_TRY(call)                                                           \
  do {                                                                                      \
    const cudaError_t approxtune_err_ = (call);                                             \
    if (approxtune_err_ != cudaSuccess) {                                                   \
      ::approxtune::kernels::detail::throw_cuda_error(#call, __FILE__, __LINE__,            \
                                                      cudaGetErrorString(approxtune_err_)); \
    }                                                                                       \
  } while (0)

// Log-only twin for destructors: never throws.
#define APPROXTUNE_CUDA_TRY_LOG(call)                                                     \
  do {                                                                                    \
    const cudaError_t approxtune_err_ = (call);                                           \
    if (approxtune_err_ != cudaSuccess) {                                                 \
      ::approxtune::kernels::detail::log_cuda_error(#call, __FILE__, __LINE__,            \
                                                    cudaGetErrorString(approxtune_err_)); \
    }                                                                                     \
  } while (0)

// A kernel launch: checks the launch configuration error right away (asynchronous faults
// surface at the next synchronising call, which is checked too).
#define APPROXTUNE_CUDA_CHECK_LAUNCH() APPROXTUNE_CUDA_TRY(cudaGetLastError())

// Every cuBLAS call.
#define APPROXTUNE_CUBLAS_TRY(call)                                                           \
  do {                                                                                        \
    const cublasStatus_t approxtune_st_ = (call);                                             \
    if (approxtune_st_ != CUBLAS_STATUS_SUCCESS) {                                            \
      ::approxtune::kernels::detail::throw_cuda_error(#call, __FILE__, __LINE__,              \
                                                      cublasGetStatusString(approxtune_st_)); \
    }                                                                                         \
  } while (0)

#define APPROXTUNE_CUBLAS_TRY_LOG(call)                                                     \
  do {                                                                                      \
    const cublasStatus_t approxtune_st_ = (call);                                           \
    if (approxtune_st_ != CUBLAS_STATUS_SUCCESS) {                                          \
      ::approxtune::kernels::detail::log_cuda_error(#call, __FILE__, __LINE__,              \
                                                    cublasGetStatusString(approxtune_st_)); \
    }                                                                                       \
  } while (0)
