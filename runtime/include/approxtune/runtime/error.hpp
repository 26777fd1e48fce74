/**
 * @file error.hpp
 * @brief The exception types thrown at approxtune's API boundary.
 */
#pragma once

#include <stdexcept>
#include <string>

namespace approxtune {

/** @brief Base of every exception approxtune throws on purpose. */
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/** @brief A configuration, option, knob or file contents is invalid. */
class config_error : public error {
 public:
  using error::error;
};

/** @brief The results store cannot be opened, read or written. */
class store_error : public error {
 public:
  using error::error;
};

/** @brief A CUDA runtime or library call failed. */
class cuda_error : public error {
 public:
  using error::error;
};

/** @brief A measurement failed (threw, returned NaN/inf, timed out). */
class measure_error : public error {
 public:
  using error::error;
};

}  // namespace approxtune
