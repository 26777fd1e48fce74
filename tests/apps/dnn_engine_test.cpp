// The inference engine against a naive float64 reference forward pass.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "approxtune/dnn/error.hpp"
#include "approxtune/dnn/network.hpp"
#include "dnn_test_util.hpp"

namespace approxtune::dnn {
namespace {

using kernels::shape4;

// Naive reference: NCHW double tensors, direct loops, straight from the definitions.
struct dt {
  shape4 s;
  std::vector<double> v;
  double& at(int n, int c, int h, int w) { return v[((static_cast<std::size_t>(n) * s.c + c) * s.h + h) * s.w + w]; }
};

std::vector<dt> reference_forward(const model& m, const kernels::tensor& x) {
  const int N = x.shape().n;
  dt in{x.shape(), std::vector<double>(x.data(), x.data() + x.size())};
  std::vector<dt> outs;
  auto input_of = [&](int i) -> dt& { return i < 0 ? in : outs[static_cast<std::size_t>(i)]; };
  for (const auto& l : m.layers()) {
    dt& a = input_of(l.inputs[0]);
    dt y{{N, l.out_shape.c, l.out_shape.h, l.out_shape.w}, {}};
    y.v.assign(y.s.size(), 0.0);
    const shape4 is = a.s;
    for (int n = 0; n < N; ++n) {
      switch (l.type) {
        case layer_type::conv:
          for (int k = 0; k < y.s.c; ++k)
            for (int oh = 0; oh < y.s.h; ++oh)
              for (int ow = 0; ow < y.s.w; ++ow) {
                double s = l.has_bias ? l.bias[static_cast<std::size_t>(k)] : 0.0;
                for (int c = 0; c < is.c; ++c)
                  for (int kh = 0; kh < l.kernel; ++kh)
                    for (int kw = 0; kw < l.kernel; ++kw) {
                      const int ih = oh * l.conv.stride_h - l.conv.pad_h + kh, iw = ow * l.conv.stride_w - l.conv.pad_w + kw;
                      if (ih < 0 || iw < 0 || ih >= is.h || iw >= is.w) continue;
                      s += a.at(n, c, ih, iw) *
                           l.weights[((static_cast<std::size_t>(k) * is.c + c) * l.kernel + kh) * l.kernel + kw];
                    }
                y.at(n, k, oh, ow) = s;
              }
          break;
        case layer_type::dense: {
          const std::size_t I = is.image_size();
          for (int o = 0; o < y.s.c; ++o) {
            double s = l.has_bias ? l.bias[static_cast<std::size_t>(o)] : 0.0;
            for (std::size_t i = 0; i < I; ++i) s += a.v[n * I + i] * l.weights[static_cast<std::size_t>(o) * I + i];
            y.at(n, o, 0, 0) = s;
          }
          break;
        }
        case layer_type::relu:
        case layer_type::tanh:
        case layer_type::batch_norm:
        case layer_type::add:
          for (int c = 0; c < is.c; ++c)
            for (int h = 0; h < is.h; ++h)
              for (int w = 0; w < is.w; ++w) {
                const double v = a.at(n, c, h, w);
                const auto cc = static_cast<std::size_t>(c);
                double r = 0;
                if (l.type == layer_type::relu) r = std::max(v, 0.0);
                else if (l.type == layer_type::tanh) r = std::tanh(v);
                else if (l.type == layer_type::batch_norm)
                  r = l.gamma[cc] * (v - l.mean[cc]) / std::sqrt(static_cast<double>(l.var[cc]) + l.eps) + l.beta[cc];
                else r = v + input_of(l.inputs[1]).at(n, c, h, w);
                y.at(n, c, h, w) = r;
              }
          break;
        case layer_type::max_pool:
        case layer_type::avg_pool:
          for (int c = 0; c < is.c; ++c)
            for (int oh = 0; oh < y.s.h; ++oh)
              for (int ow = 0; ow < y.s.w; ++ow) {
                double best = -1e300, sum = 0;
                int cnt = 0;
                for (int i = 0; i < l.pool.window_h; ++i)
                  for (int j = 0; j < l.pool.window_w; ++j) {
                    const int ih = oh * l.pool.stride_h + i, iw = ow * l.pool.stride_w + j;
                    best = std::max(best, a.at(n, c, ih, iw));
                    sum += a.at(n, c, ih, iw);
                    ++cnt;
                  }
                y.at(n, c, oh, ow) = l.type == layer_type::max_pool ? best : sum / cnt;
              }
          break;
        case layer_type::softmax: {
          double mx = -1e300, s = 0;
          for (int k = 0; k < is.c; ++k) mx = std::max(mx, a.at(n, k, 0, 0));
          for (int k = 0; k < is.c; ++k) s += std::exp(a.at(n, k, 0, 0) - mx);
          for (int k = 0; k < is.c; ++k) y.at(n, k, 0, 0) = std::exp(a.at(n, k, 0, 0) - mx) / s;
          break;
        }
      }
    }
    outs.push_back(std::move(y));
  }
  return outs;
}

kernels::tensor random_input(int n, shape4 s, std::uint64_t seed) {
  kernels::tensor x({n, s.c, s.h, s.w});
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = u(rng);
  return x;
}

TEST(DnnEngine, MatchesNaiveReferenceForward) {
  auto m = std::make_shared<const model>(test::tiny_model());
  network net(m, 3);
  const kernels::tensor x = random_input(5, m->input_shape(), 11);
  const auto ref = reference_forward(*m, x);
  // Two chunks (3 + 2): batches of different sizes reuse the buffers.
  for (int first : {0, 3}) {
    const int b = first == 0 ? 3 : 2;
    const auto y = net.forward({x.data() + static_cast<std::size_t>(first) * x.shape().image_size(),
                                {b, x.shape().c, x.shape().h, x.shape().w}});
    ASSERT_EQ(y.shape.n, b);
    ASSERT_EQ(y.shape.c, 3);
    for (int i = 0; i < b; ++i)
      for (int k = 0; k < 3; ++k)
        EXPECT_NEAR(y.at(i, k, 0, 0), ref.back().v[static_cast<std::size_t>(first + i) * 3 + static_cast<std::size_t>(k)], 1e-5)
            << "image " << first + i << " class " << k;
  }
}

TEST(DnnEngine, VariantSwapIsInPlaceAndReversible) {
  auto m = std::make_shared<const model>(test::tiny_model());
  const float* w0 = m->layers()[0].weights.data();
  network net(m, 4);
  const kernels::tensor x = random_input(4, m->input_shape(), 3);
  std::vector<float> exact;
  {
    auto y = net.forward(x.cview());
    exact.assign(y.data, y.data + y.size());
  }
  const double f0 = net.flops();
  layer_variant v;
  v.conv = kernels::perforated_rows(2, 0);
  net.set_variant(0, v);
  EXPECT_LT(net.flops(), f0);
  {
    auto y = net.forward(x.cview());
    std::vector<float> approx(y.data, y.data + y.size());
    EXPECT_NE(approx, exact);
  }
  EXPECT_EQ(m->layers()[0].weights.data(), w0);  // the model's weights are shared, never copied
  net.reset_variants();
  auto y = net.forward(x.cview());
  EXPECT_EQ(std::vector<float>(y.data, y.data + y.size()), exact);
  EXPECT_DOUBLE_EQ(net.flops(), f0);
}

TEST(DnnEngine, ForwardFromTheExactEarlierOutputsIsBitIdenticalToAFullPass) {
  // A pass from layer `start` that reads the exact network's outputs of the layers before it
  // (the residual add reads two of them) gives the full pass of the same configuration bit for
  // bit, for every start and random approximations at or after it; it really reads what it is
  // given (other values change what it computes) and never asks for a layer at or after `start`.
  const auto seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  auto m = std::make_shared<const model>(test::tiny_model(seed));
  const int n = 3;
  const kernels::tensor x = random_input(n, m->input_shape(), seed + 1);
  network exact(m, 4);
  (void)exact.forward(x.cview());
  std::vector<kernels::tensor> kept;
  for (std::size_t l = 0; l < m->layers().size(); ++l) {
    const auto y = exact.layer_output(l);
    kept.emplace_back(y.shape, std::vector<float>(y.data, y.data + y.size()));
  }
  const std::vector<kernels::conv_variant> conv_choices = {
      kernels::exact_conv(), kernels::perforated_rows(2, 1), kernels::perforated_cols(3, 0), kernels::filter_sampling(2, 1)};
  for (std::size_t start = 1; start < m->layers().size(); ++start) {
    network full(m, 4), from(m, 4);
    for (std::size_t l = start; l < m->layers().size(); ++l) {
      if (m->layers()[l].type != layer_type::conv) continue;
      layer_variant v;
      v.conv = conv_choices[std::uniform_int_distribution<std::size_t>(0, conv_choices.size() - 1)(rng)];
      try {
        full.set_variant(l, v);
      } catch (const std::exception&) {
        continue;  // e.g. a perforation that would leave this small output empty
      }
      from.set_variant(l, v);
    }
    const auto yf = full.forward(x.cview());
    const std::vector<float> want(yf.data, yf.data + yf.size());
    std::vector<int> asked;
    const auto y = from.forward_from(start, n, [&](int l) -> kernels::const_tensor_view {
      asked.push_back(l);
      return l < 0 ? x.cview() : kept[static_cast<std::size_t>(l)].cview();
    });
    EXPECT_EQ(std::vector<float>(y.data, y.data + y.size()), want) << "start " << start;
    for (const int l : asked) EXPECT_LT(l, static_cast<int>(start)) << "start " << start;
    EXPECT_FALSE(asked.empty());
    // Unrelated positive values as the earlier outputs change the first layer it computes (the
    // final output may not change: a ReLU can zero both), so they were read, not recomputed.
    const auto first = from.layer_output(start);
    const std::vector<float> first_exact(first.data, first.data + first.size());
    std::uniform_real_distribution<float> pos(0.5f, 1.5f);
    kernels::tensor other_in({n, 2, 8, 8});
    for (std::size_t i = 0; i < other_in.size(); ++i) other_in.data()[i] = pos(rng);
    std::vector<kernels::tensor> other;
    for (const auto& t : kept) {
      other.emplace_back(t.shape());
      for (std::size_t i = 0; i < t.size(); ++i) other.back().data()[i] = pos(rng);
    }
    (void)from.forward_from(start, n, [&](int l) -> kernels::const_tensor_view {
      return l < 0 ? other_in.cview() : other[static_cast<std::size_t>(l)].cview();
    });
    const auto changed = from.layer_output(start);
    EXPECT_NE(std::vector<float>(changed.data, changed.data + changed.size()), first_exact) << "start " << start;
  }
}

TEST(DnnEngine, ForwardFromRejectsBadArguments) {
  auto m = std::make_shared<const model>(test::tiny_model());
  network net(m, 2);
  kernels::tensor wrong({2, 1, 1, 1});
  const auto give_wrong = [&](int) -> kernels::const_tensor_view { return wrong.cview(); };
  EXPECT_THROW(net.forward_from(3, 2, give_wrong), config_error);                     // shape mismatch
  EXPECT_THROW(net.forward_from(m->layers().size(), 2, give_wrong), config_error);   // no such layer
  EXPECT_THROW(net.forward_from(3, 3, give_wrong), config_error);                     // > max_batch
  EXPECT_THROW(net.forward_from(3, 0, give_wrong), config_error);
}

TEST(DnnEngine, RejectsWrongInputShape) {
  auto m = std::make_shared<const model>(test::tiny_model());
  network net(m, 2);
  kernels::tensor x({3, 2, 8, 8});
  EXPECT_THROW(net.forward(x.cview()), config_error);
  kernels::tensor z({1, 1, 8, 8});
  EXPECT_THROW(net.forward(z.cview()), config_error);
}

TEST(DnnModel, SaveLoadRoundTripAndHash) {
  const model m = test::tiny_model();
  const auto dir = std::filesystem::temp_directory_path() / "approxtune_dnn_model_test";
  std::filesystem::remove_all(dir);
  m.save(dir);
  const model back = model::load(dir, "tiny");
  EXPECT_EQ(back.content_hash(), m.content_hash());
  EXPECT_EQ(back.num_params(), m.num_params());
  EXPECT_EQ(list_models(dir), std::vector<std::string>{"tiny"});
  EXPECT_NE(test::tiny_model(8).content_hash(), m.content_hash());
  // A truncated weights file is rejected with a clear error.
  const auto wf = dir / "tiny.weights";
  std::filesystem::resize_file(wf, std::filesystem::file_size(wf) - 5);
  try {
    (void)model::load(dir, "tiny");
    FAIL() << "expected model_error";
  } catch (const model_error& e) {
    EXPECT_NE(std::string(e.what()).find("tiny.weights"), std::string::npos) << e.what();
  }
  EXPECT_THROW((void)model::load(dir, "nope"), model_error);
  std::filesystem::remove_all(dir);
}

// Bad input (docs/bad-input.md): weights that are not numbers, a weights path leading out of
// the models folder, sizes that cannot be allocated.
TEST(DnnModel, NonFiniteWeightsAreRejectedNamingTheTensor) {
  const auto dir = std::filesystem::temp_directory_path() / "approxtune_dnn_nonfinite_test";
  std::filesystem::remove_all(dir);
  for (const float bad : {std::nanf(""), INFINITY, -INFINITY}) {
    model m = test::tiny_model();
    m.mutable_layers()[0].weights[3] = bad;
    m.save(dir);  // a valid file (its checksum matches) holding a non-finite value
    try {
      (void)model::load(dir, "tiny");
      FAIL() << "expected model_error for " << bad;
    } catch (const model_error& e) {
      const std::string w = e.what();
      EXPECT_NE(w.find("non-finite"), std::string::npos) << w;
      EXPECT_NE(w.find(m.layers()[0].name + ".weight"), std::string::npos) << w;
      EXPECT_NE(w.find("index 3"), std::string::npos) << w;
    }
  }
  std::filesystem::remove_all(dir);
}

TEST(DnnModel, WeightsPathsOutsideTheModelsFolderNeedConsent) {
  const auto root = std::filesystem::temp_directory_path() / "approxtune_dnn_outside_test";
  std::filesystem::remove_all(root);
  const auto dir = root / "models";
  test::tiny_model().save(dir);
  std::filesystem::rename(dir / "tiny.weights", root / "tiny.weights");
  std::filesystem::create_directories(dir / "sub");
  auto with_weights = [&](const std::string& w) {
    std::ifstream in(dir / "tiny.json");
    auto j = nlohmann::json::parse(in);
    j["weights"] = w;
    std::ofstream(dir / "tiny.json", std::ios::trunc) << j.dump();
  };
  for (const std::string& w : {(root / "tiny.weights").string(), std::string("../tiny.weights"),
                              std::string("sub/../../tiny.weights")}) {
    with_weights(w);
    try {
      (void)model::load(dir, "tiny");
      FAIL() << "expected model_error for " << w;
    } catch (const model_error& e) {
      EXPECT_NE(std::string(e.what()).find("outside the models folder"), std::string::npos) << e.what();
    }
    EXPECT_EQ(model::load(dir, "tiny", /*allow_outside_dir=*/true).num_params(), test::tiny_model().num_params());
  }
  // Inside the folder (also through a harmless "..") is fine; a non-string is named.
  std::filesystem::rename(root / "tiny.weights", dir / "tiny.weights");
  with_weights("sub/../tiny.weights");
  EXPECT_NO_THROW((void)model::load(dir, "tiny"));
  {
    std::ifstream in(dir / "tiny.json");
    auto j = nlohmann::json::parse(in);
    j["weights"] = 5;
    std::ofstream(dir / "tiny.json", std::ios::trunc) << j.dump();
  }
  try {
    (void)model::load(dir, "tiny");
    FAIL() << "expected model_error";
  } catch (const model_error& e) {
    EXPECT_NE(std::string(e.what()).find("field 'weights' must be a string"), std::string::npos) << e.what();
  }
  EXPECT_THROW((void)model::load(dir, "../models/tiny"), model_error);
  std::filesystem::remove_all(root);
}

TEST(DnnModel, LayersTooLargeForMemoryAreNamed) {
  // Checked before any allocation (2^28 elements per layer or image tensor), so this never
  // tries to allocate terabytes, under sanitizers either.
  const auto base = test::tiny_model().to_json();
  const std::string conv = base["layers"][0]["name"].get<std::string>();
  struct bad_case {
    const char* field;
    nlohmann::json value;
    std::string needle;
  };
  for (const auto& c : {bad_case{"filters", 2000000000, "layer '" + conv + "'"},
                        bad_case{"filters", -8, "layer '" + conv + "'"},
                        bad_case{"filters", 1 << 23, "layer '" + conv + "': output"}}) {
    auto arch = base;
    arch["layers"][0][c.field] = c.value;
    try {
      (void)model::from_json(arch);
      FAIL() << "expected model_error for " << c.field << " = " << c.value;
    } catch (const model_error& e) {
      EXPECT_NE(std::string(e.what()).find(c.needle), std::string::npos) << e.what();
    }
  }
  auto arch = base;
  arch["input"]["height"] = 100000;
  arch["input"]["width"] = 100000;
  try {
    (void)model::from_json(arch);
    FAIL() << "expected model_error";
  } catch (const model_error& e) {
    EXPECT_NE(std::string(e.what()).find("input [1,"), std::string::npos) << e.what();
  }
}

TEST(DnnModel, FlopsAndShapes) {
  const model m = test::tiny_model();
  EXPECT_EQ(m.tunable_layers().size(), 5u);
  EXPECT_EQ(m.layers()[6].out_shape, (shape4{1, 5, 2, 2}));
  // conv1: 2*K*C*KH*KW*OH*OW MACs x2 + bias
  EXPECT_GT(m.layers()[0].flops(), 2.0 * 4 * 2 * 9 * 64 - 1);
  EXPECT_GT(m.flops(), 0);
}

}  // namespace
}  // namespace approxtune::dnn
