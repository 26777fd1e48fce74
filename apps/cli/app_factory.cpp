#include "app_factory.hpp"

#include "approxtune/apps/synthetic.hpp"
#include "approxtune/runtime/error.hpp"

namespace approxtune::cli {

void add_app_options(CLI::App* cmd, app_args& a) {
  cmd->add_option("--app", a.app, "App to tune: synthetic")->capture_default_str();
  cmd->add_option("--ops", a.ops, "synthetic: number of ops")->capture_default_str()->check(CLI::Range(1, 100000));
  cmd->add_option("--knobs", a.knobs, "synthetic: knobs per op (plus the baseline)")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--app-seed", a.app_seed, "synthetic: seed of the app's parameters (default: --seed)");
  cmd->add_option("--eval-latency-ms", a.eval_latency_ms,
                  "synthetic: each evaluation waits this long without using CPU")
      ->check(CLI::Range(0.0, 1e7));
  cmd->add_option("--interaction", a.interaction, "synthetic: pairwise QoS term between neighbouring ops")
      ->check(CLI::Range(0.0, 1e6));
}

std::unique_ptr<app> make_app(const app_args& a, std::uint64_t seed) {
  if (a.app == "synthetic") {
    apps::synthetic_options o;
    o.ops = a.ops;
    o.knobs = a.knobs;
    o.seed = a.app_seed.value_or(seed);
    o.eval_latency_ms = a.eval_latency_ms;
    o.interaction = a.interaction;
    return std::make_unique<apps::synthetic_app>(o);
  }
  throw config_error("unknown app '" + a.app + "' (available: synthetic)");
}

}  // namespace approxtune::cli
