/**
 * @file logging.hpp
 * @brief approxtune's logger. The library never installs global sinks.
 */
#pragma once

#include <memory>

#include <spdlog/logger.h>

namespace approxtune {

/**
 * @brief The logger the library logs to: the one set by `set_logger`, else a logger named
 * "approxtune" from spdlog's registry if the host program registered one, else a null logger
 * (the library stays silent unless the host program asks for its logs).
 */
std::shared_ptr<spdlog::logger> logger();

/** @brief Sets the logger the library uses (null restores the default lookup). Thread-safe. */
void set_logger(std::shared_ptr<spdlog::logger> l);

}  // namespace approxtune
