/**
 * @file error.hpp
 * @brief Errors of the DNN app: datasets and model files.
 */
#pragma once

#include "approxtune/runtime/error.hpp"

namespace approxtune::dnn {

/** @brief A dataset file is missing, truncated or corrupt (the message names the file and the fault). */
class dataset_error : public config_error {
 public:
  using config_error::config_error;
};

/** @brief A model's architecture or weights file is missing or malformed (message names the file). */
class model_error : public config_error {
 public:
  using config_error::config_error;
};

}  // namespace approxtune::dnn
