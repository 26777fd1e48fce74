#include "app_factory.hpp"

#include "approxtune/apps/synthetic.hpp"
#include "approxtune/runtime/error.hpp"
#if APPROXTUNE_WITH_DNN
#include "approxtune/dnn/dnn_app.hpp"
#endif

namespace approxtune::cli {

void add_app_options(CLI::App* cmd, app_args& a) {
  cmd->add_option("--app", a.app,
                  have_dnn_app() ? "App to tune: synthetic, or dnn:<model> (see 'approxtune models')"
                                 : "App to tune: synthetic")
      ->capture_default_str();
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
  if (!have_dnn_app()) return;
  cmd->add_option("--models-dir", a.models_dir,
                  "dnn: folder of the model files (default: $APPROXTUNE_MODELS_DIR, else the built-in models)");
  cmd->add_option("--data-dir", a.data_dir, "dnn: Fashion-MNIST IDX folder (default: /usr/share/datasets/fashion-mnist)");
  cmd->add_option("--tune-images", a.tune_images,
                  "dnn: QoS on the first N images of the 5,000-image tune split (0 = all)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{0}, std::size_t{5000}));
  cmd->add_option("--test-images", a.test_images,
                  "dnn: QoS on the first N images of the 5,000-image test split (0 = all)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{0}, std::size_t{5000}));
  cmd->add_option("--timing-images", a.timing_images,
                  "dnn: images per timed inference run (0 = the QoS images)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{0}, std::size_t{5000}));
  cmd->add_option("--timing-repeats", a.timing_repeats, "dnn: timed runs per measurement (the median is the cost)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--timing", a.timing,
                  "dnn: 'paired' = cost is the median ratio of the config's time to the exact network's, timed "
                  "alternately (robust on a shared machine); 'plain' = median time in seconds")
      ->capture_default_str()
      ->check(CLI::IsMember({"paired", "plain"}));
  cmd->add_option("--cost", a.cost,
                  "dnn: cost = measured inference time ('time', exclusive timed section) or the FLOP cost model ('model')")
      ->capture_default_str()
      ->check(CLI::IsMember({"time", "model"}));
  cmd->add_option("--device", a.device, "dnn: knobs and engine: cpu, or gpu (CUDA builds with a device; pair with --devices cuda:0)")
      ->capture_default_str()
      ->check(CLI::IsMember({"cpu", "gpu"}));
  cmd->add_flag("--allow-outside-paths", a.allow_outside_paths,
               "dnn: follow paths read from files (a model's weights file, a resumed run's "
               "--models-dir/--data-dir) even when they lead outside their folder");
  cmd->add_option("--dnn-batch", a.dnn_batch, "dnn: images per forward call")->capture_default_str()->check(CLI::Range(1, 10000));
  cmd->add_option("--prefix-cache-mb", a.prefix_cache_mb,
                  "dnn: MiB for the exact network's activations over the tune split, so that an accuracy pass starts at "
                  "the configuration's first approximated layer (same results; timed runs always run the whole "
                  "network; 0 = off)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{0}, std::size_t{1} << 20));
}

bool have_dnn_app() noexcept {
#if APPROXTUNE_WITH_DNN
  return true;
#else
  return false;
#endif
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
#if APPROXTUNE_WITH_DNN
  if (a.app.rfind("dnn:", 0) == 0 || a.app == "dnn") {
    dnn::dnn_options o;
    o.model = a.app.size() > 4 ? a.app.substr(4) : "";
    o.models_dir = a.models_dir;
    o.allow_outside_paths = a.allow_outside_paths;
    if (!a.data_dir.empty()) o.data_dir = a.data_dir;
    o.tune_images = a.tune_images;
    o.test_images = a.test_images;
    o.timing_images = a.timing_images;
    o.timing_repeats = a.timing_repeats;
    o.paired_timing = a.timing == "paired";
    o.cost = a.cost == "model" ? dnn::cost_mode::model : dnn::cost_mode::time;
    o.device = a.device;
    o.batch = a.dnn_batch;
    o.prefix_cache_mb = a.prefix_cache_mb;
    return dnn::dnn_app::create(o);
  }
  throw config_error("unknown app '" + a.app + "' (available: synthetic, dnn:<model>; see 'approxtune models')");
#else
  throw config_error("unknown app '" + a.app + "' (available: synthetic)");
#endif
}

}  // namespace approxtune::cli
