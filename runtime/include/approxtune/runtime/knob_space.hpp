/**
 * @file knob_space.hpp
 * @brief The tuning space of an app: ops in a fixed order, the knobs each op can take, the baseline.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "approxtune/runtime/config.hpp"
#include "approxtune/runtime/knob.hpp"

namespace approxtune {

/** @brief An op and the knobs it can take, as an app declares it. */
struct op_knobs {
  std::string op;
  std::vector<knob> knobs;
};

/**
 * @brief Ops, knobs per op and the baseline, after device filtering and baseline insertion.
 *
 * Built from the app's declaration the way ApproxTuner does it: knobs that do not exist on the
 * target device are dropped, the unique baseline is chosen among the remaining knobs, and it is
 * appended to every op that lacks it. Op order is the declaration order.
 */
class knob_space {
 public:
  /**
   * @param ops the declared ops and knobs; op names must be unique and non-empty, knob names
   *            unique within an op
   * @param target_device when set, knobs that do not exist on it are dropped
   * @throws config_error on an empty op list, duplicate or empty names
   */
  explicit knob_space(std::vector<op_knobs> ops, std::optional<std::string> target_device = {});

  std::size_t num_ops() const noexcept { return ops_.size(); }
  const std::string& op_name(std::size_t op) const { return ops_.at(op).op; }
  std::size_t num_knobs(std::size_t op) const { return ops_.at(op).knobs.size(); }
  const knob& knob_at(std::size_t op, std::size_t k) const { return ops_.at(op).knobs.at(k); }
  const std::vector<knob>& knobs_of(std::size_t op) const { return ops_.at(op).knobs; }
  const std::vector<op_knobs>& ops() const noexcept { return ops_; }
  const std::optional<std::string>& target_device() const noexcept { return target_device_; }

  /** @brief The app's unique baseline knob. */
  const knob& baseline() const noexcept { return baseline_; }
  /** @brief Index of the baseline knob in op @p op's list. */
  knob_index baseline_index(std::size_t op) const { return baseline_index_.at(op); }
  /** @brief The all-baseline configuration. */
  const config_code& baseline_code() const noexcept { return baseline_code_; }
  /** @brief All unique knobs of the space, in first-seen order. */
  std::vector<knob> unique_knobs() const;

  /** @brief Index of an op by name. */
  std::optional<std::size_t> find_op(std::string_view name) const;
  /** @brief Index of a knob by name within op @p op. */
  std::optional<knob_index> find_knob(std::size_t op, std::string_view name) const;

  /**
   * @brief Encodes a possibly abbreviated named configuration; ops not mentioned get the
   * baseline (so `{}` is the baseline config).
   * @throws config_error naming the op or knob when a name is unknown
   */
  config_code encode(const knob_map& knobs) const;
  /** @brief The full named form of @p code (every op present). */
  knob_map decode(std::span<const knob_index> code) const;
  /** @brief Fills ops missing from @p knobs with the baseline knob (ApproxTuner's helper). */
  knob_map add_baseline_to_knobs(const knob_map& knobs) const;
  /** @brief Checks that @p code has one valid index per op. */
  bool valid(std::span<const knob_index> code) const noexcept;

  /** @brief log10 of the number of configurations. */
  double log10_size() const noexcept;
  /** @brief A hash of the ops and knob names, in order; identifies the space in stores. */
  std::uint64_t fingerprint() const noexcept;

 private:
  std::vector<op_knobs> ops_;
  std::optional<std::string> target_device_;
  knob baseline_{synthetic_baseline_name};
  std::vector<knob_index> baseline_index_;
  config_code baseline_code_;
  std::unordered_map<std::string, std::size_t> op_index_;
};

}  // namespace approxtune
