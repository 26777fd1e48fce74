/**
 * @file cuda.hpp
 * @brief RAII CUDA streams and events with checked calls, and device timing with events.
 *
 * Plain C++ (no device code): the CUDA runtime is used through opaque handles, so this header
 * compiles with g++ alone and in CPU-only builds, where every constructor throws cuda_error.
 */
#pragma once

#include <string>

#include "approxtune/runtime/error.hpp"

namespace approxtune::cuda {

/** @brief True when the library was built with CUDA. */
bool built_with_cuda() noexcept;

/** @brief Number of usable CUDA devices (0 without a driver, a device, or CUDA support). */
int device_count() noexcept;

/**
 * @brief Throws cuda_error "<what> failed at <file>:<line>: <cuda error string>" when @p code
 * (a cudaError_t) is not cudaSuccess.
 */
void check(int code, const char* what, const char* file, int line);
/** @brief Logs instead of throwing: for destructors and noexcept code. */
void check_log(int code, const char* what, const char* file, int line) noexcept;

/** @brief An owned cudaStream_t on a given device. Destroying it synchronises nothing. */
class stream {
 public:
  /** @throws cuda_error when the stream cannot be created (or no CUDA support) */
  explicit stream(int device);
  ~stream();
  stream(stream&& o) noexcept;
  stream& operator=(stream&& o) noexcept;
  stream(const stream&) = delete;
  stream& operator=(const stream&) = delete;
  /** @brief The cudaStream_t, as an opaque pointer. */
  void* get() const noexcept { return handle_; }
  int device() const noexcept { return device_; }
  /** @brief Blocks until all work queued on the stream is done. */
  void synchronize() const;

 private:
  void* handle_ = nullptr;
  int device_ = 0;
};

/** @brief An owned cudaEvent_t. */
class event {
 public:
  explicit event(int device);
  ~event();
  event(event&& o) noexcept;
  event& operator=(event&& o) noexcept;
  event(const event&) = delete;
  event& operator=(const event&) = delete;
  void* get() const noexcept { return handle_; }
  /** @brief Records the event on @p s (asynchronous). */
  void record(const stream& s);
  /** @brief Blocks until the event has completed. */
  void synchronize() const;

 private:
  void* handle_ = nullptr;
};

/** @brief Milliseconds between two recorded events (synchronises on @p stop). */
float elapsed_ms(const event& start, const event& stop);

}  // namespace approxtune::cuda

/** @brief Checks a CUDA runtime call, throwing approxtune::cuda_error with file and line. */
#define APPROXTUNE_CUDA_TRY(call) \
  ::approxtune::cuda::check(static_cast<int>(call), #call, __FILE__, __LINE__)
/** @brief Checks a CUDA runtime call, logging on failure (destructors, noexcept code). */
#define APPROXTUNE_CUDA_CHECK_LOG(call) \
  ::approxtune::cuda::check_log(static_cast<int>(call), #call, __FILE__, __LINE__)
