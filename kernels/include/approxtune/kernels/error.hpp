/**
 * @file error.hpp
 * @brief Exceptions thrown by the kernels: bad shapes or variants, and CUDA failures.
 */
#pragma once

#include <stdexcept>
#include <string>

namespace approxtune::kernels {

/**
 * @brief An op was called with shapes, parameters or a variant it cannot handle.
 *
 * The message names the op and the shapes involved, e.g.
 * `conv2d: input [8,3,28,28] has 3 channels but weights [32,4,3,3] expect 4`.
 * Derives from std::invalid_argument so callers that only know the standard types can catch it.
 */
class shape_error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/** @brief A CUDA runtime or cuBLAS call failed (the message has file:line and the CUDA error). */
class cuda_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace approxtune::kernels
