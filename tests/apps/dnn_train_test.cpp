// The trainer: finite-difference gradient checks of every layer's backward pass, loss decrease
// on a tiny problem, and determinism.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "approxtune/dnn/network.hpp"
#include "approxtune/dnn/train.hpp"
#include "dnn_test_util.hpp"

namespace approxtune::dnn {
namespace {

struct tiny_batch {
  std::vector<float> images;
  std::vector<int> labels;
};

tiny_batch random_batch(const model& m, int n, std::uint64_t seed) {
  tiny_batch b;
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  b.images.resize(static_cast<std::size_t>(n) * m.input_shape().image_size());
  for (auto& v : b.images) v = u(rng);
  for (int i = 0; i < n; ++i) b.labels.push_back(static_cast<int>(rng() % static_cast<std::uint64_t>(m.classes())));
  return b;
}

// Central differences in float: relative error tolerance of a few percent, checked on a sample.
TEST(DnnTrainer, GradientsMatchFiniteDifferences) {
  model m = test::tiny_model(3);
  train_options o;
  o.blas_threads = 1;
  trainer t(m, o);
  const tiny_batch b = random_batch(m, 4, 5);
  t.forward_backward(b.images.data(), b.labels.data(), 4);
  auto pg = t.params_and_grads();
  // Copy analytic gradients (forward_backward overwrites them).
  std::vector<std::vector<float>> analytic;
  for (auto& [p, g] : pg) analytic.push_back(*g);
  std::mt19937_64 rng(1);
  int checked = 0, bad = 0;
  for (std::size_t k = 0; k < pg.size(); ++k) {
    auto& w = *pg[k].first;
    for (int s = 0; s < 6; ++s) {
      const std::size_t i = rng() % w.size();
      const float orig = w[i];
      const float h = 1e-2f;
      w[i] = orig + h;
      const double lp = t.forward_backward(b.images.data(), b.labels.data(), 4);
      w[i] = orig - h;
      const double lm = t.forward_backward(b.images.data(), b.labels.data(), 4);
      w[i] = orig;
      const double fd = (lp - lm) / (2.0 * h);
      const double an = analytic[k][i];
      ++checked;
      if (std::abs(fd - an) > 2e-3 + 0.05 * std::max(std::abs(fd), std::abs(an))) {
        ++bad;
        ADD_FAILURE() << "param tensor " << k << " index " << i << ": analytic " << an << " vs numeric " << fd;
      }
    }
  }
  EXPECT_GT(checked, 50);
  EXPECT_EQ(bad, 0);
}

TEST(DnnTrainer, ReducesLossOnATinyProblem) {
  model m = model::from_json(test::tiny_arch());
  train_options o;
  o.blas_threads = 1;
  o.lr = 0.01;
  o.seed = 4;
  trainer t(m, o);
  t.init_params();
  // A learnable problem: the label is the quadrant-of-mass of a bright blob.
  const int n = 32;
  tiny_batch b = random_batch(m, n, 9);
  for (int i = 0; i < n; ++i) {
    const int label = b.labels[static_cast<std::size_t>(i)];
    float* img = b.images.data() + static_cast<std::size_t>(i) * m.input_shape().image_size();
    for (int y = 0; y < 8; ++y)
      for (int x = 0; x < 8; ++x) img[y * 8 + x] *= 0.2f;
    for (int y = 0; y < 3; ++y)
      for (int x = 0; x < 3; ++x) img[(1 + y + 2 * label) * 8 + 1 + x + label] += 1.0f;
  }
  const double before = t.eval_loss(b.images.data(), b.labels.data(), n);
  double first = 0, last = 0;
  for (int it = 0; it < 60; ++it) {
    const double l = t.forward_backward(b.images.data(), b.labels.data(), n);
    if (it == 0) first = l;
    last = l;
    t.adam_step(o.lr);
  }
  EXPECT_LT(last, 0.5 * first);
  EXPECT_LT(t.eval_loss(b.images.data(), b.labels.data(), n), before);
}

TEST(DnnTrainer, SameSeedSameWeights) {
  auto run = [](std::uint64_t seed, int threads) {
    model m = model::from_json(test::tiny_arch());
    train_options o;
    o.blas_threads = threads;
    o.seed = seed;
    o.epochs = 2;
    o.batch = 8;
    labeled_images d;
    d.images = kernels::tensor({40, 2, 8, 8});
    std::mt19937_64 rng(2);
    for (std::size_t i = 0; i < d.images.size(); ++i) d.images.data()[i] = static_cast<float>(rng() % 256) / 255.0f;
    for (int i = 0; i < 40; ++i) d.labels.push_back(i % 3);
    d.classes = 3;
    train(m, d, o);
    return m.content_hash();
  };
  EXPECT_EQ(run(1, 1), run(1, 1));
  EXPECT_EQ(run(1, 1), run(1, 2));  // the thread count does not change any sum
  EXPECT_NE(run(1, 1), run(2, 1));
}

}  // namespace
}  // namespace approxtune::dnn
