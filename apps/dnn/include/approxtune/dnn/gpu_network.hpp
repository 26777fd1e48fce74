/**
 * @file gpu_network.hpp
 * @brief The inference engine on a CUDA device (builds with CUDA only; plain C++ header).
 *
 * Same contract as `network`: shares the model read-only (weights are uploaded once per
 * gpu_network, i.e. once per evaluator slot, never per configuration) and swaps each layer's
 * kernel variant in place. Images are uploaded once (`upload`) and then run from device memory,
 * so timings measure the ops, not PCIe transfers. `gpu_available()` says whether it can run.
 */
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "approxtune/dnn/dataset.hpp"
#include "approxtune/dnn/model.hpp"
#include "approxtune/dnn/network.hpp"

namespace approxtune::dnn {

/** @brief True if approxtune_dnn was built with the CUDA engine. */
bool gpu_engine_built() noexcept;
/** @brief True if the CUDA engine is built and a device is usable. */
bool gpu_available() noexcept;

/** @brief Batched inference on the current CUDA device. @throws config_error without CUDA */
class gpu_network {
 public:
  /** @param stream a cudaStream_t (e.g. slot_info::stream) or null for a new stream */
  gpu_network(std::shared_ptr<const model> m, int max_batch = 100, void* stream = nullptr);
  ~gpu_network();
  gpu_network(const gpu_network&) = delete;
  gpu_network& operator=(const gpu_network&) = delete;

  const model& net_model() const noexcept { return *model_; }
  const layer_variant& variant(std::size_t layer) const { return variants_.at(layer); }
  void set_variant(std::size_t layer, const layer_variant& v);
  void reset_variants();

  /** @brief Uploads @p data's images to the device (kept until the next upload). */
  void upload(const labeled_images& data);
  /** @brief Top-1 accuracy (percent) on the first @p count uploaded images (all when 0). */
  double accuracy(std::size_t count = 0);
  /** @brief Runs the first @p count uploaded images and waits for the device. */
  void run(std::size_t count = 0);
  /** @brief The data set last uploaded (null if none). */
  const labeled_images* uploaded() const noexcept { return uploaded_; }

  struct impl;  ///< device state (CUDA builds)

 private:
  std::shared_ptr<const model> model_;
  std::vector<layer_variant> variants_;
  const labeled_images* uploaded_ = nullptr;
  std::unique_ptr<impl> p_;
};

}  // namespace approxtune::dnn
