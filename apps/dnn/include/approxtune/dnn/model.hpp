/**
 * @file model.hpp
 * @brief A CNN as a graph of layers, described by a JSON architecture file plus a binary weights
 * file, with shapes inferred and FLOPs computed for the cost model.
 *
 * Architecture file (`<name>.json`):
 * @code{.json}
 * {"schema": "approxtune.dnn.model", "version": 1, "name": "lenet",
 *  "input": {"channels": 1, "height": 28, "width": 28}, "classes": 10,
 *  "weights": "lenet.weights",
 *  "layers": [
 *    {"name": "conv1", "type": "conv", "filters": 8, "kernel": 5, "stride": 1, "pad": 2},
 *    {"name": "relu1", "type": "relu"},
 *    {"name": "pool1", "type": "max_pool", "window": 2, "stride": 2},
 *    {"name": "bn1", "type": "batch_norm", "eps": 1e-5},
 *    {"name": "res1", "type": "add", "inputs": ["pool1", "bn1"]},
 *    {"name": "fc1", "type": "dense", "units": 10},
 *    {"name": "prob", "type": "softmax"}],
 *  "accuracy": {"tune": 90.0, "test": 89.5}, "training": {...}}
 * @endcode
 * Layer types: conv (`filters`, `kernel`, `stride`=1, `pad`=0, `bias`=true), dense (`units`,
 * `bias`=true; flattens its input in C,H,W order), relu, tanh, max_pool / avg_pool (`window`=2,
 * `stride`=window, `pad`=0), batch_norm (`eps`=1e-5), add (`inputs`: two layer names; "input" is
 * the model input), softmax. A layer reads the previous layer unless `inputs` names others.
 *
 * Weights file: "ATWT", u32 version 1, u32 tensor count, then per tensor: u32 name length, the
 * name ("conv1.weight", "conv1.bias", "bn1.gamma", "bn1.beta", "bn1.mean", "bn1.var"), u32 element
 * count, little-endian float32 elements; then the u64 FNV-1a hash of everything before it.
 */
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "approxtune/kernels/tensor.hpp"
#include "approxtune/kernels/variants.hpp"

namespace approxtune::dnn {

/** @brief The kinds of layer the engine runs. */
enum class layer_type { conv, dense, relu, tanh, max_pool, avg_pool, batch_norm, add, softmax };

/** @brief "conv", "dense", "relu", "tanh", "max_pool", "avg_pool", "batch_norm", "add", "softmax". */
const char* to_string(layer_type t) noexcept;

/** @brief One layer: its description, inferred shapes and parameters. */
struct layer {
  std::string name;
  layer_type type = layer_type::relu;
  std::vector<int> inputs;  ///< producer layer indices; -1 is the model input
  // conv / dense
  int filters = 0;  ///< conv output channels, dense units
  int kernel = 0;
  kernels::conv_params conv{};
  bool has_bias = true;
  // pooling
  kernels::pool_params pool{};
  // batch norm
  float eps = 1e-5f;
  // shapes for one image (n = 1)
  kernels::shape4 in_shape{}, out_shape{};
  kernels::shape4 weight_shape{};  ///< conv: [K, C, KH, KW]; dense: [O, I, 1, 1]
  // parameters
  std::vector<float> weights, bias, gamma, beta, mean, var;

  /** @brief True for conv and dense: the tunable ops. */
  bool tunable() const noexcept { return type == layer_type::conv || type == layer_type::dense; }
  /** @brief Baseline FLOPs of the layer for one image. */
  double flops() const;
};

/** @brief A model: architecture, weights, recorded metadata. Immutable once loaded; share it. */
class model {
 public:
  /** @brief Builds the layers from an architecture document; parameters are zero-filled. */
  static model from_json(const nlohmann::json& arch);
  /**
   * @brief Loads `<dir>/<name>.json` and the weights file it names (relative to @p dir).
   * @param allow_outside_dir follow a weights path (or model name) that leads outside @p dir
   *        (absolute, or through ".."); refused by default, since the architecture file may
   *        come from someone else (the CLI's --allow-outside-paths)
   * @throws model_error naming the file, the tensor and what is wrong
   */
  static model load(const std::filesystem::path& dir, const std::string& name,
                    bool allow_outside_dir = false);
  /** @brief Loads an architecture file and a weights file. @throws model_error */
  static model load_files(const std::filesystem::path& arch, const std::filesystem::path& weights);
  /** @brief Writes `<dir>/<name>.json` and `<dir>/<name>.weights`. @throws model_error */
  void save(const std::filesystem::path& dir) const;

  /** @brief Reads the weights file into the layers. @throws model_error */
  void read_weights(const std::filesystem::path& weights);
  /** @brief Writes the weights file. */
  void write_weights(const std::filesystem::path& weights) const;

  const std::string& name() const noexcept { return name_; }
  /** @brief Input shape of one image, [1, C, H, W]. */
  kernels::shape4 input_shape() const noexcept { return input_; }
  int classes() const noexcept { return classes_; }
  const std::vector<layer>& layers() const noexcept { return layers_; }
  std::vector<layer>& mutable_layers() noexcept { return layers_; }
  /** @brief Indices of the conv and dense layers, in order: the tuner's ops. */
  std::vector<int> tunable_layers() const;
  /** @brief Baseline FLOPs for one image (sum over layers). */
  double flops() const;
  /** @brief Number of parameters. */
  std::size_t num_params() const;
  /** @brief The architecture as JSON (with metadata: "accuracy", "training"). */
  nlohmann::json to_json() const;
  /** @brief Free-form metadata kept in the architecture file (accuracy, training). */
  nlohmann::json& metadata() noexcept { return metadata_; }
  const nlohmann::json& metadata() const noexcept { return metadata_; }
  /** @brief FNV-1a over the architecture's layers and every parameter: identifies the model in stores. */
  std::uint64_t content_hash() const;
  /** @brief Size in bytes of the weights (float32). */
  std::size_t weights_bytes() const { return num_params() * sizeof(float); }

 private:
  std::string name_;
  kernels::shape4 input_{};
  int classes_ = 0;
  std::vector<layer> layers_;
  nlohmann::json layers_json_;
  nlohmann::json metadata_ = nlohmann::json::object();
};

/** @brief The model names (architecture files with a "approxtune.dnn.model" schema) in @p dir, sorted. */
std::vector<std::string> list_models(const std::filesystem::path& dir);

/**
 * @brief The models folder: @p given if non-empty, else $APPROXTUNE_MODELS_DIR, else the
 * source tree's apps/dnn/models (compiled in), else <prefix>/share/approxtune/models.
 */
std::filesystem::path resolve_models_dir(const std::filesystem::path& given = {});

}  // namespace approxtune::dnn
