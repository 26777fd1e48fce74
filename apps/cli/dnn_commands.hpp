// The dnn subcommands of the CLI: `models` (list the models) and `dnn-report` (re-measure a
// tuned configs.json on the test split with paired timing: the numbers behind the README).
#pragma once

#include <functional>
#include <optional>

#include <CLI/CLI.hpp>

namespace approxtune::cli {

/**
 * @brief Adds the `models` and `dnn-report` subcommands to @p cli (without the dnn app they say
 * so when run).
 * @return call it after parsing (and after the logger is set): the exit code if one of these
 *         subcommands ran, nullopt otherwise. It may throw; main reports the error.
 */
std::function<std::optional<int>()> add_dnn_commands(CLI::App& cli);

}  // namespace approxtune::cli
