// Fuzz target: configs.json, read by read_configs_json (the deploy API, `approxtune dnn-report
// --configs`). Malformed files must give config_error; a file that loads must write back
// (configs_json) to a file that loads to the same report.
#include <cstdint>
#include <string>

#include "approxtune/runtime/error.hpp"
#include "approxtune/runtime/outputs.hpp"
#include "fuzz_util.hpp"

using namespace approxtune;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto in_file = fuzz::scratch_dir() / "configs.json";
  static const auto out_file = fuzz::scratch_dir() / "configs_again.json";
  fuzz::write_file(in_file, data, size);
  tuning_report r;
  try {
    r = read_configs_json(in_file);
  } catch (const config_error&) {
    return 0;  // the documented error
  }
  const std::string text = configs_json(r, r.best);
  fuzz::write_file(out_file, text.data(), text.size());
  tuning_report b;
  try {
    b = read_configs_json(out_file);
  } catch (const config_error& e) {
    fuzz::finding(std::string("configs.json written from a loaded one does not load: ") + e.what());
  }
  bool same = b.app_name == r.app_name && b.relative == r.relative &&
              b.tuner_threshold_given == r.tuner_threshold_given && b.tuner_threshold == r.tuner_threshold &&
              b.keep_threshold_given == r.keep_threshold_given &&
              b.tune_keep_threshold == r.tune_keep_threshold && b.test_keep_threshold == r.test_keep_threshold &&
              b.baseline_tune_qos == r.baseline_tune_qos && b.baseline_test_qos == r.baseline_test_qos &&
              b.baseline_cost == r.baseline_cost && b.best.size() == r.best.size();
  for (std::size_t i = 0; same && i < r.best.size(); ++i)
    same = b.best[i].knobs == r.best[i].knobs && b.best[i].qos == r.best[i].qos &&
           b.best[i].cost == r.best[i].cost && b.best[i].test_qos == r.best[i].test_qos;
  if (!same) fuzz::finding("configs.json round trip changed the report");
  return 0;
}
