// The dnn app with the committed models and the real data set.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "approxtune/dnn/dnn_app.hpp"
#include "approxtune/dnn/error.hpp"
#include "approxtune/dnn/gpu_network.hpp"
#include "approxtune/knobs/catalogue.hpp"
#include "approxtune/search/predictive.hpp"
#include "approxtune/search/tuner.hpp"
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

// The lenet app with the FLOP cost (no timing) on the first @p tune / @p test images.
std::unique_ptr<dnn_app> lenet_model_cost(std::size_t tune, std::size_t test = 0, std::size_t prefix_mb = 1024) {
  dnn_options o;
  o.prefix_cache_mb = prefix_mb;
  o.model = "lenet";
  o.cost = cost_mode::model;
  o.tune_images = tune;
  o.test_images = test;
  return dnn_app::create(committed("lenet"), test_data(), o);
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
  // The vgg models check the tune split's baseline only (keeps the suite fast); lenet checks
  // both splits.
  for (const std::string name : {"lenet", "vgg", "vgg-wide", "vgg-256"}) {
    const fs::path weights = fs::path(APPROXTUNE_TEST_MODELS_DIR) / (name + ".weights");
    if (!fs::exists(weights)) continue;
    auto m = committed(name);
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
  auto a = lenet_model_cost(500);
  const auto base = a->measure(a->space().baseline_code(), split::tune);
  config_code code = a->space().baseline_code();
  code[1] = *a->space().find_knob(1, "123");  // conv2 row perforation stride 2
  const auto approx = a->measure(code, split::tune);
  EXPECT_LT(approx.cost, base.cost * 0.9);
  EXPECT_NE(approx.qos, base.qos);
  EXPECT_GT(approx.qos, 50.0);
}

TEST(DnnApp, KeptProfileOutputsAreTheOutputsOfAFreshPass) {
  // Pi-1's profiling hint: with keep_profile_outputs on, the QoS pass of the baseline and of a
  // single-op configuration on the tune split keeps its output, and measure_outputs hands it out
  // once; it must be bit-identical to a fresh pass of another app that keeps nothing. Multi-op
  // configurations, the test split and anything measured while off are not kept. Random knobs.
  if (!have_data()) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  const auto seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  auto a = lenet_model_cost(250, 100);
  auto fresh = lenet_model_cost(250, 100, 0);  // full passes only
  const auto& sp = a->space();
  auto single = [&](std::size_t op) {
    config_code c = sp.baseline_code();
    c[op] = static_cast<knob_index>(std::uniform_int_distribution<std::size_t>(0, sp.num_knobs(op) - 1)(rng));
    if (c[op] == sp.baseline_index(op)) c[op] = static_cast<knob_index>((c[op] + 1) % sp.num_knobs(op));
    return c;
  };
  const config_code s0 = single(0), s1 = single(1);
  config_code multi = s0;
  multi[1] = s1[1];
  const config_code before = single(1);  // measured before the hint: never kept

  auto e = a->make_evaluator(slot_info{});
  (void)e->measure(before, split::tune);
  a->keep_profile_outputs(true);
  std::vector<config_code> kept{sp.baseline_code(), s0, s1};
  for (const auto& c : kept) {
    const measurement m = e->measure(c, split::tune);
    EXPECT_EQ(m.qos, fresh->measure(c, split::tune).qos);  // the kept pass scores as predict does
  }
  (void)e->measure(multi, split::tune);
  (void)e->measure(sp.baseline_code(), split::test);
  EXPECT_EQ(a->kept_outputs_served(), 0u);
  for (const auto& c : kept) {
    const auto got = a->measure_outputs(c, split::tune);
    EXPECT_EQ(got, fresh->measure_outputs(c, split::tune));
  }
  EXPECT_EQ(a->kept_outputs_served(), kept.size());
  // Served once: the second request, the multi-op one, the test split and `before` are passes.
  EXPECT_EQ(a->measure_outputs(s0, split::tune), fresh->measure_outputs(s0, split::tune));
  EXPECT_EQ(a->measure_outputs(multi, split::tune), fresh->measure_outputs(multi, split::tune));
  EXPECT_EQ(a->measure_outputs(sp.baseline_code(), split::test), fresh->measure_outputs(sp.baseline_code(), split::test));
  if (before != s1) {
    EXPECT_EQ(a->measure_outputs(before, split::tune), fresh->measure_outputs(before, split::tune));
  }
  EXPECT_EQ(a->kept_outputs_served(), kept.size());
  // Off drops what is kept.
  (void)e->measure(s1, split::tune);
  a->keep_profile_outputs(false);
  EXPECT_EQ(a->measure_outputs(s1, split::tune), fresh->measure_outputs(s1, split::tune));
  EXPECT_EQ(a->kept_outputs_served(), kept.size());
  EXPECT_EQ(fresh->kept_outputs_served(), 0u);
}

// The oracle of a configuration on a split: a full forward pass of a network of its own, in
// batches of @p batch (as the app batches): the accuracy and the last layer's outputs.
std::pair<double, std::vector<float>> full_pass(const dnn_app& a, const config_code& code, split s, int batch) {
  network net(a.shared_model(), batch);
  a.apply(net, code);
  const labeled_images& d = a.split_data(s);
  const std::size_t total = a.split_images(s);
  const auto is = d.images.shape();
  std::vector<float> out;
  std::size_t ok = 0;
  for (std::size_t first = 0; first < total; first += static_cast<std::size_t>(batch)) {
    const int b = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(batch), total - first));
    const auto y = net.forward({d.images.data() + first * is.image_size(), {b, is.c, is.h, is.w}});
    out.insert(out.end(), y.data, y.data + y.size());
    const std::size_t k = y.shape.image_size();
    for (int i = 0; i < b; ++i) {
      const float* row = y.data + static_cast<std::size_t>(i) * k;
      ok += static_cast<int>(std::max_element(row, row + k) - row) == d.labels[first + static_cast<std::size_t>(i)];
    }
  }
  return {100.0 * static_cast<double>(ok) / static_cast<double>(total), out};
}

TEST(DnnApp, AccuracyPassesFromTheKeptExactActivationsAreBitIdentical) {
  // With the exact activations kept (dnn_options::prefix_cache_mb), a configuration whose first
  // ops are exact starts its accuracy pass at its first approximated layer. Its accuracy and
  // outputs must be those of a full pass, bit for bit, whatever op comes first and however much
  // memory is allowed (all, only the last layers, none); random knobs after the first
  // approximated op, a last batch smaller than the others, both splits.
  if (!have_data()) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  const auto seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  for (const std::size_t mb : {std::size_t{1024}, std::size_t{2}, std::size_t{0}}) {
    SCOPED_TRACE("prefix_cache_mb " + std::to_string(mb));
    dnn_options o;
    o.model = "vgg";
    o.cost = cost_mode::model;
    o.tune_images = 230;
    o.test_images = 130;
    o.batch = 50;
    o.prefix_cache_mb = mb;
    auto a = dnn_app::create(committed("vgg"), test_data(), o);
    const auto& sp = a->space();
    auto e = a->make_evaluator(slot_info{});
    std::size_t from_prefix = 0;
    for (std::size_t first_off = 0; first_off <= sp.num_ops(); ++first_off) {
      config_code c = sp.baseline_code();
      for (std::size_t op = first_off; op < sp.num_ops(); ++op)
        c[op] = static_cast<knob_index>(std::uniform_int_distribution<std::size_t>(0, sp.num_knobs(op) - 1)(rng));
      if (first_off < sp.num_ops() && c[first_off] == sp.baseline_index(first_off))
        c[first_off] = static_cast<knob_index>((c[first_off] + 1) % sp.num_knobs(first_off));
      for (const split s : {split::tune, split::test}) {
        SCOPED_TRACE("first op off " + std::to_string(first_off) + ", " + to_string(s));
        const auto [qos, outputs] = full_pass(*a, c, s, o.batch);
        EXPECT_EQ(e->measure(c, s).qos, qos);
        EXPECT_EQ(a->measure_outputs(c, s), outputs);
        // vgg's first op is its first layer: only later first ops can start later; the
        // activations are kept for the tune split only.
        if (first_off > 0 && s == split::tune) from_prefix += 2;
      }
    }
    if (mb == 0) EXPECT_EQ(a->prefix_passes(), 0u);
    else if (mb == 1024) EXPECT_EQ(a->prefix_passes(), from_prefix);
    else {  // 2 MiB hold the last layers' activations only
      EXPECT_GT(a->prefix_passes(), 0u);
      EXPECT_LT(a->prefix_passes(), from_prefix);
    }
  }
}

TEST(DnnApp, Pi1ThroughTheTunerTakesItsOutputsFromTheProfilingPasses) {
  // Predictive Pi-1 on lenet: every profiled output the strategy needs was kept from the
  // profiling's QoS pass (no extra pass, except the baseline when the tuner measured it before
  // the strategy existed). KeptProfileOutputsAreTheOutputsOfAFreshPass checks their values.
  if (!have_data()) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  auto a = lenet_model_cost(200, 100);
  tuner t(*a);
  tune_options to;
  to.strategy = "predictive";
  to.strategy_params = {{"qos_model", "pi1"}, {"validate", 5}, {"model_evaluations", 2000}};
  to.max_iter = 100000;
  to.relative = true;
  to.qos_tuner_threshold = 5.0;
  to.test_configs = false;
  to.seed = 1;
  to.devices = "cpu:2";
  t.tune(to);
  const auto& prof = t.summary().strategy_report.at("phases").at("profiling");
  const std::size_t passes = prof.at("output_passes").get<std::size_t>();
  const std::size_t kept = prof.at("outputs_from_profiling").get<std::size_t>();
  std::size_t profile = 1;
  for (std::size_t op = 0; op < a->space().num_ops(); ++op) profile += a->space().num_knobs(op) - 1;
  EXPECT_EQ(passes + kept, profile);
  EXPECT_LE(passes, 1u);
  EXPECT_GE(kept, profile - 1);
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
