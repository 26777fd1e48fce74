/**
 * @file results_buffer.hpp
 * @brief Append-only structure-of-arrays of every evaluated configuration of a run.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "approxtune/runtime/config.hpp"
#include "approxtune/runtime/row_index.hpp"

namespace approxtune {

/**
 * @brief Outcome of one evaluation. `skipped` = never run (a stop request, or no live slot
 * left): not a result, never committed or observed.
 */
enum class eval_status : std::uint8_t { ok = 0, failed = 1, skipped = 2 };

/** @brief One evaluation as it flows from the engine to the tuner, strategy and store. */
struct evaluation {
  config_code code;
  std::uint64_t hash = 0;
  split on = split::tune;
  double qos = std::numeric_limits<double>::quiet_NaN();
  double cost = std::numeric_limits<double>::quiet_NaN();  ///< absolute (as measured)
  eval_status status = eval_status::ok;
  std::string reason;       ///< why it failed (empty when ok)
  std::string device;       ///< device id it ran on
  int slot = -1;            ///< global slot it ran on
  bool cached = false;      ///< served from the cache, not measured
  bool ok() const noexcept { return status == eval_status::ok; }
};

/**
 * @brief The single source of truth of a run's tune-split results.
 *
 * Rows are appended in commit order and never change, except `test_qos`, filled by the test
 * phase. Arrays are contiguous so Pareto selection (Thrust) and the store read them directly.
 * Relative cost is stored (cost / baseline cost), as the tuner reports it.
 */
class results_buffer {
 public:
  explicit results_buffer(std::size_t num_ops = 0) : num_ops_(num_ops) {}

  /** @brief Clears the buffer for a space of @p num_ops ops. */
  void reset(std::size_t num_ops);

  /** @brief Appends one row; returns its index. @p code must have num_ops entries. */
  std::size_t append(std::span<const knob_index> code, std::uint64_t hash, double qos,
                     double rel_cost, eval_status status, std::string reason = {});

  /** @brief Row of a configuration already in the buffer (by hash, verified by code). */
  std::optional<std::size_t> find(std::span<const knob_index> code, std::uint64_t hash) const;

  std::size_t size() const noexcept { return qos_.size(); }
  std::size_t num_ops() const noexcept { return num_ops_; }
  std::span<const knob_index> code(std::size_t row) const {
    return {codes_.data() + row * num_ops_, num_ops_};
  }
  std::uint64_t hash(std::size_t row) const { return hashes_[row]; }
  double qos(std::size_t row) const { return qos_[row]; }
  double cost(std::size_t row) const { return cost_[row]; }
  double speedup(std::size_t row) const { return 1.0 / cost_[row]; }
  eval_status status(std::size_t row) const { return status_[row]; }
  const std::string& reason(std::size_t row) const;
  std::optional<double> test_qos(std::size_t row) const;
  void set_test_qos(std::size_t row, double q) { test_qos_[row] = q; }

  std::span<const double> qos_array() const noexcept { return qos_; }
  std::span<const double> cost_array() const noexcept { return cost_; }
  std::span<const eval_status> status_array() const noexcept { return status_; }
  std::size_t failed_count() const noexcept { return failed_; }

 private:
  std::size_t num_ops_;
  std::vector<knob_index> codes_;
  std::vector<std::uint64_t> hashes_;
  std::vector<double> qos_, cost_, test_qos_;
  std::vector<eval_status> status_;
  std::unordered_map<std::size_t, std::string> reasons_;  // failures are rare: sparse
  row_index index_;  // first row of each code
  std::size_t failed_ = 0;
};

}  // namespace approxtune
