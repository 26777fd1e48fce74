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
};

/** @brief Adds --app and every app's options to @p cmd. */
void add_app_options(CLI::App* cmd, app_args& args);

/**
 * @brief Creates the app named by @p args (e.g. "synthetic").
 * @param seed the run's --seed (the synthetic app's default parameter seed)
 * @throws config_error for an unknown app or bad options, naming the available apps
 */
std::unique_ptr<app> make_app(const app_args& args, std::uint64_t seed);

}  // namespace approxtune::cli
