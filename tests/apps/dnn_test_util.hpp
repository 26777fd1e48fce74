// Helpers shared by the dnn tests: a tiny random model covering every layer type.
#pragma once

#include <memory>
#include <random>

#include <nlohmann/json.hpp>

#include "approxtune/dnn/model.hpp"

namespace approxtune::dnn::test {

/** @brief A 1x8x8 -> 3-class model with conv, bn, relu, pools, residual add, tanh, dense, softmax. */
inline nlohmann::json tiny_arch() {
  return nlohmann::json::parse(R"({
    "schema": "approxtune.dnn.model", "version": 1, "name": "tiny",
    "input": {"channels": 2, "height": 8, "width": 8}, "classes": 3,
    "layers": [
      {"name": "conv1", "type": "conv", "filters": 4, "kernel": 3, "pad": 1},
      {"name": "bn1", "type": "batch_norm"},
      {"name": "relu1", "type": "relu"},
      {"name": "conv2", "type": "conv", "filters": 4, "kernel": 3, "pad": 1},
      {"name": "res", "type": "add", "inputs": ["conv2", "relu1"]},
      {"name": "pool1", "type": "max_pool", "window": 2, "stride": 2},
      {"name": "conv3", "type": "conv", "filters": 5, "kernel": 3, "stride": 1, "pad": 0},
      {"name": "tanh1", "type": "tanh"},
      {"name": "pool2", "type": "avg_pool", "window": 2, "stride": 1},
      {"name": "fc1", "type": "dense", "units": 6},
      {"name": "relu2", "type": "relu"},
      {"name": "fc2", "type": "dense", "units": 3},
      {"name": "prob", "type": "softmax"}]})");
}

/** @brief The tiny model with seeded random parameters (BN stats non-trivial). */
inline model tiny_model(std::uint64_t seed = 7) {
  model m = model::from_json(tiny_arch());
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-0.5f, 0.5f);
  for (auto& l : m.mutable_layers()) {
    for (auto& w : l.weights) w = u(rng);
    for (auto& w : l.bias) w = u(rng) * 0.2f;
    for (auto& w : l.gamma) w = 1.0f + u(rng) * 0.5f;
    for (auto& w : l.beta) w = u(rng) * 0.2f;
    for (auto& w : l.mean) w = u(rng) * 0.2f;
    for (auto& w : l.var) w = 1.0f + u(rng);
  }
  return m;
}

}  // namespace approxtune::dnn::test
