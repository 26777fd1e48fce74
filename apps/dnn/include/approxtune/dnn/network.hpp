/**
 * @file network.hpp
 * @brief The inference engine: runs a shared, read-only model on batches, with one kernel
 * variant per tunable op that a configuration swaps in place (weights are never copied).
 */
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "approxtune/dnn/dataset.hpp"
#include "approxtune/dnn/model.hpp"
#include "approxtune/kernels/ops.hpp"
#include "approxtune/kernels/workspace.hpp"

namespace approxtune::dnn {

/** @brief The variant of one layer: meaningful field chosen by the layer's type. */
struct layer_variant {
  kernels::conv_variant conv = kernels::exact_conv();
  kernels::dense_variant dense{};
  kernels::pool_variant pool = kernels::exact_pool();
  friend bool operator==(const layer_variant&, const layer_variant&) = default;
};

/**
 * @brief Batched CPU inference of a model. Owns its activation buffers and workspace (one
 * network per thread / evaluator slot); shares the model's weights read-only.
 */
class network {
 public:
  /** @param max_batch images per forward call; larger inputs are processed in chunks */
  explicit network(std::shared_ptr<const model> m, int max_batch = 100);

  const model& net_model() const noexcept { return *model_; }
  int max_batch() const noexcept { return max_batch_; }

  /** @brief Variant of layer @p layer (index into model().layers()). */
  const layer_variant& variant(std::size_t layer) const { return variants_.at(layer); }
  /** @brief Swaps the kernel variant of a layer in place. @throws shape_error if it cannot run there */
  void set_variant(std::size_t layer, const layer_variant& v);
  /** @brief Every layer back to its exact variant. */
  void reset_variants();

  /**
   * @brief Forward pass of @p batch ([n, C, H, W], n <= max_batch).
   * @return the last layer's output [n, classes, 1, 1], valid until the next call
   */
  kernels::const_tensor_view forward(kernels::const_tensor_view batch);
  /** @brief Where the forward pass from a later layer takes the output of an earlier layer
   * (index >= 0) or the input batch (-1) of the @p n images it runs. */
  using earlier_outputs = std::function<kernels::const_tensor_view(int layer)>;
  /**
   * @brief Forward pass of layers @p start.. only, for @p n images, reading the outputs of the
   * layers before @p start (and the input batch) from @p earlier: with the exact activations of
   * those layers this is bit-identical to `forward` (each layer is the same kernel on the same
   * input) and skips their arithmetic. @return as `forward`
   */
  kernels::const_tensor_view forward_from(std::size_t start, int n, const earlier_outputs& earlier);
  /** @brief Output of layer @p layer of the last forward pass (not valid before one). */
  kernels::const_tensor_view layer_output(std::size_t layer) const { return outputs_.at(layer).cview(); }

  /** @brief Top-1 predictions of the first @p count images of @p images (all when 0). */
  std::vector<int> predict(const kernels::tensor& images, std::size_t count = 0);
  /** @brief Top-1 accuracy in percent on the first @p count examples (all when 0). */
  double accuracy(const labeled_images& data, std::size_t count = 0);
  /** @brief Runs inference over the first @p count images without scoring (for timing). */
  void run(const kernels::tensor& images, std::size_t count = 0);

  /** @brief FLOPs for one image with the current variants (the cost model). */
  double flops() const;
  /** @brief FLOPs of layer @p layer for one image with variant @p v. */
  double layer_flops(std::size_t layer, const layer_variant& v) const;

 private:
  template <class InputOf>
  kernels::const_tensor_view run_layers(std::size_t start, int n, const InputOf& in_view);
  std::shared_ptr<const model> model_;
  int max_batch_;
  std::vector<layer_variant> variants_;
  std::vector<kernels::tensor> outputs_;
  kernels::workspace ws_;
};

}  // namespace approxtune::dnn
