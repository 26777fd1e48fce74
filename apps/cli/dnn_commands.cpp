#include "dnn_commands.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "approxtune/runtime/error.hpp"

#if APPROXTUNE_WITH_DNN
#include "approxtune/dnn/dataset.hpp"
#include "approxtune/dnn/deploy.hpp"
#include "approxtune/dnn/model.hpp"
#include "approxtune/dnn/network.hpp"
#include "approxtune/runtime/outputs.hpp"
#endif

namespace approxtune::cli {

namespace {

struct models_args {
  std::string models_dir, data_dir;
  bool measure = false;
  bool allow_outside = false;
};

struct report_args {
  std::string model, configs, models_dir, data_dir, markdown;
  std::size_t timing_images = 1000;
  int repeats = 11;
  std::vector<double> losses{1.0, 2.0};
  bool allow_outside = false;
};

#if APPROXTUNE_WITH_DNN

int run_models(const models_args& a) {
  const auto dir = dnn::resolve_models_dir(a.models_dir);
  const auto names = dnn::list_models(dir);
  if (names.empty()) {
    std::printf("no models in '%s' (regenerate them with bash scripts/train_models.sh)\n", dir.string().c_str());
    return 1;
  }
  std::unique_ptr<dnn::fashion_mnist> data;
  if (a.measure)
    data = std::make_unique<dnn::fashion_mnist>(
        dnn::fashion_mnist::load(a.data_dir.empty() ? dnn::default_fashion_mnist_dir : a.data_dir, false));
  std::printf("models in %s (Fashion-MNIST; tune split = test images 0-4999, test split = 5000-9999)\n",
              dir.string().c_str());
  std::printf("%-8s %6s %5s %9s %10s %10s %12s %12s\n", "model", "layers", "ops", "params", "size", "MFLOP/img",
              "acc tune %", "acc test %");
  // One broken model (bad JSON, truncated weights, ...) is reported on its own line and the
  // listing goes on: the others are still usable. The exit status says something was wrong.
  std::size_t broken = 0;
  for (const auto& n : names) {
    std::shared_ptr<const dnn::model> m;
    try {
      m = std::make_shared<const dnn::model>(dnn::model::load(dir, n, a.allow_outside));
    } catch (const std::exception& e) {
      ++broken;
      std::printf("%-8s (cannot be loaded: see the error)\n", n.c_str());
      std::fflush(stdout);
      std::fprintf(stderr, "approxtune: error: %s\n", e.what());
      continue;
    }
    std::string tune = "-", test = "-";
    char buf[32];
    if (data) {
      dnn::network net(m);
      std::snprintf(buf, sizeof buf, "%.2f", net.accuracy(data->tune));
      tune = buf;
      std::snprintf(buf, sizeof buf, "%.2f", net.accuracy(data->test));
      test = buf;
    } else if (const auto& meta = m->metadata(); meta.is_object() && meta.contains("accuracy") &&
                                                 meta["accuracy"].is_object()) {
      // Recorded by the trainer; a hand-edited value of another type shows as "?".
      const auto& acc = meta["accuracy"];
      auto recorded = [&](const char* key, std::string& out) {
        if (!acc.contains(key)) return;
        if (!acc[key].is_number()) {
          out = "?";
          return;
        }
        std::snprintf(buf, sizeof buf, "%.2f", acc[key].get<double>());
        out = buf;
      };
      recorded("tune", tune);
      recorded("test", test);
    }
    std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(m->weights_bytes()) / 1024.0);
    std::printf("%-8s %6zu %5zu %9zu %10s %10.2f %12s %12s\n", n.c_str(), m->layers().size(),
                m->tunable_layers().size(), m->num_params(), buf, m->flops() / 1e6, tune.c_str(), test.c_str());
  }
  if (!a.measure) std::printf("(accuracies as recorded at training time by the engine; --measure recomputes them)\n");
  if (broken > 0) {
    std::fprintf(stderr, "approxtune: error: %zu of %zu models in '%s' cannot be loaded\n", broken,
                 names.size(), dir.string().c_str());
    return 1;
  }
  return 0;
}

// Re-measures a configs.json on the whole test split: accuracy, and wall-time speedup by paired
// timing (baseline and config run alternately, `repeats` times; speedup = median of the ratios),
// which cancels the drift of a machine shared with other work.
int run_report(const report_args& a) {
  const auto dir = dnn::resolve_models_dir(a.models_dir);
  auto m = std::make_shared<const dnn::model>(dnn::model::load(dir, a.model, a.allow_outside));
  const auto data = dnn::fashion_mnist::load(a.data_dir.empty() ? dnn::default_fashion_mnist_dir : a.data_dir, false);
  const tuning_report rep = read_configs_json(a.configs);
  dnn::network base(m), net(m);
  const double base_acc = base.accuracy(data.test);
  std::printf("model %s: baseline accuracy %.2f%% on the test split (5,000 images), %.2f%% on the tune split\n",
              a.model.c_str(), base_acc, base.accuracy(data.tune));
  const double max_loss = *std::max_element(a.losses.begin(), a.losses.end());
  struct row {
    std::size_t index;
    double acc, speedup, tuner_speedup;
    std::string approximated;  // "op: knob, ..." for the ops off their exact kernel
  };
  std::vector<row> rows;
  const std::size_t tn = std::min(a.timing_images, data.test.size());
  for (std::size_t i = 0; i < rep.best.size(); ++i) {
    const auto& c = rep.best[i];
    dnn::apply_config(net, c.knobs);
    std::string approximated;
    for (std::size_t li = 0; li < m->layers().size(); ++li) {
      if (net.variant(li) == dnn::layer_variant{}) continue;
      const std::string& op = m->layers()[li].name;
      approximated += (approximated.empty() ? "" : ", ") + op + ": " + c.knobs.at(op);
    }
    if (approximated.empty()) {  // the baseline itself: 1x by definition (timing it would only report noise)
      std::printf("  config %3zu: the baseline (every op exact), speedup 1x\n", i);
      continue;
    }
    const double acc = net.accuracy(data.test);
    if (base_acc - acc > max_loss + 1e-9) {
      std::printf("  config %3zu: test accuracy %.2f%% (loss %+.2f): over every threshold, not timed\n", i, acc,
                  base_acc - acc);
      continue;
    }
    base.run(data.test.images, std::min<std::size_t>(tn, 100));
    net.run(data.test.images, std::min<std::size_t>(tn, 100));
    std::vector<double> ratios;
    for (int r = 0; r < a.repeats; ++r) {
      auto t0 = std::chrono::steady_clock::now();
      base.run(data.test.images, tn);
      auto t1 = std::chrono::steady_clock::now();
      net.run(data.test.images, tn);
      auto t2 = std::chrono::steady_clock::now();
      ratios.push_back(std::chrono::duration<double>(t1 - t0).count() / std::chrono::duration<double>(t2 - t1).count());
    }
    std::sort(ratios.begin(), ratios.end());
    rows.push_back({i, acc, ratios[ratios.size() / 2], c.speedup(), approximated});
    std::printf("  config %3zu: test accuracy %.2f%% (loss %+.2f), measured speedup %.3fx (tuner: %.3fx)\n", i, acc,
                base_acc - acc, rows.back().speedup, c.speedup());
    std::fflush(stdout);
  }
  std::string md = "| " + a.model + " | " + std::to_string(base_acc).substr(0, 5) + " %";
  for (const double loss : a.losses) {
    const row* best = nullptr;
    for (const auto& r : rows)
      if (base_acc - r.acc <= loss + 1e-9 && (!best || r.speedup > best->speedup)) best = &r;
    if (best) {
      std::printf("best measured speedup with test-split accuracy loss <= %.1f point(s): %.3fx (config %zu, accuracy %.2f%%; %s)\n",
                  loss, best->speedup, best->index, best->acc, best->approximated.c_str());
      char buf[96];
      std::snprintf(buf, sizeof buf, " | %.2fx (%.2f %%)", best->speedup, best->acc);
      md += buf;
    } else {
      std::printf("best measured speedup with test-split accuracy loss <= %.1f point(s): none; only the baseline "
                  "(1.00x) is within it\n", loss);
      md += " | none: 1.00x (baseline)";
    }
  }
  md += " |";
  std::printf("markdown: %s\n", md.c_str());
  if (!a.markdown.empty()) {
    std::FILE* f = std::fopen(a.markdown.c_str(), "a");
    if (!f) throw config_error("cannot append to '" + a.markdown + "'");
    std::fprintf(f, "%s\n", md.c_str());
    std::fclose(f);
  }
  return 0;
}

#endif

}  // namespace

std::function<std::optional<int>()> add_dnn_commands(CLI::App& cli) {
  auto ma = std::make_shared<models_args>();
  auto ra = std::make_shared<report_args>();
  auto* models = cli.add_subcommand("models", "List the DNN models with their size, FLOPs and baseline accuracy");
  models->add_option("--models-dir", ma->models_dir, "Folder of the model files");
  models->add_option("--data-dir", ma->data_dir, "Fashion-MNIST IDX folder (for --measure)");
  models->add_flag("--measure", ma->measure, "Measure the accuracies now instead of showing the recorded ones");
  models->add_flag("--allow-outside-paths", ma->allow_outside, "Follow weights paths leading outside the models folder");
  auto* report = cli.add_subcommand(
      "dnn-report", "Re-measure a dnn app's configs.json on the test split (paired wall-time speedups)");
  report->add_option("--model", ra->model, "Model name")->required();
  report->add_option("--configs", ra->configs, "configs.json of a tuning run")->required();
  report->add_option("--models-dir", ra->models_dir, "Folder of the model files");
  report->add_option("--data-dir", ra->data_dir, "Fashion-MNIST IDX folder");
  report->add_option("--timing-images", ra->timing_images, "Images per timed run")->capture_default_str();
  report->add_option("--repeats", ra->repeats, "Paired timing repeats (median)")->capture_default_str()->check(CLI::Range(1, 1000));
  report->add_option("--losses", ra->losses, "Accuracy-loss thresholds in points")->capture_default_str();
  report->add_flag("--allow-outside-paths", ra->allow_outside, "Follow weights paths leading outside the models folder");
  report->add_option("--markdown", ra->markdown, "Append the result as a markdown table row to this file");
  return [models, report, ma, ra]() -> std::optional<int> {
    if (!*models && !*report) return std::nullopt;
#if APPROXTUNE_WITH_DNN
    if (*models) return run_models(*ma);
    return run_report(*ra);
#else
    std::fprintf(stderr, "approxtune: built without the dnn app\n");
    return 2;
#endif
  };
}

}  // namespace approxtune::cli
