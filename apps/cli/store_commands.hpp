// The CLI's store commands: `approxtune show DIR` (live view of a run) and
// `approxtune export DIR --format json|csv|hpvm`, plus the JSON form of the app options that a
// run stores so export and --resume can rebuild its app.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "app_factory.hpp"
#include "approxtune/runtime/error.hpp"

namespace approxtune::cli {

/**
 * @brief Reads `j[key]` into @p out when present (a stored run option; @p what names the group,
 * e.g. "app option"). Integers must be JSON integers in @p out's range: nlohmann's get<> would
 * cast 1e20 (undefined behaviour) and wrap -1 silently.
 * @throws store_error naming the option and the stored value
 */
template <class T>
void stored_field(const nlohmann::json& j, const char* key, T& out, const char* what) {
  if (!j.contains(key)) return;
  const nlohmann::json& v = j.at(key);
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    const bool ok = v.is_number_unsigned()  ? std::in_range<T>(v.get<std::uint64_t>())
                    : v.is_number_integer() ? std::in_range<T>(v.get<std::int64_t>())
                                            : false;
    if (!ok)
      throw store_error(std::string("the ") + what + " '" + key +
                        "' stored with the run is not an integer in range (" + v.dump() + ")");
  }
  try {
    out = v.get<T>();
  } catch (const nlohmann::json::exception&) {
    throw store_error(std::string("the ") + what + " '" + key +
                      "' stored with the run has the wrong type (" + v.dump() + ")");
  }
}

/** @brief The app options as stored in a run's `options.app`. */
nlohmann::json app_args_to_json(const app_args& a);
/** @brief Inverse of `app_args_to_json`; missing fields keep their defaults. */
app_args app_args_from_json(const nlohmann::json& j);
/**
 * @brief The app options of a run's stored options (`options["app"]`), as export rebuilds the app.
 * @throws store_error naming the field when the stored options are malformed
 */
app_args stored_app_args(const nlohmann::json& options);

/** @brief Options of `approxtune show`. */
struct show_args {
  std::string dir;
  std::optional<std::int64_t> run;  ///< default: the latest run
  bool json = false;
  double watch_s = 0.0;         ///< > 0: refresh every watch_s seconds until the run ends
  std::size_t front_rows = 20;  ///< front rows printed (the count is always given)
};

/** @brief Options of `approxtune export`. */
struct export_args {
  std::string dir;
  std::string format = "json";      ///< json, csv or hpvm
  std::string what;                 ///< all or front (default: all for json/csv, front for hpvm)
  std::optional<std::int64_t> run;  ///< default: the latest run
  std::string output;               ///< file; empty or "-" = stdout
  bool allow_outside_paths = false;  ///< hpvm: rebuild a dnn app from the stored folders
};

/** @brief Adds the `show` subcommand. */
CLI::App* add_show_command(CLI::App& cli, show_args& args);
/** @brief Adds the `export` subcommand. */
CLI::App* add_export_command(CLI::App& cli, export_args& args);

/** @brief Runs `show`; returns the exit code. @throws store_error, config_error */
int run_show(const show_args& args);
/** @brief Runs `export`; returns the exit code. @throws store_error, config_error */
int run_export(const export_args& args);

}  // namespace approxtune::cli
