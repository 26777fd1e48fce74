#include "approxtune/runtime/cuda.hpp"

#include <utility>

#include "approxtune/runtime/logging.hpp"
#include "devices.hpp"

#if defined(APPROXTUNE_WITH_CUDA)
#include <cuda_runtime_api.h>
#endif

namespace approxtune::cuda {

#if defined(APPROXTUNE_WITH_CUDA)

bool built_with_cuda() noexcept { return true; }

int device_count() noexcept {
  int n = 0;
  // cudaErrorInsufficientDriver / cudaErrorNoDevice: no usable device, not an error.
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    (void)cudaGetLastError();
    return 0;
  }
  return n;
}

void check(int code, const char* what, const char* file, int line) {
  if (code == cudaSuccess) return;
  throw cuda_error(std::string(what) + " failed at " + file + ":" + std::to_string(line) + ": " +
                   cudaGetErrorString(static_cast<cudaError_t>(code)));
}

void check_log(int code, const char* what, const char* file, int line) noexcept {
  if (code == cudaSuccess) return;
  try {
    logger()->error("{} failed at {}:{}: {}", what, file, line,
                    cudaGetErrorString(static_cast<cudaError_t>(code)));
  } catch (...) {
  }
}

stream::stream(int device) : device_(device) {
  APPROXTUNE_CUDA_TRY(cudaSetDevice(device));
  cudaStream_t s = nullptr;
  APPROXTUNE_CUDA_TRY(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  handle_ = s;
}
stream::~stream() {
  if (handle_ != nullptr) APPROXTUNE_CUDA_CHECK_LOG(cudaStreamDestroy(static_cast<cudaStream_t>(handle_)));
}
void stream::synchronize() const {
  APPROXTUNE_CUDA_TRY(cudaStreamSynchronize(static_cast<cudaStream_t>(handle_)));
}

event::event(int device) {
  APPROXTUNE_CUDA_TRY(cudaSetDevice(device));
  cudaEvent_t e = nullptr;
  APPROXTUNE_CUDA_TRY(cudaEventCreate(&e));
  handle_ = e;
}
event::~event() {
  if (handle_ != nullptr) APPROXTUNE_CUDA_CHECK_LOG(cudaEventDestroy(static_cast<cudaEvent_t>(handle_)));
}
void event::record(const stream& s) {
  APPROXTUNE_CUDA_TRY(cudaEventRecord(static_cast<cudaEvent_t>(handle_),
                                      static_cast<cudaStream_t>(s.get())));
}
void event::synchronize() const {
  APPROXTUNE_CUDA_TRY(cudaEventSynchronize(static_cast<cudaEvent_t>(handle_)));
}
float elapsed_ms(const event& start, const event& stop) {
  stop.synchronize();
  float ms = 0.0f;
  APPROXTUNE_CUDA_TRY(cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(start.get()),
                                           static_cast<cudaEvent_t>(stop.get())));
  return ms;
}

#else  // CPU-only build

namespace {
[[noreturn]] void no_cuda() { throw cuda_error("approxtune was built without CUDA support"); }
}  // namespace

bool built_with_cuda() noexcept { return false; }
int device_count() noexcept { return 0; }
void check(int code, const char* what, const char* file, int line) {
  if (code != 0)
    throw cuda_error(std::string(what) + " failed at " + file + ":" + std::to_string(line) +
                     ": error " + std::to_string(code));
}
void check_log(int code, const char* what, const char* file, int line) noexcept {
  if (code != 0) {
    try {
      logger()->error("{} failed at {}:{}: error {}", what, file, line, code);
    } catch (...) {
    }
  }
}
stream::stream(int device) : device_(device) { no_cuda(); }
stream::~stream() = default;
void stream::synchronize() const { no_cuda(); }
event::event(int) { no_cuda(); }
event::~event() = default;
void event::record(const stream&) { no_cuda(); }
void event::synchronize() const { no_cuda(); }
float elapsed_ms(const event&, const event&) { no_cuda(); }

#endif

stream::stream(stream&& o) noexcept
    : handle_(std::exchange(o.handle_, nullptr)), device_(o.device_) {}
stream& stream::operator=(stream&& o) noexcept {
  if (this != &o) {
    stream tmp(std::move(*this));
    handle_ = std::exchange(o.handle_, nullptr);
    device_ = o.device_;
  }
  return *this;
}
event::event(event&& o) noexcept : handle_(std::exchange(o.handle_, nullptr)) {}
event& event::operator=(event&& o) noexcept {
  if (this != &o) {
    event tmp(std::move(*this));
    handle_ = std::exchange(o.handle_, nullptr);
  }
  return *this;
}

}  // namespace approxtune::cuda

namespace approxtune::detail {

std::vector<device_info> discover_cuda_devices() {
  std::vector<device_info> out;
#if defined(APPROXTUNE_WITH_CUDA)
  const int n = cuda::device_count();
  for (int i = 0; i < n; ++i) {
    cudaDeviceProp p{};
    if (cudaGetDeviceProperties(&p, i) != cudaSuccess) {
      (void)cudaGetLastError();
      continue;
    }
    device_info d;
    d.id = "cuda:" + std::to_string(i);
    d.kind = "gpu";
    d.index = i;
    d.name = p.name;
    d.memory_bytes = p.totalGlobalMem;
    d.compute_major = p.major;
    d.compute_minor = p.minor;
    d.default_slots = 2;  // two streams overlap transfers and compute without thrashing memory
    out.push_back(std::move(d));
  }
#endif
  return out;
}

}  // namespace approxtune::detail
