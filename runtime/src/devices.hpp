// Private: CUDA device discovery behind a plain C++ boundary.
#pragma once

#include <vector>

#include "approxtune/runtime/engine.hpp"

namespace approxtune::detail {

/** @brief CUDA devices with their properties; empty without CUDA, a driver or a device. */
std::vector<device_info> discover_cuda_devices();

}  // namespace approxtune::detail
