#include "approxtune/dnn/network.hpp"

#include <algorithm>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "approxtune/dnn/error.hpp"

namespace approxtune::dnn {

using kernels::shape4;

namespace {

// Exact 2x2 / stride-2 max pooling without padding, the pooling of every model here: a direct
// loop over plane pairs of rows (the general kernels::max_pool2d handles every other case and
// the reduction-sampling variants). Bit-identical results: max is exact.
bool fast_max_pool(const layer& l, const layer_variant& v, kernels::const_tensor_view in, kernels::tensor_view out) {
  const auto& p = l.pool;
  if (!(v.pool == kernels::exact_pool()) || p.window_h != 2 || p.window_w != 2 || p.stride_h != 2 || p.stride_w != 2 ||
      p.pad_h != 0 || p.pad_w != 0)
    return false;
  const int H = in.shape.h, W = in.shape.w, OH = out.shape.h, OW = out.shape.w;
  const std::size_t planes = static_cast<std::size_t>(in.shape.n) * static_cast<std::size_t>(in.shape.c);
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, planes, 16), [&](const tbb::blocked_range<std::size_t>& r) {
    for (std::size_t pl = r.begin(); pl != r.end(); ++pl) {
      const float* src = in.data + pl * static_cast<std::size_t>(H) * W;
      float* dst = out.data + pl * static_cast<std::size_t>(OH) * OW;
      for (int oh = 0; oh < OH; ++oh) {
        const float* r0 = src + static_cast<std::size_t>(2 * oh) * W;
        const float* r1 = r0 + W;
        float* o = dst + static_cast<std::size_t>(oh) * OW;
        for (int ow = 0; ow < OW; ++ow) {
          const float a = std::max(r0[2 * ow], r0[2 * ow + 1]), b = std::max(r1[2 * ow], r1[2 * ow + 1]);
          o[ow] = std::max(a, b);
        }
      }
    }
  });
  return true;
}

}  // namespace

network::network(std::shared_ptr<const model> m, int max_batch)
    : model_(std::move(m)), max_batch_(std::max(1, max_batch)) {
  if (!model_) throw config_error("network: null model");
  variants_.resize(model_->layers().size());
  outputs_.resize(model_->layers().size());
  for (std::size_t i = 0; i < outputs_.size(); ++i) {
    shape4 s = model_->layers()[i].out_shape;
    s.n = max_batch_;
    outputs_[i] = kernels::tensor(s);
  }
}

void network::set_variant(std::size_t li, const layer_variant& v) {
  const layer& l = model_->layers().at(li);
  if (l.type == layer_type::conv) {
    shape4 in = l.in_shape;
    // Validates the variant against this layer (throws shape_error if it cannot run).
    (void)kernels::conv2d_flops(in, l.weight_shape, l.conv, v.conv);
    const shape4 out = kernels::conv2d_output_shape(in, l.weight_shape, l.conv);
    if ((v.conv.kind == kernels::conv_kind::perforated_rows || v.conv.kind == kernels::conv_kind::perforated_cols) &&
        kernels::perforation_computed_extent(out, v.conv) == 0)
      throw config_error("layer '" + l.name + "': " + v.conv.to_string() + " leaves no output computed");
  }
  variants_.at(li) = v;
}

void network::reset_variants() { std::fill(variants_.begin(), variants_.end(), layer_variant{}); }

kernels::const_tensor_view network::forward(kernels::const_tensor_view batch) {
  const int n = batch.shape.n;
  const shape4 want = model_->input_shape();
  if (n < 1 || n > max_batch_ || batch.shape.c != want.c || batch.shape.h != want.h || batch.shape.w != want.w)
    throw config_error("network '" + model_->name() + "': input " + batch.shape.to_string() +
                       " does not match [<=" + std::to_string(max_batch_) + "," + std::to_string(want.c) + "," +
                       std::to_string(want.h) + "," + std::to_string(want.w) + "]");
  return run_layers(0, n, [&](int idx) -> kernels::const_tensor_view {
    return idx < 0 ? batch : outputs_[static_cast<std::size_t>(idx)].cview();
  });
}

kernels::const_tensor_view network::forward_from(std::size_t start, int n, const earlier_outputs& earlier) {
  const auto& layers = model_->layers();
  if (start >= layers.size())
    throw config_error("network '" + model_->name() + "': forward_from layer " + std::to_string(start) + " of " +
                       std::to_string(layers.size()));
  if (n < 1 || n > max_batch_)
    throw config_error("network '" + model_->name() + "': forward_from " + std::to_string(n) + " images (1.." +
                       std::to_string(max_batch_) + ")");
  return run_layers(start, n, [&](int idx) -> kernels::const_tensor_view {
    if (idx >= 0 && static_cast<std::size_t>(idx) >= start) return outputs_[static_cast<std::size_t>(idx)].cview();
    const kernels::const_tensor_view v = earlier(idx);
    shape4 want = idx < 0 ? model_->input_shape() : layers[static_cast<std::size_t>(idx)].out_shape;
    want.n = n;
    if (!(v.shape == want))
      throw config_error("network '" + model_->name() + "': the output given for layer " + std::to_string(idx) +
                         " is " + v.shape.to_string() + ", not " + want.to_string());
    return v;
  });
}

template <class InputOf>
kernels::const_tensor_view network::run_layers(std::size_t start, int n, const InputOf& in_view) {
  const auto& layers = model_->layers();
  for (std::size_t i = start; i < layers.size(); ++i) {
    const layer& l = layers[i];
    shape4 os = l.out_shape;
    os.n = n;
    outputs_[i].resize(os);
    kernels::tensor_view out = outputs_[i].view();
    const kernels::const_tensor_view in = in_view(l.inputs[0]);
    const layer_variant& v = variants_[i];
    switch (l.type) {
      case layer_type::conv:
        kernels::conv2d(in, {l.weights.data(), l.weight_shape}, l.bias, l.conv, v.conv, out, ws_);
        break;
      case layer_type::dense:
        kernels::dense(in, {l.weights.data(), l.weight_shape}, l.bias, v.dense, out, ws_);
        break;
      case layer_type::relu: kernels::relu(in, out); break;
      case layer_type::tanh: kernels::tanh(in, out); break;
      case layer_type::max_pool:
        if (!fast_max_pool(l, v, in, out)) kernels::max_pool2d(in, l.pool, v.pool, out);
        break;
      case layer_type::avg_pool: kernels::avg_pool2d(in, l.pool, v.pool, out); break;
      case layer_type::batch_norm: kernels::batch_norm(in, l.gamma, l.beta, l.mean, l.var, l.eps, out); break;
      case layer_type::add: kernels::add(in, in_view(l.inputs[1]), out); break;
      case layer_type::softmax: kernels::softmax(in, out); break;
    }
  }
  return outputs_.back().cview();
}

std::vector<int> network::predict(const kernels::tensor& images, std::size_t count) {
  const shape4 s = images.shape();
  const std::size_t total = count == 0 ? static_cast<std::size_t>(s.n) : std::min<std::size_t>(count, s.n);
  std::vector<int> out(total);
  for (std::size_t first = 0; first < total; first += static_cast<std::size_t>(max_batch_)) {
    const int b = static_cast<int>(std::min<std::size_t>(max_batch_, total - first));
    const auto y = forward({images.data() + first * s.image_size(), {b, s.c, s.h, s.w}});
    const int k = static_cast<int>(y.shape.image_size());
    for (int i = 0; i < b; ++i) {
      const float* row = y.data + static_cast<std::size_t>(i) * k;
      out[first + static_cast<std::size_t>(i)] = static_cast<int>(std::max_element(row, row + k) - row);
    }
  }
  return out;
}

double network::accuracy(const labeled_images& data, std::size_t count) {
  const auto pred = predict(data.images, count);
  std::size_t ok = 0;
  for (std::size_t i = 0; i < pred.size(); ++i) ok += pred[i] == data.labels[i];
  return pred.empty() ? 0.0 : 100.0 * static_cast<double>(ok) / static_cast<double>(pred.size());
}

void network::run(const kernels::tensor& images, std::size_t count) {
  const shape4 s = images.shape();
  const std::size_t total = count == 0 ? static_cast<std::size_t>(s.n) : std::min<std::size_t>(count, s.n);
  for (std::size_t first = 0; first < total; first += static_cast<std::size_t>(max_batch_)) {
    const int b = static_cast<int>(std::min<std::size_t>(max_batch_, total - first));
    (void)forward({images.data() + first * s.image_size(), {b, s.c, s.h, s.w}});
  }
}

double network::layer_flops(std::size_t li, const layer_variant& v) const {
  const layer& l = model_->layers().at(li);
  const shape4 in{1, l.in_shape.c, l.in_shape.h, l.in_shape.w};
  switch (l.type) {
    case layer_type::conv: return kernels::conv2d_flops(in, l.weight_shape, l.conv, v.conv);
    case layer_type::max_pool:
    case layer_type::avg_pool: return kernels::pool2d_flops(in, l.pool, v.pool);
    default: return l.flops();
  }
}

double network::flops() const {
  double f = 0;
  for (std::size_t i = 0; i < variants_.size(); ++i) f += layer_flops(i, variants_[i]);
  return f;
}

}  // namespace approxtune::dnn
