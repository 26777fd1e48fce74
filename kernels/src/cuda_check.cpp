#include "detail/cuda_check.hpp"

#include <spdlog/spdlog.h>

#include "approxtune/kernels/error.hpp"

namespace approxtune::kernels::detail {

void throw_cuda_error(const char* expr, const char* file, int line, const std::string& message) {
  throw cuda_error(std::string(file) + ":" + std::to_string(line) + ": " + expr + ": " + message);
}

void log_cuda_error(const char* expr, const char* file, int line,
                    const std::string& message) noexcept {
  try {
    // A named logger if the host program registered one; never install sinks ourselves.
    auto logger = spdlog::get("approxtune");
    if (!logger) logger = spdlog::default_logger();
    logger->error("{}:{}: {}: {}", file, line, expr, message);
  } catch (...) {  // logging must not throw out of a destructor
  }
}

}  // namespace approxtune::kernels::detail
