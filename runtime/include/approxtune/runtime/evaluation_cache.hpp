/**
 * @file evaluation_cache.hpp
 * @brief Where the tuner looks for results measured before (e.g. the results store), so a
 * configuration is measured at most once per split and a resumed run replays instead of
 * re-measuring.
 */
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "approxtune/runtime/config.hpp"
#include "approxtune/runtime/results_buffer.hpp"

namespace approxtune {

/** @brief A result found in a cache: as measured (absolute cost). */
struct cached_result {
  double qos = 0.0;
  double cost = 0.0;
  eval_status status = eval_status::ok;
  std::string reason;
};

/** @brief A source of earlier measurements of the same app, knob space and split. */
class evaluation_cache {
 public:
  virtual ~evaluation_cache() = default;
  /** @brief The earlier result of @p code on split @p s, if any. Called from the tuner thread. */
  virtual std::optional<cached_result> lookup(std::span<const knob_index> code, std::uint64_t hash,
                                              split s) = 0;
};

}  // namespace approxtune
