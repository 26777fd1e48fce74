// Inference time of the committed models (or $APPROXTUNE_MODELS_DIR) on 500 Fashion-MNIST test
// images: the exact network, and every conv layer set to one approximate knob (real speedups);
// and `dnn/<model>/layers`: where the exact network's time goes, per layer type.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "approxtune/dnn/deploy.hpp"
#include "approxtune/dnn/model.hpp"
#include "approxtune/dnn/network.hpp"

namespace {

using namespace approxtune::dnn;

const fashion_mnist* data() {
  static std::unique_ptr<fashion_mnist> d;
  if (!d) d = std::make_unique<fashion_mnist>(fashion_mnist::load(default_fashion_mnist_dir, false));
  return d.get();
}

// The model and the data, or null after marking the benchmark skipped (e.g. no data set).
std::shared_ptr<const model> load_or_skip(benchmark::State& st, const std::string& name) {
  try {
    auto m = std::make_shared<const model>(model::load(resolve_models_dir(), name));
    (void)data();
    return m;
  } catch (const std::exception& e) {
    st.SkipWithError(e.what());
    return nullptr;
  }
}

void bm_network(benchmark::State& st, const std::string& name, const std::string& knob) {
  const auto m = load_or_skip(st, name);
  if (!m) return;
  network net(m, 100);
  approxtune::knob_map k;
  if (knob != "11")
    for (const auto& l : m->layers())
      if (l.type == layer_type::conv) k[l.name] = knob;
  apply_config(net, k);
  for (auto _ : st) net.run(data()->test.images, 500);
  st.counters["img/s"] = benchmark::Counter(500.0 * static_cast<double>(st.iterations()), benchmark::Counter::kIsRate);
  st.counters["MFLOP/img"] = net.flops() / 1e6;
}

// The time of each layer of the exact network, as the difference between passes that start at
// consecutive layers (network::forward_from, reading the exact earlier outputs of one full pass),
// summed per layer type and reported as shares of the full pass (counters "conv%", ...).
void bm_layers(benchmark::State& st, const std::string& name) {
  const auto m = load_or_skip(st, name);
  if (!m) return;
  const int n = 100, chunks = 5;
  const auto& images = data()->test.images;
  const auto is = images.shape();
  const std::size_t layers = m->layers().size();
  // Exact outputs of every layer for the 5 chunks of 100 images.
  std::vector<std::vector<approxtune::kernels::tensor>> kept(chunks);
  network exact(m, n);
  for (int c = 0; c < chunks; ++c) {
    (void)exact.forward({images.data() + static_cast<std::size_t>(c * n) * is.image_size(), {n, is.c, is.h, is.w}});
    for (std::size_t l = 0; l < layers; ++l) {
      const auto y = exact.layer_output(l);
      kept[c].emplace_back(y.shape, std::vector<float>(y.data, y.data + y.size()));
    }
  }
  network net(m, n);
  std::vector<double> from(layers + 1, 0.0);  // seconds of the passes from layer l
  for (auto _ : st) {
    for (std::size_t l = 0; l < layers; ++l) {
      const auto t0 = std::chrono::steady_clock::now();
      for (int c = 0; c < chunks; ++c) {
        const approxtune::kernels::const_tensor_view batch{images.data() + static_cast<std::size_t>(c * n) * is.image_size(),
                                                           {n, is.c, is.h, is.w}};
        if (l == 0) (void)net.forward(batch);
        else
          (void)net.forward_from(l, n, [&](int j) { return j < 0 ? batch : kept[c][static_cast<std::size_t>(j)].cview(); });
      }
      from[l] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
  }
  std::map<std::string, double> by_type;
  for (std::size_t l = 0; l < layers; ++l)
    by_type[std::string(to_string(m->layers()[l].type))] += std::max(0.0, from[l] - from[l + 1]);
  for (const auto& [type, t] : by_type) st.counters[type + "%"] = 100.0 * t / from[0];
}

const int registered = [] {
  for (const char* model_name : {"lenet", "vgg", "vgg-wide", "vgg-256"})
    benchmark::RegisterBenchmark((std::string("dnn/") + model_name + "/layers").c_str(), bm_layers, std::string(model_name))
        ->Unit(benchmark::kMillisecond)
        ->MinTime(1.0);
  for (const char* model_name : {"lenet", "vgg"})
    for (const char* knob : {"11", "121", "123", "125", "128", "131", "135", "231", "233", "236"})
      benchmark::RegisterBenchmark((std::string("dnn/") + model_name + "/knob:" + knob).c_str(), bm_network,
                                   std::string(model_name), std::string(knob))
          ->Unit(benchmark::kMillisecond)
          ->MinTime(0.3);
  return 0;
}();

}  // namespace

BENCHMARK_MAIN();
