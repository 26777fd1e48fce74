#include "approxtune/runtime/knob.hpp"

#include <algorithm>

namespace approxtune {

knob::knob(std::string name, std::vector<std::string> devices, std::optional<int> baseline_priority)
    : name_(std::move(name)),
      devices_(std::move(devices)),
      baseline_priority_(baseline_priority) {}

bool knob::exists_on_device(const std::string& device) const {
  return devices_.empty() || std::find(devices_.begin(), devices_.end(), device) != devices_.end();
}

knob knob::unique_baseline(std::span<const knob> knobs) {
  const knob* best = nullptr;
  for (const auto& k : knobs) {
    if (!k.baseline_priority()) continue;
    // Strictly greater: on a tie the first knob met wins, so the choice is deterministic.
    if (best == nullptr || *k.baseline_priority() > *best->baseline_priority()) best = &k;
  }
  return best != nullptr ? *best : knob(synthetic_baseline_name);
}

}  // namespace approxtune
