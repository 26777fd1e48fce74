// The dnn app with the committed models and the real data set.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "approxtune/dnn/dnn_app.hpp"
#include "approxtune/dnn/error.hpp"
#include "approxtune/dnn/gpu_network.hpp"
#include "approxtune/knobs/catalogue.hpp"
#include "approxtune/search/predictive.hpp"
#include "dnn_test_util.hpp"

namespace approxtune::dnn {
namespace {

namespace fs = std::filesystem;

bool have_data() { return fs::exists(std::string(default_fashion_mnist_dir) + "/t10k-images-idx3-ubyte.gz"); }

std::shared_ptr<const fashion_mnist> test_data() {
  static auto d = std::make_shared<const fashion_mnist>(fashion_mnist::load(default_fashion_mnist_dir, false));
  return d;
}

std::shared_ptr<const model> committed(const std::string& name) {
  return std::make_shared<const model>(model::load(APPROXTUNE_TEST_MODELS_DIR, name));
}

TEST(DnnApp, OpsAndKnobsFromTheCatalogue) {
  const model m = *committed("lenet");
  std::vector<int> layers;
  const auto ops = dnn_ops(m, "cpu", &layers);
  ASSERT_EQ(ops.size(), 5u);  // conv1, conv2, fc1, fc2, fc3
  EXPECT_EQ(ops[0].op, "conv1");
  EXPECT_EQ(ops[2].op, "fc1");
  // conv on the cpu: 11, perforation 121-138, sampling 231-239; dense: 11 only.
  EXPECT_EQ(ops[0].knobs.size(), 1u + 18u + 9u);
  EXPECT_EQ(ops[2].knobs.size(), 1u);
  EXPECT_EQ(ops[2].knobs[0].name(), "11");
}

TEST(DnnApp, BaselineConfigGivesTheRecordedBaselineAccuracyExactly) {
  if (!have_data()) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  for (const std::string name : {"lenet", "vgg"}) {
    const fs::path arch = fs::path(APPROXTUNE_TEST_MODELS_DIR) / (name + ".json");
    const fs::path weights = fs::path(APPROXTUNE_TEST_MODELS_DIR) / (name + ".weights");
    if (!fs::exists(weights)) continue;
    auto m = committed(name);
    if (name == "vgg") {
      // The tune split's baseline only (keeps the suite fast); lenet checks both splits.
    }
    dnn_options o;
    o.model = name;
    o.cost = cost_mode::model;
    auto a = dnn_app::create(m, test_data(), o);
    const auto& acc = m->metadata().at("accuracy");
    const measurement tune = a->measure(a->space().baseline_code(), split::tune);
    EXPECT_EQ(tune.qos, acc.at("tune").get<double>()) << name;
    EXPECT_DOUBLE_EQ(tune.cost, m->flops()) << name;
    if (name == "lenet") {
      const measurement test = a->measure(a->space().baseline_code(), split::test);
      EXPECT_EQ(test.qos, acc.at("test").get<double>());
    }
  }
}

TEST(DnnApp, ApproximationsReallyComputeLessAndChangeQoS) {
  if (!have_data()) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  dnn_options o;
  o.model = "lenet";
  o.cost = cost_mode::model;
  o.tune_images = 500;
  auto a = dnn_app::create(committed("lenet"), test_data(), o);
  const auto base = a->measure(a->space().baseline_code(), split::tune);
  config_code code = a->space().baseline_code();
  code[1] = *a->space().find_knob(1, "123");  // conv2 row perforation stride 2
  const auto approx = a->measure(code, split::tune);
  EXPECT_LT(approx.cost, base.cost * 0.9);
  EXPECT_NE(approx.qos, base.qos);
  EXPECT_GT(approx.qos, 50.0);
}

TEST(DnnApp, TimedEvaluatorMeasuresTime) {
  if (!have_data()) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  dnn_options o;
  o.model = "lenet";
  o.tune_images = 200;
  o.timing_images = 100;
  o.timing_repeats = 3;
  auto a = dnn_app::create(committed("lenet"), test_data(), o);
  EXPECT_TRUE(a->cost_is_timed());
  std::mutex lock;
  slot_info s;
  s.timing_lock = &lock;
  auto e = a->make_evaluator(s);
  EXPECT_TRUE(e->manages_timing());
  const auto m = e->measure(a->space().baseline_code(), split::tune);
  EXPECT_EQ(m.cost, 1.0);  // paired timing: the exact network relative to itself
  EXPECT_GT(m.qos, 80.0);
  config_code code = a->space().baseline_code();
  code[1] = *a->space().find_knob(1, "231");  // conv2 filter sampling, skip 2
  const auto approx = e->measure(code, split::tune);
  EXPECT_GT(approx.cost, 0.2);
  EXPECT_LT(approx.cost, 4.0);  // a ratio to the exact network's time (2.4 seen with both cores busy)
  dnn_options plain = o;
  plain.paired_timing = false;
  auto b = dnn_app::create(committed("lenet"), test_data(), plain);
  const auto t = b->make_evaluator(s)->measure(b->space().baseline_code(), split::tune);
  EXPECT_GT(t.cost, 0.0);
  EXPECT_LT(t.cost, 10.0);  // seconds
}

TEST(DnnApp, HpvmLinesFuseNodes) {
  if (!have_data()) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  dnn_options o;
  o.model = "lenet";
  o.cost = cost_mode::model;
  auto a = dnn_app::create(committed("lenet"), test_data(), o);
  config_code code = a->space().baseline_code();
  code[0] = *a->space().find_knob(0, "121");
  const auto lines = a->hpvm_lines(code);
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[0], "1 cpu conv perf_fp32 121 add fp32 11 relu fp32 11 pool_max fp32 11");
  EXPECT_EQ(lines[2], "3 cpu mul fp32 11 add fp32 11 relu fp32 11");
  EXPECT_EQ(lines[5], "6 cpu softmax fp32 11");
}

TEST(DnnApp, ContentHashTracksWeightsAndData) {
  if (!have_data()) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  dnn_options o;
  o.model = "tiny";
  o.cost = cost_mode::model;
  auto base = test::tiny_model(1);
  // tiny has 2 input channels; hash only (no measurement).
  auto a = dnn_app::create(std::make_shared<const model>(base), test_data(), o);
  auto b = dnn_app::create(std::make_shared<const model>(test::tiny_model(2)), test_data(), o);
  EXPECT_NE(a->content_hash(), b->content_hash());
  o.tune_images = 100;
  auto c = dnn_app::create(std::make_shared<const model>(base), test_data(), o);
  EXPECT_NE(a->content_hash(), c->content_hash());
}

TEST(DnnApp, MissingModelAndGpuAreClearErrors) {
  dnn_options o;
  o.model = "no_such_model";
  o.models_dir = APPROXTUNE_TEST_MODELS_DIR;
  try {
    (void)dnn_app::create(o);
    FAIL();
  } catch (const model_error& e) {
    EXPECT_NE(std::string(e.what()).find("lenet"), std::string::npos) << e.what();  // lists the available ones
  }
  if (!have_data()) return;
  o.model = "lenet";
  o.device = "gpu";
  if (!gpu_available()) {
    EXPECT_THROW((void)dnn_app::create(committed("lenet"), test_data(), o), config_error);
  }
}

TEST(DnnGpu, MatchesTheCpuEngine) {
  if (!have_data()) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  if (!gpu_available()) GTEST_SKIP() << "no CUDA engine or device";
  auto m = committed("lenet");
  network cpu(m, 100);
  gpu_network gpu(m, 100);
  const auto& d = test_data()->tune;
  gpu.upload(d);
  EXPECT_NEAR(gpu.accuracy(1000), cpu.accuracy(d, 1000), 0.3);
  layer_variant v;
  v.conv = kernels::perforated_rows(2, 0);
  cpu.set_variant(3, v);
  gpu.set_variant(3, v);
  EXPECT_NEAR(gpu.accuracy(1000), cpu.accuracy(d, 1000), 0.5);
}

TEST(DnnApp, OutputsGiveTheMeasuredAccuracyAndPi1IsExactOnSingleOps) {
  // The output interface (Pi-1): the arg-max of the outputs is `measure`'s accuracy, and the
  // Pi-1 prediction of the baseline and of every single-op configuration (base + its delta) is
  // the measured accuracy exactly. Random knobs per op, fresh seed.
  if (!have_data()) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  const auto seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  for (const std::string name : {"lenet", "vgg"}) {
    if (!fs::exists(fs::path(APPROXTUNE_TEST_MODELS_DIR) / (name + ".weights"))) continue;
    dnn_options o;
    o.model = name;
    o.cost = cost_mode::model;
    o.tune_images = 300;
    auto a = dnn_app::create(committed(name), test_data(), o);
    ASSERT_EQ(a->outputs(), a.get());
    ASSERT_EQ(a->output_size(split::tune), 300u * 10u);
    const auto& sp = a->space();
    const auto base = a->measure_outputs(sp.baseline_code(), split::tune);
    ASSERT_EQ(base.size(), 3000u);
    search::output_model m;
    m.base.assign(base.begin(), base.end());
    m.base_code = sp.baseline_code();
    m.delta.resize(sp.num_ops());
    for (std::size_t op = 0; op < sp.num_ops(); ++op) m.delta[op].resize(sp.num_knobs(op));
    std::vector<double> pred;
    m.predict(sp.baseline_code(), pred);  // no deltas yet: the baseline
    EXPECT_EQ(a->qos_from_outputs(pred, split::tune), a->measure(sp.baseline_code(), split::tune).qos) << name;
    std::vector<config_code> singles;
    for (std::size_t op = 0; op < sp.num_ops(); ++op) {
      for (int draw = 0; draw < 2 && sp.num_knobs(op) > 1; ++draw) {
        auto k = static_cast<knob_index>(rng() % sp.num_knobs(op));
        if (k == sp.baseline_index(op)) continue;
        auto c = sp.baseline_code();
        c[op] = k;
        const auto out = a->measure_outputs(c, split::tune);
        m.delta[op][k].clear();
        for (std::size_t j = 0; j < out.size(); ++j) m.delta[op][k].push_back(static_cast<double>(out[j]) - m.base[j]);
        singles.push_back(c);
      }
    }
    ASSERT_FALSE(singles.empty());
    search::output_predictor inc(m);
    for (const auto& c : singles) {
      const double measured = a->measure(c, split::tune).qos;
      const auto out = a->measure_outputs(c, split::tune);
      EXPECT_EQ(a->qos_from_outputs(std::vector<double>(out.begin(), out.end()), split::tune), measured) << name;
      m.predict(c, pred);
      EXPECT_EQ(a->qos_from_outputs(pred, split::tune), measured) << name;
      inc.set(c);
      EXPECT_EQ(a->qos_from_outputs(inc.outputs(), split::tune), measured) << name;
    }
    EXPECT_THROW(a->qos_from_outputs(std::vector<double>(10, 0.0), split::tune), config_error);
  }
}

}  // namespace
}  // namespace approxtune::dnn
