// The options of `approxtune tune` and their JSON form, which a run stores in its results store
// (runs.options) and which --resume, `export --format hpvm` and the MPI workers read back.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "app_factory.hpp"
#include "distributed.hpp"

namespace approxtune::cli {

/** @brief The `tune` command's options. */
struct tune_cli {
  cli::app_args app;
  std::size_t iterations = 1000;
  std::optional<double> qos_loss, qos_min, keep_loss, keep_min;
  std::optional<std::size_t> take_best;
  bool no_test = false;
  std::string strategy = "auto";
  std::string strategy_params;  // JSON object passed to the strategy
  std::uint64_t seed = 0;
  std::size_t batch = 0;
  std::string devices;
  std::optional<double> eval_timeout;
  std::string out;
  bool overwrite = false;
  bool resume = false;
  bool new_run = false;
  bool no_cache = false;
  cli::mpi_args mpi;
};

/** @brief The options a run is started with, as stored in its `runs.options`. */
nlohmann::json tune_args_json(const tune_cli& c);

/**
 * @brief Reads options stored by tune_args_json into @p c (fields absent from @p j keep their
 * value). Throws store_error naming the field on anything malformed: the JSON comes from a file.
 */
void tune_args_from_json(const nlohmann::json& j, tune_cli& c);

}  // namespace approxtune::cli
