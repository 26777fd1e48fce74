// Inference time of the committed models (or $APPROXTUNE_MODELS_DIR) on 500 Fashion-MNIST test
// images: the exact network, and every conv layer set to one approximate knob (real speedups).
#include <benchmark/benchmark.h>

#include <filesystem>
#include <memory>

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

void bm_network(benchmark::State& st, const std::string& name, const std::string& knob) {
  std::shared_ptr<const model> m;
  try {
    m = std::make_shared<const model>(model::load(resolve_models_dir(), name));
    (void)data();
  } catch (const std::exception& e) {
    st.SkipWithError(e.what());
    return;
  }
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

const int registered = [] {
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
