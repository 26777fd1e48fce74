// The apps the CLI can tune, and their command-line options.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "approxtune/runtime/app.hpp"

namespace approxtune::cli {

/** @brief Options of the apps the CLI knows (only those of the chosen app are used). */
struct app_args {
  std::string app = "synthetic";
  // synthetic
  std::size_t ops = 30, knobs = 10;
  std::optional<std::uint64_t> app_seed;
  double eval_latency_ms = 0.0;
  double interaction = 0.0;
  // dnn (--app dnn:<model>)
  std::string models_dir;                 ///< empty: the default models folder
  std::string data_dir;                   ///< empty: /usr/share/datasets/fashion-mnist
  std::size_t tune_images = 0;            ///< 0 = the whole 5,000-image tune split
  std::size_t test_images = 0;            ///< 0 = the whole 5,000-image test split
  std::size_t timing_images = 1000;
  int timing_repeats = 5;
  std::string timing = "paired";          ///< paired | plain
  std::string cost = "time";              ///< time | model
  std::string device = "cpu";
  int dnn_batch = 100;
  std::size_t prefix_cache_mb = 1024;     ///< exact activations kept for accuracy passes (0 = off)
  /// Consent to follow paths read from files (a model's weights path, a stored run's folders)
  /// outside their folder; given per invocation, never stored with a run.
  bool allow_outside_paths = false;
};

/** @brief Adds --app and every app's options to @p cmd. */
void add_app_options(CLI::App* cmd, app_args& args);

/** @brief True when the CLI was built with the dnn app. */
bool have_dnn_app() noexcept;

/**
 * @brief Creates the app named by @p args (e.g. "synthetic", "dnn:vgg").
 * @param seed the run's --seed (the synthetic app's default parameter seed)
 * @throws config_error for an unknown app or bad options, naming the available apps
 */
std::unique_ptr<app> make_app(const app_args& args, std::uint64_t seed);

}  // namespace approxtune::cli
