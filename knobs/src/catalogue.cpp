#include "approxtune/knobs/catalogue.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <limits>
#include <type_traits>
#include <utility>

#include <nlohmann/json.hpp>

namespace approxtune::knobs {
namespace {

constexpr std::array<std::pair<op_kind, std::string_view>, 10> op_names{{
    {op_kind::conv, "conv"},
    {op_kind::dense, "dense"},
    {op_kind::add, "add"},
    {op_kind::bias_add, "bias_add"},
    {op_kind::relu, "relu"},
    {op_kind::tanh, "tanh"},
    {op_kind::pool_max, "pool_max"},
    {op_kind::pool_mean, "pool_mean"},
    {op_kind::batchnorm, "batchnorm"},
    {op_kind::softmax, "softmax"},
}};

[[noreturn]] void bad_field(const std::string& where, const std::string& what) {
  throw catalogue_format_error("knob catalogue: " + where + ": " + what);
}

template <class T>
T get_field(const nlohmann::json& j, const char* field, const std::string& where) {
  if (!j.contains(field)) bad_field(where, std::string("missing field \"") + field + "\"");
  if constexpr (std::is_same_v<T, int>) {
    // nlohmann converts a number to int with a plain cast: undefined for 1e20, a silent wrap for
    // 2^32 + 1. Only integral values in int's range are accepted (found by fuzzing, issue 9).
    const nlohmann::json& v = j.at(field);
    const double d = v.is_number() ? v.get<double>() : 0.0;
    if (!v.is_number() || std::trunc(d) != d || d < std::numeric_limits<int>::min() ||
        d > std::numeric_limits<int>::max())
      bad_field(where, std::string("field \"") + field + "\" must be an integer in int's range, got " +
                           v.dump());
    return static_cast<int>(d);
  }
  try {
    return j.at(field).get<T>();
  } catch (const nlohmann::json::exception& e) {
    bad_field(where, std::string("field \"") + field + "\" has the wrong type (" + e.what() + ")");
  }
}

}  // namespace

std::string_view to_string(op_kind k) noexcept {
  for (const auto& [kind, name] : op_names) {
    if (kind == k) return name;
  }
  return "?";
}

op_kind op_kind_from_string(std::string_view s) {
  if (s == "mul") return op_kind::dense;  // HPVM's name for a dense layer's GEMM
  for (const auto& [kind, name] : op_names) {
    if (name == s) return kind;
  }
  throw knob_error("unknown op kind \"" + std::string(s) +
                   "\" (expected conv, dense, add, bias_add, relu, tanh, pool_max, pool_mean, "
                   "batchnorm or softmax)");
}

std::string_view to_string(device_kind d) noexcept { return d == device_kind::cpu ? "cpu" : "gpu"; }

device_kind device_kind_from_string(std::string_view s) {
  if (s == "cpu") return device_kind::cpu;
  if (s == "gpu") return device_kind::gpu;
  throw knob_error("unknown device kind \"" + std::string(s) + "\" (expected cpu or gpu)");
}

std::string_view to_string(knob_kind k) noexcept {
  switch (k) {
    case knob_kind::baseline:
      return "baseline";
    case knob_kind::perforation:
      return "perforation";
    case knob_kind::filter_sampling:
      return "filter_sampling";
    case knob_kind::reduction_sampling:
      return "reduction_sampling";
  }
  return "?";
}

knob_kind knob_kind_from_string(std::string_view s) {
  for (knob_kind k : {knob_kind::baseline, knob_kind::perforation, knob_kind::filter_sampling,
                      knob_kind::reduction_sampling}) {
    if (to_string(k) == s) return k;
  }
  throw knob_error("unknown knob kind \"" + std::string(s) +
                   "\" (expected baseline, perforation, filter_sampling or reduction_sampling)");
}

std::string_view to_string(knob_precision p) noexcept {
  return p == knob_precision::fp32 ? "fp32" : "fp16";
}

knob_precision knob_precision_from_string(std::string_view s) {
  if (s == "fp32") return knob_precision::fp32;
  if (s == "fp16") return knob_precision::fp16;
  throw knob_error("unknown precision \"" + std::string(s) + "\" (expected fp32 or fp16)");
}

std::string hpvm_approx_name(const knob_info& knob) {
  const std::string p(to_string(knob.precision));
  switch (knob.kind) {
    case knob_kind::baseline:
      return p;
    case knob_kind::perforation:
      return "perf_" + p;
    case knob_kind::filter_sampling:
      return "samp_" + p;
    case knob_kind::reduction_sampling:
      return "red_samp_" + p;
  }
  return p;
}

// ---- knob_info ----------------------------------------------------------------------------------

bool knob_info::exists_on(device_kind device) const {
  const std::string_view tag = to_string(device);
  return std::find(devices.begin(), devices.end(), tag) != devices.end();
}

bool knob_info::applies_to(op_kind op) const {
  return std::find(ops.begin(), ops.end(), op) != ops.end();
}

void knob_info::check_applies(op_kind op, device_kind device) const {
  if (!applies_to(op)) {
    std::string fits;
    for (op_kind o : ops) fits += (fits.empty() ? "" : ", ") + std::string(to_string(o));
    throw knob_mismatch_error("knob " + name + " (" + label + ") does not apply to op kind \"" +
                              std::string(to_string(op)) + "\"; it applies to: " + fits);
  }
  if (!exists_on(device)) {
    std::string tags;
    for (const auto& d : devices) tags += (tags.empty() ? "" : ", ") + d;
    throw knob_mismatch_error("knob " + name + " (" + label + ") does not exist on device \"" +
                              std::string(to_string(device)) + "\" (op kind \"" +
                              std::string(to_string(op)) + "\"); it exists on: " + tags);
  }
}

nlohmann::json knob_info::to_json() const {
  nlohmann::json params = nlohmann::json::object();
  switch (kind) {
    case knob_kind::baseline:
      break;
    case knob_kind::perforation:
      params = {
          {"direction", perforate_rows ? "row" : "col"}, {"stride", stride}, {"offset", offset}};
      break;
    case knob_kind::filter_sampling:
      params = {{"skip", skip}, {"offset", offset}};
      break;
    case knob_kind::reduction_sampling:
      params = {{"skip_num", skip_num}, {"skip_den", skip_den}};
      break;
  }
  nlohmann::json op_list = nlohmann::json::array();
  for (op_kind o : ops) op_list.push_back(std::string(to_string(o)));
  return {{"id", id},
          {"name", name},
          {"label", label},
          {"kind", std::string(to_string(kind))},
          {"precision", std::string(to_string(precision))},
          {"params", params},
          {"devices", devices},
          {"ops", op_list},
          {"speedup", nominal_speedup},
          {"baseline_priority",
           baseline_priority ? nlohmann::json(*baseline_priority) : nlohmann::json(nullptr)}};
}

knob_info knob_info::from_json(const nlohmann::json& j) {
  if (!j.is_object()) bad_field("knob entry", "expected an object, got " + j.dump());
  knob_info k;
  k.id = get_field<int>(j, "id", "knob entry " + j.dump());
  const std::string where = "knob " + std::to_string(k.id);
  k.name = j.contains("name") ? get_field<std::string>(j, "name", where) : std::to_string(k.id);
  k.label = j.contains("label") ? get_field<std::string>(j, "label", where) : k.name;
  try {
    k.kind = knob_kind_from_string(get_field<std::string>(j, "kind", where));
    k.precision = j.contains("precision")
                      ? knob_precision_from_string(get_field<std::string>(j, "precision", where))
                      : knob_precision::fp32;
    const nlohmann::json params = j.contains("params") ? j.at("params") : nlohmann::json::object();
    const std::string pwhere = where + " params";
    switch (k.kind) {
      case knob_kind::baseline:
        break;
      case knob_kind::perforation: {
        const auto dir = get_field<std::string>(params, "direction", pwhere);
        if (dir != "row" && dir != "col") bad_field(pwhere, "direction must be \"row\" or \"col\"");
        k.perforate_rows = dir == "row";
        k.stride = get_field<int>(params, "stride", pwhere);
        k.offset = get_field<int>(params, "offset", pwhere);
        break;
      }
      case knob_kind::filter_sampling:
        k.skip = get_field<int>(params, "skip", pwhere);
        k.offset = get_field<int>(params, "offset", pwhere);
        break;
      case knob_kind::reduction_sampling:
        k.skip_num = get_field<int>(params, "skip_num", pwhere);
        k.skip_den = get_field<int>(params, "skip_den", pwhere);
        break;
    }
    k.devices = get_field<std::vector<std::string>>(j, "devices", where);
    for (const auto& d : k.devices) (void)device_kind_from_string(d);
    for (const auto& o : get_field<std::vector<std::string>>(j, "ops", where)) {
      k.ops.push_back(op_kind_from_string(o));
    }
  } catch (const catalogue_format_error&) {
    throw;
  } catch (const knob_error& e) {
    bad_field(where, e.what());
  }
  k.nominal_speedup = j.contains("speedup") ? get_field<double>(j, "speedup", where) : 1.0;
  if (j.contains("baseline_priority") && !j.at("baseline_priority").is_null()) {
    k.baseline_priority = get_field<int>(j, "baseline_priority", where);
  }
  return k;
}

// ---- knob_catalogue
// -------------------------------------------------------------------------------

knob_catalogue::knob_catalogue(std::vector<knob_info> knobs) {
  for (auto& k : knobs) add(std::move(k));
}

void knob_catalogue::add(knob_info knob) {
  const std::string who = "knob " + std::to_string(knob.id) + " (\"" + knob.name + "\")";
  if (knob.name.empty()) throw knob_error(who + ": empty name");
  if (by_id_.count(knob.id) != 0)
    throw knob_error(who + ": duplicate knob ID " + std::to_string(knob.id));
  if (by_name_.count(knob.name) != 0)
    throw knob_error(who + ": duplicate knob name \"" + knob.name + "\"");
  if (knob.devices.empty()) throw knob_error(who + ": no device tag (expected cpu and/or gpu)");
  if (knob.ops.empty()) throw knob_error(who + ": applies to no op kind");
  if (!(knob.nominal_speedup > 0.0) || !std::isfinite(knob.nominal_speedup))
    throw knob_error(who + ": speedup must be a finite number > 0");
  switch (knob.kind) {
    case knob_kind::perforation:
      if (knob.stride < 2 || knob.offset < 0 || knob.offset >= knob.stride) {
        throw knob_error(who + ": perforation needs stride >= 2 and 0 <= offset < stride");
      }
      break;
    case knob_kind::filter_sampling:
      if (knob.skip < 2 || knob.offset < 0 || knob.offset >= knob.skip) {
        throw knob_error(who + ": filter sampling needs skip >= 2 and 0 <= offset < skip");
      }
      break;
    case knob_kind::reduction_sampling:
      if (knob.skip_den <= 0 || knob.skip_num <= 0 || knob.skip_num >= knob.skip_den) {
        throw knob_error(who + ": reduction sampling needs 0 < skip_num < skip_den");
      }
      break;
    case knob_kind::baseline:
      break;
  }
  by_id_.emplace(knob.id, knobs_.size());
  by_name_.emplace(knob.name, knobs_.size());
  knobs_.push_back(std::move(knob));
}

const knob_info* knob_catalogue::find(int id) const noexcept {
  const auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &knobs_[it->second];
}

const knob_info* knob_catalogue::find(std::string_view name) const noexcept {
  const auto it = by_name_.find(std::string(name));
  return it == by_name_.end() ? nullptr : &knobs_[it->second];
}

const knob_info& knob_catalogue::at(int id) const {
  if (const knob_info* k = find(id)) return *k;
  throw unknown_knob_error("unknown knob ID " + std::to_string(id) + " (catalogue has " +
                           std::to_string(knobs_.size()) + " knobs)");
}

const knob_info& knob_catalogue::at(std::string_view name) const {
  if (const knob_info* k = find(name)) return *k;
  throw unknown_knob_error("unknown knob name \"" + std::string(name) + "\" (catalogue has " +
                           std::to_string(knobs_.size()) + " knobs)");
}

std::vector<const knob_info*> knob_catalogue::knobs_for(op_kind op, device_kind device) const {
  std::vector<const knob_info*> out;
  for (const auto& k : knobs_) {
    if (k.applies_to(op) && k.exists_on(device)) out.push_back(&k);
  }
  return out;
}

const knob_info& knob_catalogue::baseline_for(device_kind device) const {
  const knob_info* best = nullptr;
  for (const auto& k : knobs_) {
    if (!k.baseline_priority || !k.exists_on(device)) continue;
    if (best == nullptr || *k.baseline_priority > *best->baseline_priority) best = &k;
  }
  if (best == nullptr) {
    throw knob_error("no baseline knob exists on device \"" + std::string(to_string(device)) +
                     "\"");
  }
  return *best;
}

nlohmann::json knob_catalogue::to_json() const {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& k : knobs_) list.push_back(k.to_json());
  return {{"schema", "approxtune.knobs"}, {"version", 1}, {"knobs", list}};
}

knob_catalogue knob_catalogue::from_json(const nlohmann::json& j) {
  if (!j.is_object()) bad_field("document", "expected a JSON object");
  if (j.contains("schema") && j.at("schema") != "approxtune.knobs") {
    bad_field("document", "schema is " + j.at("schema").dump() + ", expected \"approxtune.knobs\"");
  }
  if (j.contains("version") && j.at("version") != 1) {
    bad_field("document", "unsupported version " + j.at("version").dump() + " (expected 1)");
  }
  if (!j.contains("knobs") || !j.at("knobs").is_array())
    bad_field("document", "missing array \"knobs\"");
  knob_catalogue c;
  for (const auto& entry : j.at("knobs")) c.add(knob_info::from_json(entry));
  return c;
}

void knob_catalogue::save(const std::filesystem::path& path) const {
  std::ofstream out(path);
  if (!out) throw catalogue_format_error("knob catalogue: cannot write " + path.string());
  out << to_json().dump(2) << '\n';
  if (!out) throw catalogue_format_error("knob catalogue: error writing " + path.string());
}

knob_catalogue knob_catalogue::load(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw catalogue_format_error("knob catalogue: cannot read " + path.string());
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);  // strict: text after the document is an error, not ignored
  } catch (const nlohmann::json::exception& e) {
    throw catalogue_format_error("knob catalogue: " + path.string() +
                                 " is not valid JSON: " + e.what());
  }
  return from_json(j);
}

}  // namespace approxtune::knobs
