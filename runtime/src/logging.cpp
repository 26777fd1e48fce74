#include "approxtune/runtime/logging.hpp"

#include <mutex>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

namespace approxtune {

namespace {
std::mutex logger_mutex;
std::shared_ptr<spdlog::logger> the_logger;
}  // namespace

std::shared_ptr<spdlog::logger> logger() {
  std::lock_guard lk(logger_mutex);
  if (the_logger) return the_logger;
  if (auto l = spdlog::get("approxtune")) return l;
  // Not registered: a null logger keeps the host program's log configuration untouched.
  static auto null_logger =
      std::make_shared<spdlog::logger>("approxtune", std::make_shared<spdlog::sinks::null_sink_mt>());
  return null_logger;
}

void set_logger(std::shared_ptr<spdlog::logger> l) {
  std::lock_guard lk(logger_mutex);
  the_logger = std::move(l);
}

}  // namespace approxtune
