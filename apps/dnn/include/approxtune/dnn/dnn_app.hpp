/**
 * @file dnn_app.hpp
 * @brief The `dnn` app: tunes the conv and dense layers of a trained CNN on Fashion-MNIST.
 *
 * Ops = the model's conv and dense layers (in order); knobs = the reference catalogue's knobs
 * for the op kind that exist on the target device (cpu: 11, 121-138, 231-239 for conv and 11
 * for dense; gpu: the fp16 twins too, baseline 12, run by `gpu_network`; perforations that would leave a layer's output empty are left out); QoS = top-1
 * accuracy in percent on the split; cost = measured inference time (median of repeats, timed
 * exclusively, paired with the exact network by default) or the FLOP cost model, the tuner
 * making it relative to the baseline. It exposes its outputs (`output_app`, for predictive
 * tuning's Pi-1): the last layer's output (class probabilities) of every image of the split.
 */
#pragma once

#include <atomic>
#include <cstddef>
#include <filesystem>
#include <map>
#include <mutex>
#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

#include "approxtune/dnn/dataset.hpp"
#include "approxtune/dnn/model.hpp"
#include "approxtune/dnn/network.hpp"
#include "approxtune/runtime/app.hpp"

namespace approxtune::dnn {

/** @brief How the dnn app computes a configuration's cost. */
enum class cost_mode {
  time,   ///< wall-clock median of `timing_repeats` inference runs, in an exclusive section
  model,  ///< FLOPs of the chosen variants (sum over layers), no timing
};

/** @brief Options of the dnn app. */
struct dnn_options {
  std::string model;                    ///< model name (e.g. "vgg", "lenet")
  std::filesystem::path models_dir;     ///< empty: resolve_models_dir()
  bool allow_outside_paths = false;     ///< follow a weights path leading outside models_dir
  std::filesystem::path data_dir = default_fashion_mnist_dir;
  std::size_t tune_images = 0;          ///< QoS on the first N tune-split images (0 = all 5,000)
  std::size_t test_images = 0;          ///< QoS on the first N test-split images (0 = all 5,000)
  std::size_t timing_images = 1000;     ///< images per timed inference run (0 = the QoS images)
  int timing_repeats = 5;               ///< timed runs per measurement; the median is the cost
  /// Paired timing: every timed run of the configuration follows a timed run of the exact network
  /// on the same images, and the cost is the median of the time ratios (the exact network costs
  /// 1, and the baseline configuration is not timed). This cancels the drift of a machine shared
  /// with other work, at twice the timing time.
  /// Off: the cost is the median time in seconds.
  bool paired_timing = true;
  cost_mode cost = cost_mode::time;
  std::string device = "cpu";           ///< "cpu", or "gpu" (CUDA builds with a device): knobs and engine
  int batch = 100;                      ///< images per forward call
  /// Memory (MiB) for the exact network's activations over the tune split, so that the CPU
  /// accuracy pass of a configuration whose first ops are on their baseline knob starts at its
  /// first approximated layer (bit-identical results; the timed runs always run the whole
  /// network). Kept for the latest layers that fit; 0 = off.
  std::size_t prefix_cache_mb = 1024;
};

/** @brief The dnn app. Weights and data are loaded once and shared by every evaluator. */
class dnn_app : public app, public output_app {
 public:
  /**
   * @brief Loads the model and the data set and declares the ops and knobs.
   * @throws model_error, dataset_error (with the install hint), config_error
   */
  static std::unique_ptr<dnn_app> create(const dnn_options& o);
  /** @brief From an already loaded model and data (tests). */
  static std::unique_ptr<dnn_app> create(std::shared_ptr<const model> m,
                                         std::shared_ptr<const fashion_mnist> data, const dnn_options& o);

  std::string name() const override { return "dnn:" + model_->name(); }
  std::unique_ptr<evaluator> make_evaluator(const slot_info& slot) const override;
  measurement measure(const config_code& code, split s) const override;
  bool cost_is_timed() const override { return options_.cost == cost_mode::time; }
  std::vector<std::string> hpvm_lines(const config_code& code) const override;
  std::uint64_t content_hash() const override;
  const output_app* outputs() const override { return this; }

  /** @brief Images of the split x values of the last layer's output per image. */
  std::size_t output_size(split s) const override;
  /**
   * @brief The last layer's output for every image of split @p s (image-major), computed on
   * the CPU with the same batching as `measure`, so its arg-max gives `measure`'s accuracy.
   * Thread-safe. @throws config_error for the gpu device (its fp16 variants are not run here)
   */
  std::vector<float> measure_outputs(const config_code& code, split s) const override;
  /** @brief Top-1 accuracy in percent of @p outputs (first maximum wins, as in `measure`). */
  double qos_from_outputs(std::span<const double> outputs, split s) const override;
  /**
   * @brief While on, CPU `measure` keeps the tune-split output of the baseline and of every
   * single-op configuration from its QoS pass (the same forward pass `measure_outputs` runs, so the same
   * values), and `measure_outputs` hands each one out once instead of running it again.
   */
  void keep_profile_outputs(bool on) const override;
  std::size_t kept_outputs_served() const override { return kept_served_.load(); }

  const model& net_model() const noexcept { return *model_; }
  std::shared_ptr<const model> shared_model() const noexcept { return model_; }
  const fashion_mnist& data() const noexcept { return *data_; }
  const dnn_options& options() const noexcept { return options_; }
  /** @brief Model layer index of op @p op. */
  int layer_of_op(std::size_t op) const { return op_layers_.at(op); }

  /** @brief The kernel variant knob @p knob_name selects for op @p op. */
  layer_variant variant_for(std::size_t op, const std::string& knob_name) const;
  /** @brief Sets every tunable layer of @p net to the variants of @p code (in place). */
  void apply(network& net, const config_code& code) const;

  /** @brief Accuracy passes (CPU) that started at a later layer from the kept exact activations. */
  std::size_t prefix_passes() const noexcept { return prefix_passes_.load(); }

  /** @brief The data of split @p s limited to the configured image count. */
  const labeled_images& split_data(split s) const;
  std::size_t split_images(split s) const;

 private:
  dnn_app(std::vector<op_knobs> ops, std::string device, std::shared_ptr<const model> m,
          std::shared_ptr<const fashion_mnist> data, dnn_options o, std::vector<int> op_layers);

  template <class DeviceOps>
  friend class dnn_evaluator_of;  // the CPU and GPU slot evaluators (dnn_app.cpp)
  /// QoS passes of a device hold its mutex shared, timed sections exclusively: a timing never
  /// overlaps any other pass on that device.
  std::shared_mutex& device_mutex(const std::string& device_id) const;
  std::shared_ptr<const model> model_;
  std::shared_ptr<const fashion_mnist> data_;
  dnn_options options_;
  std::vector<int> op_layers_;
  mutable std::mutex device_mutexes_lock_;
  mutable std::map<std::string, std::unique_ptr<std::shared_mutex>> device_mutexes_;
  /// The exact network's activations over a split (see dnn_options::prefix_cache_mb).
  struct exact_prefix {
    std::vector<int> start_of_op;            ///< per op: the layer a pass may start at (-1: none)
    std::map<int, kernels::tensor> outputs;  ///< layer -> its output for every image of the split
  };
  /// The kept activations of split @p s, computed by the first caller (null for the test split,
  /// when off, or when nothing fits).
  std::shared_ptr<const exact_prefix> prefix_for(split s) const;
  /// Runs @p net, configured as @p code, over the images of split @p s in `network::predict`'s
  /// batches, starting each batch at the latest layer the kept exact activations allow, and
  /// hands every batch's last-layer output to @p sink(first image, output) (the caller holds
  /// the device mutex shared).
  template <class Sink>
  void forward_split(network& net, const config_code& code, split s, Sink&& sink) const;
  /// The last layer's output of @p net (configured as @p code) for every image of split @p s.
  std::vector<float> forward_outputs(network& net, const config_code& code, split s) const;
  /// Top-1 accuracy (percent) of @p net (configured as @p code) on split @p s, as `network::accuracy`.
  double cpu_accuracy(network& net, const config_code& code, split s) const;
  mutable std::mutex prefix_lock_;
  mutable std::shared_ptr<const exact_prefix> prefix_;  ///< the tune split's
  mutable bool prefix_built_ = false;
  mutable std::atomic<std::size_t> prefix_passes_{0};
  /// `qos_from_outputs` of a float output of the right size (no widened copy).
  double qos_of_outputs(const std::vector<float>& out, split s) const;
  /// True if `measure` of @p code on split @p s should keep its output: keep_profile_outputs is
  /// on, @p s is the tune split (what Pi-1 profiles) and at most one op is off its baseline knob.
  bool keeps_output_of(const config_code& code, split s) const;
  void keep_output(const config_code& code, split s, std::vector<float> out) const;
  mutable std::atomic<bool> keep_outputs_{false};
  mutable std::mutex kept_lock_;
  mutable std::map<std::pair<config_code, split>, std::vector<float>> kept_;  ///< profile outputs
  mutable std::atomic<std::size_t> kept_served_{0};
};

/** @brief Declares the ops and knobs of @p m for @p device ("cpu" or "gpu"). */
std::vector<op_knobs> dnn_ops(const model& m, const std::string& device, std::vector<int>* op_layers = nullptr);

}  // namespace approxtune::dnn
