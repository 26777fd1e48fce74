// The approxtune command line: tune an app, list strategies.
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <set>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "app_factory.hpp"
#include "approxtune/runtime/error.hpp"
#include "approxtune/runtime/logging.hpp"
#include "approxtune/search/strategy.hpp"
#include "approxtune/search/tuner.hpp"

namespace fs = std::filesystem;
using namespace approxtune;

namespace {

std::atomic<tuner*> active_tuner{nullptr};
volatile std::sig_atomic_t interrupted = 0;

extern "C" void on_sigint(int) {
  // Only lock-free atomic stores here (async-signal-safe): the tuner stops after the
  // in-flight evaluations and still writes its outputs.
  interrupted = 1;
  if (tuner* t = active_tuner.load()) t->request_stop();
}

struct tune_cli {
  cli::app_args app;
  std::size_t iterations = 1000;
  std::optional<double> qos_loss, qos_min, keep_loss, keep_min;
  std::optional<std::size_t> take_best;
  bool no_test = false;
  std::string strategy = "opentuner-default";
  std::uint64_t seed = 0;
  std::size_t batch = 0;
  std::string devices;
  std::optional<double> eval_timeout;
  std::string out;
  bool overwrite = false;
};

// Files a previous run may have left in its output folder: the only ones --overwrite replaces.
const std::set<std::string> own_files = {"configs.json", "configs.txt", "tradeoff.svg",
                                         "results.db", "results.db-wal", "results.db-shm"};

void prepare_out_dir(const fs::path& dir, bool overwrite) {
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec)) throw config_error("--out '" + dir.string() + "' exists and is not a folder");
    for (const auto& e : fs::directory_iterator(dir)) {
      const std::string name = e.path().filename().string();
      if (!overwrite)
        throw config_error("--out '" + dir.string() + "' is not empty (it has '" + name +
                           "'); choose a new folder, or pass --overwrite to replace a previous run's outputs");
      if (!own_files.count(name))
        throw config_error("--out '" + dir.string() + "' holds '" + name +
                           "', which approxtune did not write; refusing to write there");
    }
  } else {
    fs::create_directories(dir, ec);
    if (ec) throw config_error("cannot create --out '" + dir.string() + "': " + ec.message());
  }
  // Probe writability now rather than after hours of tuning.
  const fs::path probe = dir / ".approxtune-write-test";
  {
    std::FILE* f = std::fopen(probe.c_str(), "w");
    if (f == nullptr) throw config_error("--out '" + dir.string() + "' is not writable");
    std::fclose(f);
  }
  fs::remove(probe, ec);
}

int run_tune(const tune_cli& c) {
  if (c.qos_loss.has_value() == c.qos_min.has_value())
    throw config_error("give exactly one of --qos-loss (relative to the baseline) and --qos-min (absolute)");
  if (c.keep_loss && !c.qos_loss) throw config_error("--keep-loss goes with --qos-loss (use --keep-min with --qos-min)");
  if (c.keep_min && !c.qos_min) throw config_error("--keep-min goes with --qos-min (use --keep-loss with --qos-loss)");
  auto a = cli::make_app(c.app, c.seed);
  const fs::path out(c.out);
  prepare_out_dir(out, c.overwrite);

  tune_options o;
  o.max_iter = c.iterations;
  o.relative = c.qos_loss.has_value();
  o.qos_tuner_threshold = o.relative ? *c.qos_loss : *c.qos_min;
  if (c.keep_loss) o.qos_keep_threshold = *c.keep_loss;
  if (c.keep_min) o.qos_keep_threshold = *c.keep_min;
  o.take_best_n = c.take_best;
  o.test_configs = !c.no_test;
  o.strategy = c.strategy;
  o.seed = c.seed;
  o.batch_size = c.batch;
  o.devices = c.devices;
  o.eval_timeout_s = c.eval_timeout;
  o.progress = true;

  tuner t(*a);
  active_tuner.store(&t);
  std::signal(SIGINT, on_sigint);
  std::signal(SIGTERM, on_sigint);
  try {
    t.tune(o);
  } catch (...) {
    active_tuner.store(nullptr);
    throw;
  }
  active_tuner.store(nullptr);
  t.write_outputs(out);

  const auto& s = t.summary();
  std::printf("app %s: %zu ops, 10^%.1f configurations, strategy %s, seed %llu\n", a->name().c_str(),
              a->space().num_ops(), a->space().log10_size(), c.strategy.c_str(),
              static_cast<unsigned long long>(c.seed));
  std::printf("baseline qos: %.4f (tune)", t.baseline_tune_qos());
  if (t.baseline_test_qos()) std::printf(", %.4f (test)", *t.baseline_test_qos());
  std::printf("\nthreshold: qos >= %.4f (tune), >= %.4f (test)\n", t.tune_keep_threshold(),
              t.test_keep_threshold());
  std::printf("evaluations: %zu (%zu failed, %zu duplicates served from cache) in %.2f s%s\n",
              s.evaluations, s.failed, s.cache_hits, s.seconds, s.cancelled ? " [interrupted]" : "");
  std::printf("kept: %zu, best: %zu", s.kept, s.best_prefilter);
  if (!c.no_test) std::printf(", passing the test split: %zu", s.best);
  std::printf("\nbest speedup within the threshold: %.3fx (tune)", s.best_speedup_tune);
  if (s.best_speedup_test) std::printf(", %.3fx (test)", *s.best_speedup_test);
  std::printf("\nwrote %s/configs.json, configs.txt, tradeoff.svg\n", out.string().c_str());
  if (!s.error.empty()) {
    std::fprintf(stderr, "approxtune: error: %s (the results so far were written)\n", s.error.c_str());
    return 1;
  }
  return interrupted ? 130 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"approxtune: parallel, device-aware approximation tuning"};
  cli.set_version_flag("--version", std::string(APPROXTUNE_VERSION));
  cli.require_subcommand(1);
  int verbosity = 0;
  bool quiet = false;
  cli.add_flag("-v,--verbose", verbosity, "More log output (-vv for debug)");
  cli.add_flag("-q,--quiet", quiet, "Only warnings and errors");

  tune_cli tc;
  auto* tune = cli.add_subcommand("tune", "Tune an app and write configs.json, configs.txt, tradeoff.svg");
  cli::add_app_options(tune, tc.app);
  tune->add_option("--iterations,-n", tc.iterations, "Budget of unique evaluations (baseline included)")->capture_default_str()->check(CLI::Range(std::size_t{1}, std::size_t{1} << 40));
  auto* loss = tune->add_option("--qos-loss", tc.qos_loss, "Tuner threshold as a QoS loss relative to the baseline");
  auto* qmin = tune->add_option("--qos-min", tc.qos_min, "Tuner threshold as an absolute QoS");
  loss->excludes(qmin);
  tune->add_option("--keep-loss", tc.keep_loss, "Keep threshold as a loss (default: --qos-loss)");
  tune->add_option("--keep-min", tc.keep_min, "Keep threshold as an absolute QoS (default: --qos-min)");
  tune->add_option("--take-best", tc.take_best, "Keep N configs near the front instead of exactly the front")->check(CLI::Range(std::size_t{1}, std::size_t{1} << 40));
  tune->add_flag("--no-test", tc.no_test, "Skip the test-split phase");
  tune->add_option("--strategy", tc.strategy, "Search strategy (see 'approxtune strategies')")->capture_default_str();
  tune->add_option("--seed", tc.seed, "Seed of the search (and of the synthetic app)")->capture_default_str();
  tune->add_option("--batch", tc.batch, "Candidates per round (default 2 x slots); results depend on it, not on the slot count");
  tune->add_option("--devices", tc.devices, "Devices and slots, e.g. cpu:2 or cuda:0:2,cuda:1:2 (default: all)");
  tune->add_option("--eval-timeout", tc.eval_timeout, "Per-evaluation timeout in seconds")->check(CLI::PositiveNumber);
  tune->add_option("--out,-o", tc.out, "Output folder")->required();
  tune->add_flag("--overwrite", tc.overwrite, "Replace a previous run's outputs in --out");

  auto* strategies = cli.add_subcommand("strategies", "List the search strategies");
  auto* devices = cli.add_subcommand("devices", "List the devices approxtune can evaluate on");

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e);
  }

  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  auto log = std::make_shared<spdlog::logger>("approxtune", sink);
  log->set_level(quiet ? spdlog::level::warn
                       : verbosity >= 2 ? spdlog::level::debug
                                        : verbosity == 1 ? spdlog::level::info : spdlog::level::warn);
  log->set_pattern("[%H:%M:%S] [%^%l%$] %v");
  set_logger(log);

  try {
    if (*tune) return run_tune(tc);
    if (*strategies) {
      for (const auto& n : search::strategy_names()) std::printf("%s\n", n.c_str());
      return 0;
    }
    if (*devices) {
      for (const auto& d : discover_devices()) {
        std::printf("%-8s %-4s %s, default slots %d", d.id.c_str(), d.kind.c_str(), d.name.c_str(),
                    d.default_slots);
        if (d.kind == "gpu")
          std::printf(", %.1f GiB, compute %d.%d", static_cast<double>(d.memory_bytes) / (1 << 30),
                      d.compute_major, d.compute_minor);
        std::printf("\n");
      }
      return 0;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "approxtune: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
