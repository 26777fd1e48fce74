// Fuzz target: knob catalogue files (knob_catalogue::load -> from_json). Malformed files must give
// knob_error (catalogue_format_error names the field; a duplicate or inconsistent knob is a
// knob_error from add); a catalogue that loads must hold exactly the numbers the file gives (no
// wrapped or truncated integers) and survive to_json -> from_json unchanged.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "approxtune/knobs/catalogue.hpp"
#include "fuzz_util.hpp"

namespace kn = approxtune::knobs;
namespace fuzz = approxtune::fuzz;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto file = fuzz::scratch_dir() / "knobs.json";
  fuzz::write_file(file, data, size);
  kn::knob_catalogue c;
  try {
    c = kn::knob_catalogue::load(file);
  } catch (const kn::knob_error&) {
    return 0;  // the documented errors
  }
  // Independent check of the integers: the file's numbers, read as doubles, against the knobs.
  const auto doc = nlohmann::json::parse(data, data + size);
  const auto& entries = doc.at("knobs");
  if (entries.size() != c.size()) fuzz::finding("the catalogue's knob count differs from the file's");
  for (std::size_t i = 0; i < c.size(); ++i) {
    const kn::knob_info& k = c.knobs()[i];
    const auto same = [&](const nlohmann::json& obj, const char* key, int got) {
      if (obj.is_object() && obj.contains(key) && obj.at(key).get<double>() != static_cast<double>(got))
        fuzz::finding(std::string("knob ") + k.name + ": field " + key + " is " + obj.at(key).dump() +
                      " in the file but " + std::to_string(got) + " after loading");
    };
    same(entries[i], "id", k.id);
    const auto params = entries[i].value("params", nlohmann::json::object());
    switch (k.kind) {
      case kn::knob_kind::perforation: same(params, "stride", k.stride); same(params, "offset", k.offset); break;
      case kn::knob_kind::filter_sampling: same(params, "skip", k.skip); same(params, "offset", k.offset); break;
      case kn::knob_kind::reduction_sampling:
        same(params, "skip_num", k.skip_num);
        same(params, "skip_den", k.skip_den);
        break;
      case kn::knob_kind::baseline: break;
    }
  }
  kn::knob_catalogue again;
  try {
    again = kn::knob_catalogue::from_json(c.to_json());
  } catch (const kn::knob_error& e) {
    fuzz::finding(std::string("a loaded catalogue's JSON does not load: ") + e.what());
  }
  if (again.size() != c.size()) fuzz::finding("catalogue round trip changed the knob count");
  for (std::size_t i = 0; i < c.size(); ++i) {
    const kn::knob_info& k = c.knobs()[i];
    if (!(again.knobs()[i] == k)) fuzz::finding("catalogue round trip changed knob " + k.name);
    if (c.find(k.id) != &k || c.find(k.name) != &k) fuzz::finding("lookup of knob " + k.name + " failed");
    (void)kn::hpvm_approx_name(k);
  }
  for (auto d : {kn::device_kind::cpu, kn::device_kind::gpu}) {
    for (auto o : {kn::op_kind::conv, kn::op_kind::dense, kn::op_kind::pool_max}) (void)c.knobs_for(o, d);
    try {
      (void)c.baseline_for(d);
    } catch (const kn::knob_error&) {
    }
  }
  return 0;
}
