#include "approxtune/runtime/knob_space.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_set>

#include "approxtune/runtime/error.hpp"

namespace approxtune {

knob_space::knob_space(std::vector<op_knobs> ops, std::optional<std::string> target_device)
    : ops_(std::move(ops)), target_device_(std::move(target_device)) {
  if (ops_.empty()) throw config_error("knob space: the app declares no ops");
  for (std::size_t i = 0; i < ops_.size(); ++i) {
    auto& o = ops_[i];
    if (o.op.empty()) throw config_error("knob space: op #" + std::to_string(i) + " has an empty name");
    if (!op_index_.emplace(o.op, i).second)
      throw config_error("knob space: duplicate op name '" + o.op + "'");
    std::unordered_set<std::string> seen;
    for (const auto& k : o.knobs) {
      if (k.name().empty()) throw config_error("knob space: op '" + o.op + "' has a knob with an empty name");
      if (!seen.insert(k.name()).second)
        throw config_error("knob space: op '" + o.op + "' lists knob '" + k.name() + "' twice");
    }
    if (target_device_) {
      std::erase_if(o.knobs, [&](const knob& k) { return !k.exists_on_device(*target_device_); });
    }
  }
  const auto all = unique_knobs();
  baseline_ = knob::unique_baseline(all);
  // Every op gets the baseline (appended when missing), so an op whose knobs were all filtered
  // out, or that declared none, still has exactly one choice.
  baseline_index_.reserve(ops_.size());
  for (auto& o : ops_) {
    auto it = std::find(o.knobs.begin(), o.knobs.end(), baseline_);
    if (it == o.knobs.end()) {
      o.knobs.push_back(baseline_);
      it = o.knobs.end() - 1;
    }
    if (o.knobs.size() > std::numeric_limits<knob_index>::max())
      throw config_error("knob space: op '" + o.op + "' has more than 65535 knobs");
    baseline_index_.push_back(static_cast<knob_index>(it - o.knobs.begin()));
  }
  baseline_code_ = baseline_index_;
}

std::vector<knob> knob_space::unique_knobs() const {
  std::vector<knob> out;
  std::unordered_set<std::string> seen;
  for (const auto& o : ops_)
    for (const auto& k : o.knobs)
      if (seen.insert(k.name()).second) out.push_back(k);
  return out;
}

std::optional<std::size_t> knob_space::find_op(std::string_view name) const {
  auto it = op_index_.find(std::string(name));
  if (it == op_index_.end()) return std::nullopt;
  return it->second;
}

std::optional<knob_index> knob_space::find_knob(std::size_t op, std::string_view name) const {
  const auto& ks = ops_.at(op).knobs;
  for (std::size_t k = 0; k < ks.size(); ++k)
    if (ks[k].name() == name) return static_cast<knob_index>(k);
  return std::nullopt;
}

config_code knob_space::encode(const knob_map& knobs) const {
  config_code code = baseline_code_;
  for (const auto& [op, kname] : knobs) {
    auto oi = find_op(op);
    if (!oi) throw config_error("config names unknown op '" + op + "'");
    auto ki = find_knob(*oi, kname);
    if (!ki) {
      std::string names;
      for (const auto& k : ops_[*oi].knobs) names += (names.empty() ? "" : ", ") + k.name();
      throw config_error("config gives op '" + op + "' knob '" + kname +
                         "', which it cannot take (its knobs: " + names + ")");
    }
    code[*oi] = *ki;
  }
  return code;
}

knob_map knob_space::decode(std::span<const knob_index> code) const {
  if (!valid(code)) throw config_error("decode: configuration does not fit the knob space");
  knob_map out;
  for (std::size_t i = 0; i < ops_.size(); ++i) out.emplace(ops_[i].op, ops_[i].knobs[code[i]].name());
  return out;
}

knob_map knob_space::add_baseline_to_knobs(const knob_map& knobs) const {
  knob_map out;
  for (const auto& o : ops_) {
    auto it = knobs.find(o.op);
    out.emplace(o.op, it != knobs.end() ? it->second : baseline_.name());
  }
  return out;
}

bool knob_space::valid(std::span<const knob_index> code) const noexcept {
  if (code.size() != ops_.size()) return false;
  for (std::size_t i = 0; i < code.size(); ++i)
    if (code[i] >= ops_[i].knobs.size()) return false;
  return true;
}

double knob_space::log10_size() const noexcept {
  double s = 0.0;
  for (const auto& o : ops_) s += std::log10(static_cast<double>(o.knobs.size()));
  return s;
}

std::uint64_t knob_space::fingerprint() const noexcept {
  // FNV-1a over "op\0knob\0knob\0\1op..." : order-sensitive, names only (device tags and
  // priorities do not change which configurations exist).
  std::uint64_t h = 1469598103934665603ULL;
  auto mix = [&h](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ULL;
    }
    h ^= 0;
    h *= 1099511628211ULL;
  };
  for (const auto& o : ops_) {
    mix(o.op);
    for (const auto& k : o.knobs) mix(k.name());
    h ^= 1;
    h *= 1099511628211ULL;
  }
  return h;
}

}  // namespace approxtune
