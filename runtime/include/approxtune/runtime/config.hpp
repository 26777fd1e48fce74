/**
 * @file config.hpp
 * @brief Configurations: the compact encoding used inside the tuner and the named form at the edges.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace approxtune {

/** @brief Index of a knob within one op's knob list. */
using knob_index = std::uint16_t;

/**
 * @brief A configuration as the tuner sees it: one knob index per op, in the app's op order.
 * Names appear only at the edges (JSON, HPVM text, logs); this is what keeps the tuner's
 * per-evaluation overhead in microseconds.
 */
using config_code = std::vector<knob_index>;

/** @brief op name -> knob name, sorted by op name (the user-facing form). */
using knob_map = std::map<std::string, std::string>;

/** @brief 64-bit hash of an encoded configuration (stable across runs and platforms). */
std::uint64_t hash_config(std::span<const knob_index> code) noexcept;

/** @brief Which data split a measurement uses. */
enum class split : std::uint8_t { tune = 0, test = 1 };

/** @brief "tune" or "test". */
const char* to_string(split s) noexcept;

/** @brief What an app returns for one configuration: QoS (higher-better), cost (lower-better). */
struct measurement {
  double qos = 0.0;
  double cost = 0.0;
};

/**
 * @brief A measured configuration in named form, as written to configs.json.
 *
 * `cost` is relative to the baseline's cost, so `speedup() == 1 / cost`.
 */
struct config {
  knob_map knobs;
  double qos = 0.0;
  double cost = 1.0;
  std::optional<double> test_qos;

  double speedup() const noexcept { return 1.0 / cost; }
};

}  // namespace approxtune
