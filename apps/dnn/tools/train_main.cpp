// approxtune-train: trains a model of apps/dnn/models on Fashion-MNIST's 60,000 training images
// with the deterministic trainer, then records the engine's accuracy on the tune and test splits
// in the architecture file and writes the weights next to it.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>

#include <CLI/CLI.hpp>

#include "approxtune/dnn/dataset.hpp"
#include "approxtune/dnn/error.hpp"
#include "approxtune/dnn/model.hpp"
#include "approxtune/dnn/network.hpp"
#include "approxtune/dnn/train.hpp"

namespace fs = std::filesystem;
using namespace approxtune::dnn;

int main(int argc, char** argv) {
  CLI::App cli{"approxtune-train: train a CNN of apps/dnn/models on Fashion-MNIST (deterministic)"};
  std::string name;
  std::string models_dir, data_dir = default_fashion_mnist_dir;
  train_options o;
  cli.add_option("model", name, "Model name (architecture file <models-dir>/<model>.json)")->required();
  cli.add_option("--models-dir", models_dir, "Folder of the architecture files (default: the source tree's)");
  cli.add_option("--data-dir", data_dir, "Fashion-MNIST IDX folder")->capture_default_str();
  cli.add_option("--epochs", o.epochs, "Epochs")->capture_default_str();
  cli.add_option("--batch", o.batch, "Mini-batch size")->capture_default_str();
  cli.add_option("--lr", o.lr, "Adam step size")->capture_default_str();
  cli.add_option("--lr-decay", o.lr_decay, "Step-size factor per epoch")->capture_default_str();
  cli.add_option("--weight-decay", o.weight_decay, "L2 on weights")->capture_default_str();
  cli.add_option("--seed", o.seed, "Seed of initialisation and shuffling")->capture_default_str();
  cli.add_option("--threads", o.blas_threads, "OpenBLAS threads (results do not depend on it)")->capture_default_str();
  cli.add_option("--max-examples", o.max_examples, "Train on the first N images only (0 = all)");
  bool evaluate_only = false;
  double recorded_seconds = 0;
  cli.add_flag("--evaluate-only", evaluate_only,
               "Do not train: load the existing weights (e.g. the checkpoint of the last completed epoch), "
               "measure the engine's accuracy and record it with these training settings");
  cli.add_option("--recorded-seconds", recorded_seconds, "With --evaluate-only: training time to record");
  CLI11_PARSE(cli, argc, argv);
  try {
    const fs::path dir = resolve_models_dir(models_dir);
    const fs::path arch = dir / (name + ".json");
    std::ifstream in(arch);
    if (!in) throw model_error("cannot open '" + arch.string() + "'");
    model m = evaluate_only ? model::load(dir, name) : model::from_json(nlohmann::json::parse(in));
    std::printf("training %s: %zu parameters, %.2f MFLOP/image, %d epochs, batch %d, seed %llu\n", name.c_str(),
                m.num_params(), m.flops() / 1e6, o.epochs, o.batch, static_cast<unsigned long long>(o.seed));
    const fashion_mnist data = fashion_mnist::load(data_dir, !evaluate_only);
    o.log = [](const std::string& s) {
      std::printf("%s\n", s.c_str());
      std::fflush(stdout);
    };
    const auto t0 = std::chrono::steady_clock::now();
    // Checkpoint after every epoch: <name>.json/.weights always hold the last completed epoch.
    auto checkpoint = [&](int e) {
      model c = m;
      c.metadata()["training"] = {{"epochs_completed", e + 1}, {"checkpoint", true}};
      c.save(dir);
      std::printf("checkpoint after epoch %d written\n", e + 1);
      std::fflush(stdout);
    };
    if (!evaluate_only) train(m, data.train, o, &data.tune, checkpoint);
    const double sec = evaluate_only ? recorded_seconds : std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    // The recorded baseline accuracy is the inference engine's (the tuner's baseline).
    auto shared = std::make_shared<model>(m);
    network net(shared, 100);
    const double tune_acc = net.accuracy(data.tune), test_acc = net.accuracy(data.test);
    m.metadata()["accuracy"] = {{"tune", tune_acc}, {"test", test_acc}, {"tune_images", data.tune.size()},
                                {"test_images", data.test.size()}};
    m.metadata()["training"] = {{"command", "bash scripts/train_models.sh " + name},
                                {"epochs", o.epochs}, {"batch", o.batch}, {"optimizer", "adam"}, {"lr", o.lr},
                                {"lr_decay", o.lr_decay}, {"weight_decay", o.weight_decay}, {"seed", o.seed},
                                {"train_images", o.max_examples ? o.max_examples : std::size_t{60000}},
                                {"seconds", std::round(sec)}};
    m.save(dir);
    std::printf("%s: accuracy %.2f%% (tune split), %.2f%% (test split); %.0f s; wrote %s and %s\n", name.c_str(),
                tune_acc, test_acc, sec, arch.string().c_str(), (dir / (name + ".weights")).string().c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "approxtune-train: %s\n", e.what());
    return 1;
  }
  return 0;
}
