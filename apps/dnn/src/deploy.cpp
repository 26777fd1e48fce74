#include "approxtune/dnn/deploy.hpp"

#include <algorithm>

#include "approxtune/knobs/catalogue.hpp"
#include "approxtune/knobs/mapping.hpp"
#include "approxtune/runtime/error.hpp"
#include "approxtune/runtime/outputs.hpp"

namespace approxtune::dnn {

tuned_configs tuned_configs::load(const std::filesystem::path& file, qos_source src) {
  const tuning_report r = read_configs_json(file);
  const bool test = src == qos_source::test_if_available && r.baseline_test_qos.has_value();
  return tuned_configs(r.best, test ? *r.baseline_test_qos : r.baseline_tune_qos,
                       test ? qos_source::test_if_available : qos_source::tune);
}

tuned_configs::tuned_configs(std::vector<config> configs, double baseline_qos, qos_source src)
    : baseline_qos_(baseline_qos), src_(src) {
  config base;
  base.qos = baseline_qos;
  base.test_qos = baseline_qos;
  base.cost = 1.0;
  configs.push_back(base);
  // Sort by speedup descending, then QoS descending; keep configs that beat every faster one's QoS.
  std::stable_sort(configs.begin(), configs.end(), [&](const config& a, const config& b) {
    if (a.speedup() != b.speedup()) return a.speedup() > b.speedup();
    return qos_of(a) > qos_of(b);
  });
  double best_q = -1e300;
  for (const auto& c : configs) {
    if (qos_of(c) > best_q) {
      front_.push_back(c);
      best_q = qos_of(c);
    }
  }
  std::reverse(front_.begin(), front_.end());
}

double tuned_configs::qos_of(const config& c) const {
  if (src_ == qos_source::test_if_available && c.test_qos) return *c.test_qos;
  return c.qos;
}

const config& tuned_configs::pick_by_qos_loss(double budget) const {
  const config* best = &front_.front();
  for (const auto& c : front_)
    if (baseline_qos_ - qos_of(c) <= budget + 1e-12 && c.speedup() > best->speedup()) best = &c;
  return *best;
}

const config& tuned_configs::pick_by_speedup(double target) const {
  for (const auto& c : front_)
    if (c.speedup() >= target) return c;
  return front_.back();
}

tuned_configs::bracket tuned_configs::bracket_speedup(double target) const {
  bracket b;
  if (target <= front_.front().speedup()) {
    b.lo = b.hi = &front_.front();
    b.p_hi = 1.0;
    return b;
  }
  if (target >= front_.back().speedup()) {
    b.lo = b.hi = &front_.back();
    b.p_hi = 1.0;
    return b;
  }
  for (std::size_t i = 0; i + 1 < front_.size(); ++i) {
    const double s0 = front_[i].speedup(), s1 = front_[i + 1].speedup();
    if (s0 <= target && target <= s1) {
      b.lo = &front_[i];
      b.hi = &front_[i + 1];
      b.p_hi = s1 > s0 ? (target - s0) / (s1 - s0) : 1.0;
      return b;
    }
  }
  b.lo = b.hi = &front_.back();
  b.p_hi = 1.0;
  return b;
}

const config& tuned_configs::pick_by_speedup_random(double target, std::mt19937_64& rng) const {
  const bracket b = bracket_speedup(target);
  const double u = static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0);  // [0, 1)
  return u < b.p_hi ? *b.hi : *b.lo;
}

void apply_config(network& net, const knob_map& knobs, const std::string& device) {
  namespace kn = approxtune::knobs;
  const kn::device_kind dev = kn::device_kind_from_string(device);
  const auto& cat = kn::knob_catalogue::reference();
  const auto& layers = net.net_model().layers();
  std::vector<layer_variant> next(layers.size());
  for (std::size_t i = 0; i < layers.size(); ++i) next[i] = net.variant(i);
  for (std::size_t i = 0; i < layers.size(); ++i)
    if (layers[i].tunable()) next[i] = layer_variant{};
  for (const auto& [op, kname] : knobs) {
    auto it = std::find_if(layers.begin(), layers.end(), [&name = op](const layer& l) { return l.name == name; });
    if (it == layers.end() || !it->tunable())
      throw config_error("configuration names op '" + op + "', which is not a conv or dense layer of model '" +
                         net.net_model().name() + "'");
    const kn::knob_info* k = cat.find(std::string_view(kname));
    if (!k) throw config_error("configuration gives op '" + op + "' the unknown knob '" + kname + "'");
    layer_variant v;
    try {
      if (it->type == layer_type::conv) v.conv = kn::conv_variant_for(*k, dev);
      else v.dense = kn::dense_variant_for(*k, dev);
    } catch (const std::exception& e) {
      throw config_error("configuration gives op '" + op + "' knob '" + kname + "': " + e.what());
    }
    next[static_cast<std::size_t>(it - layers.begin())] = v;
  }
  for (std::size_t i = 0; i < layers.size(); ++i) net.set_variant(i, next[i]);
}

}  // namespace approxtune::dnn
