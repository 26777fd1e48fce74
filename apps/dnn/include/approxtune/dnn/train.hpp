/**
 * @file train.hpp
 * @brief A small deterministic CNN trainer: the backward passes of every layer type the engine
 * runs, softmax cross-entropy, Adam, seeded initialisation and shuffling.
 *
 * Internally activations are channel-major over the batch ([C, N, H, W]) so that a convolution
 * over a whole mini-batch is one im2col and one OpenBLAS GEMM per pass (forward, weight
 * gradient, input gradient). Determinism: parameters are initialised and examples shuffled by
 * a seeded std::mt19937_64 with hand-written normal/shuffle (no implementation-defined
 * distributions); every reduction runs in a fixed order on one thread; OpenBLAS GEMMs split
 * only their output among threads, so the thread count does not change any sum.
 */
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "approxtune/dnn/dataset.hpp"
#include "approxtune/dnn/model.hpp"

namespace approxtune::dnn {

/** @brief Trainer settings. */
struct train_options {
  int epochs = 5;
  int batch = 64;
  double lr = 1e-3;         ///< Adam step size at epoch 0
  double lr_decay = 0.6;    ///< multiplied into the step size after every epoch
  double beta1 = 0.9, beta2 = 0.999, adam_eps = 1e-8;
  double weight_decay = 0.0;  ///< L2 on conv/dense weights (added to the gradient)
  double bn_momentum = 0.1;
  std::uint64_t seed = 1;
  int blas_threads = 2;
  std::size_t max_examples = 0;  ///< 0 = all training examples
  std::function<void(const std::string&)> log;  ///< progress lines (may be empty)
};

/** @brief The trainer; holds gradients, Adam state and activations for one mini-batch size. */
class trainer {
 public:
  trainer(model& m, train_options o);
  ~trainer();
  trainer(const trainer&) = delete;
  trainer& operator=(const trainer&) = delete;

  /** @brief He-normal weights (seeded), zero biases, BN gamma 1 beta 0 mean 0 var 1. */
  void init_params();
  /**
   * @brief Forward (training mode: batch statistics) and backward over @p n images (NCHW) with
   * their labels; fills the gradients. @return the mean cross-entropy loss
   */
  double forward_backward(const float* images, const int* labels, int n);
  /** @brief Mean loss in inference mode (running BN statistics) over @p n images. */
  double eval_loss(const float* images, const int* labels, int n);
  /** @brief One Adam step with step size @p lr using the current gradients. */
  void adam_step(double lr);
  /** @brief One epoch over @p data (seeded shuffle). @return the mean training loss */
  double train_epoch(const labeled_images& data, int epoch);
  /** @brief Inference-mode top-1 accuracy (percent) with the trainer's own forward pass. */
  double accuracy(const labeled_images& data);

  /** @brief (parameter, gradient) pairs in a fixed order (for gradient checks). */
  std::vector<std::pair<std::vector<float>*, const std::vector<float>*>> params_and_grads();

 private:
  struct impl;
  std::unique_ptr<impl> p_;
};

/**
 * @brief Initialises and trains @p m on @p data, logging per-epoch loss through o.log and
 * calling @p after_epoch (e.g. to checkpoint) after every epoch. The step size of epoch e is
 * lr * lr_decay^e whatever the epoch count, so stopping after k epochs gives the weights of a
 * k-epoch run.
 */
void train(model& m, const labeled_images& data, const train_options& o,
           const labeled_images* monitor = nullptr,
           const std::function<void(int epoch)>& after_epoch = {});

}  // namespace approxtune::dnn
