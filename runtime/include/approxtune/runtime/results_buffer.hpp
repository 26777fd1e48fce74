/**
 * @file results_buffer.hpp
 * @brief Every evaluated configuration of a run, in commit order, in bounded memory.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "approxtune/runtime/config.hpp"
#include "approxtune/runtime/record_spill.hpp"
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

/** @brief One row of a results_buffer, copied out. */
struct result_row {
  config_code code;
  double qos = std::numeric_limits<double>::quiet_NaN();
  double cost = std::numeric_limits<double>::quiet_NaN();  ///< relative
  eval_status status = eval_status::ok;
  double speedup() const noexcept { return 1.0 / cost; }
};

/** @brief One row as `results_buffer::scan` shows it (valid during the visit only). */
struct result_view {
  std::span<const knob_index> code;
  double qos;
  double cost;  ///< relative
  eval_status status;
};

/**
 * @brief The single source of truth of a run's tune-split results.
 *
 * Rows are appended in commit order and never change, except their test-split QoS (filled by
 * the test phase) and the `proposed` mark. Relative cost is stored (cost / baseline cost), as the
 * tuner reports it.
 *
 * Memory does not grow with the rows' contents: a row (code, QoS, cost, status) goes to a
 * record_spill, whose newest 16,384 rows stay in memory and older ones in an anonymous
 * temporary file. What stays in memory per row is what a lookup needs: its 64-bit hash and
 * the index slot (14-17 bytes a row in all), and one bit (`proposed`). Reading a spilled row
 * costs a pread; `scan` reads them all in blocks.
 */
class results_buffer {
 public:
  explicit results_buffer(std::size_t num_ops = 0);

  /** @brief Clears the buffer for a space of @p num_ops ops. */
  void reset(std::size_t num_ops);

  /**
   * @brief Appends one row; returns its index. @p code must have num_ops entries.
   * @throws error when the spill file cannot be written (the rows before stay readable)
   */
  std::size_t append(std::span<const knob_index> code, std::uint64_t hash, double qos,
                     double rel_cost, eval_status status, std::string reason = {});

  /** @brief Row of a configuration already in the buffer (by hash, verified by code). */
  std::optional<std::size_t> find(std::span<const knob_index> code, std::uint64_t hash) const;

  std::size_t size() const noexcept { return size_; }
  std::size_t num_ops() const noexcept { return num_ops_; }
  /** @brief A copy of row @p row (a pread when it was spilled). */
  result_row row(std::size_t row) const;
  config_code code(std::size_t row) const { return this->row(row).code; }
  double qos(std::size_t row) const { return this->row(row).qos; }
  double cost(std::size_t row) const { return this->row(row).cost; }
  double speedup(std::size_t row) const { return 1.0 / cost(row); }
  eval_status status(std::size_t row) const { return this->row(row).status; }
  std::uint64_t hash(std::size_t row) const { return hashes_[row >> hash_chunk_bits][row & hash_chunk_mask]; }
  const std::string& reason(std::size_t row) const;
  std::optional<double> test_qos(std::size_t row) const;
  void set_test_qos(std::size_t row, double q) { test_qos_[row] = q; }

  /** @brief Visits every row in order (`visit(row, view)`), reading spilled rows in blocks. */
  void scan(const std::function<void(std::size_t, const result_view&)>& visit) const;

  /**
   * @brief Marks a row as proposed by the search strategy (the baseline row is not, until the
   * strategy proposes it). With `proposed_row`, this is the strategy's never-repeat set, kept
   * once for both (see search::proposal_history).
   */
  void mark_proposed(std::size_t row);
  bool proposed(std::size_t row) const { return proposed_[row]; }
  /**
   * @brief True when the indexed row of a code with hash @p hash (the first row of that code,
   * the one `find` returns and the tuner marks) is proposed. No code comparison: no disk read.
   */
  bool proposed_hash(std::uint64_t hash) const;
  std::size_t proposed_count() const noexcept { return proposed_count_; }

  std::size_t failed_count() const noexcept { return failed_; }

 private:
  static constexpr std::size_t hash_chunk_bits = 16;  // hashes in chunks: no 2x regrow peak
  static constexpr std::size_t hash_chunk_mask = (std::size_t{1} << hash_chunk_bits) - 1;

  // The record at @p rec, its code copied into @p code (num_ops entries).
  result_view decode(const std::byte* rec, knob_index* code) const;
  bool code_equals(std::size_t row, std::span<const knob_index> code) const;

  std::size_t num_ops_;
  std::size_t record_bytes_;
  std::size_t size_ = 0;
  record_spill rows_;
  std::vector<std::unique_ptr<std::uint64_t[]>> hashes_;
  std::vector<bool> proposed_;
  std::size_t proposed_count_ = 0;
  std::unordered_map<std::size_t, double> test_qos_;      // the test phase's few rows: sparse
  std::unordered_map<std::size_t, std::string> reasons_;  // failures are rare: sparse
  row_index index_;  // first row of each code
  std::size_t failed_ = 0;
};

}  // namespace approxtune
