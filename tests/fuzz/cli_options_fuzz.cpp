// Fuzz target: the options a run stores in its results store (runs.options, JSON), which the
// command line reads back from the file: the app options (`approxtune export DIR --format hpvm`
// calls cli::stored_app_args (options["app"] -> app_args_from_json), then cli::make_app), and
// the tune options (`tune --resume` and the MPI workers call cli::tune_args_from_json). Text
// that is not JSON never gets here (the store reader refuses it with store_error). Bad options
// must give an approxtune::error (store_error or config_error) naming the field; options that
// load must hold the file's integers exactly (no wrap), survive *_to_json unchanged, and a
// small synthetic app is built from them.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "app_factory.hpp"
#include "approxtune/runtime/error.hpp"
#include "fuzz_util.hpp"
#include "store_commands.hpp"
#include "tune_args.hpp"

namespace cli = approxtune::cli;
namespace fuzz = approxtune::fuzz;

namespace {

// A number stored under @p key of @p section must load as exactly that number (no wrap, no
// rounding to another integer).
void same_number(const nlohmann::json& section, const char* what, const char* key, double got) {
  if (section.is_object() && section.contains(key) && section.at(key).is_number() &&
      section.at(key).get<double>() != got)
    fuzz::finding(std::string(what) + " " + key + " is " + section.at(key).dump() + " in the file but " +
                  std::to_string(got) + " after loading");
}

// The tune options: stored integers kept exactly, and tune_args_json -> tune_args_from_json
// gives back the same options.
void check_tune_options(const nlohmann::json& options) {
  cli::tune_cli c;
  try {
    cli::tune_args_from_json(options, c);
  } catch (const approxtune::error&) {
    return;  // the documented errors
  }
  const auto& t = options.value("tune", nlohmann::json::object());
  const auto same = [&](const char* key, double got) { same_number(t, "tune option", key, got); };
  same("iterations", static_cast<double>(c.iterations));
  same("seed", static_cast<double>(c.seed));
  same("batch", static_cast<double>(c.batch));
  if (c.take_best) same("take_best", static_cast<double>(*c.take_best));
  const nlohmann::json once = cli::tune_args_json(c);
  cli::tune_cli again;
  try {
    cli::tune_args_from_json(once, again);
  } catch (const approxtune::error& e) {
    fuzz::finding(std::string("tune options written by tune_args_json do not load: ") + e.what());
  }
  if (cli::tune_args_json(again) != once) fuzz::finding("tune options round trip changed them");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto options = nlohmann::json::parse(data, data + size, nullptr, false);
  if (options.is_discarded()) return 0;
  check_tune_options(options);
  cli::app_args a;
  try {
    a = cli::stored_app_args(options);
  } catch (const approxtune::error&) {
    return 0;  // the documented errors
  }
  const auto& app = options.value("app", nlohmann::json::object());
  const auto same = [&](const char* key, double got) { same_number(app, "option", key, got); };
  same("ops", static_cast<double>(a.ops));
  same("knobs", static_cast<double>(a.knobs));
  same("tune_images", static_cast<double>(a.tune_images));
  same("test_images", static_cast<double>(a.test_images));
  same("timing_images", static_cast<double>(a.timing_images));
  same("timing_repeats", a.timing_repeats);
  same("dnn_batch", a.dnn_batch);
  if (a.app_seed) same("app_seed", static_cast<double>(*a.app_seed));
  const cli::app_args b = cli::app_args_from_json(cli::app_args_to_json(a));
  if (cli::app_args_to_json(b) != cli::app_args_to_json(a)) fuzz::finding("app options round trip changed them");
  // Building the app allocates ops x knobs tables: only small ones here (memory bound).
  if (a.app == "synthetic" && a.ops <= 1000 && a.knobs <= 100) {
    try {
      auto app = cli::make_app(a, 1);
      (void)app->space().num_ops();
    } catch (const approxtune::error&) {
    }
  }
  return 0;
}
