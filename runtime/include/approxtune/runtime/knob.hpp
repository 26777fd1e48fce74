/**
 * @file knob.hpp
 * @brief An approximation knob: a named choice an op can take, tagged with the devices it runs on.
 */
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

namespace approxtune {

/**
 * @brief One approximation knob (e.g. "row perforation, stride 2, offset 0").
 *
 * The name is the knob's identity: two knobs with the same name are the same knob.
 */
class knob {
 public:
  /**
   * @param name unique name
   * @param devices device kinds the knob exists on ("cpu", "gpu"); empty = every device
   * @param baseline_priority set for knobs that can be the baseline; highest priority wins
   */
  explicit knob(std::string name, std::vector<std::string> devices = {},
                std::optional<int> baseline_priority = std::nullopt);

  const std::string& name() const noexcept { return name_; }
  const std::vector<std::string>& devices() const noexcept { return devices_; }
  const std::optional<int>& baseline_priority() const noexcept { return baseline_priority_; }

  /** @brief True if the knob has no device tags or is tagged with @p device. */
  bool exists_on_device(const std::string& device) const;

  /**
   * @brief The unique-baseline rule: among knobs with a baseline priority the highest wins
   * (ties: the first one met); if none has one, a synthetic knob named "__baseline__".
   */
  static knob unique_baseline(std::span<const knob> knobs);

  friend bool operator==(const knob& a, const knob& b) { return a.name_ == b.name_; }

 private:
  std::string name_;
  std::vector<std::string> devices_;
  std::optional<int> baseline_priority_;
};

/** @brief Name of the synthetic baseline knob used when no knob claims to be the baseline. */
inline constexpr const char* synthetic_baseline_name = "__baseline__";

}  // namespace approxtune
