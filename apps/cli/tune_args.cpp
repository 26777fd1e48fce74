#include "tune_args.hpp"

#include <type_traits>

#include "approxtune/runtime/error.hpp"
#include "store_commands.hpp"

namespace approxtune::cli {
namespace {

template <class T>
nlohmann::json opt_json(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

}  // namespace

nlohmann::json tune_args_json(const tune_cli& c) {
  return {{"app", cli::app_args_to_json(c.app)},
          {"tune",
           {{"iterations", c.iterations},
            {"qos_loss", opt_json(c.qos_loss)},
            {"qos_min", opt_json(c.qos_min)},
            {"keep_loss", opt_json(c.keep_loss)},
            {"keep_min", opt_json(c.keep_min)},
            {"take_best", opt_json(c.take_best)},
            {"no_test", c.no_test},
            {"strategy", c.strategy},
            {"strategy_params", c.strategy_params},
            {"seed", c.seed},
            {"batch", c.batch},
            {"devices", c.devices},
            {"eval_timeout", opt_json(c.eval_timeout)}}}};
}

void tune_args_from_json(const nlohmann::json& j, tune_cli& c) try {
  if (!j.is_object()) throw store_error("the options stored with the run are not a JSON object");
  c.app = cli::app_args_from_json(j.value("app", nlohmann::json::object()));
  const auto t = j.value("tune", nlohmann::json::object());
  if (!t.is_object()) throw store_error("the tune options stored with the run are not a JSON object");
  const auto field = [&t](const char* key, auto& out) { cli::stored_field(t, key, out, "tune option"); };
  const auto optional = [&t](const char* key, auto& out) {  // null = not given
    if (!t.contains(key)) return;
    if (t.at(key).is_null()) {
      out.reset();
      return;
    }
    typename std::remove_reference_t<decltype(out)>::value_type v{};
    cli::stored_field(t, key, v, "tune option");
    out = v;
  };
  field("iterations", c.iterations);
  optional("qos_loss", c.qos_loss);
  optional("qos_min", c.qos_min);
  optional("keep_loss", c.keep_loss);
  optional("keep_min", c.keep_min);
  optional("take_best", c.take_best);
  field("no_test", c.no_test);
  field("strategy", c.strategy);
  field("strategy_params", c.strategy_params);
  field("seed", c.seed);
  field("batch", c.batch);
  field("devices", c.devices);
  optional("eval_timeout", c.eval_timeout);
} catch (const nlohmann::json::exception& e) {
  throw store_error(std::string("the options stored with the run are malformed: ") + e.what());
}

}  // namespace approxtune::cli
