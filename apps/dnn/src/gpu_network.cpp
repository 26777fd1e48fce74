// The CUDA engine (compiled when approxtune_kernels_cuda exists); in CPU-only builds its functions throw a clear error.
#include "approxtune/dnn/gpu_network.hpp"

#include <algorithm>

#include "approxtune/dnn/error.hpp"
#include "approxtune/kernels/cuda.hpp"
#include "approxtune/kernels/ops.hpp"

namespace approxtune::dnn {

using kernels::shape4;

#if APPROXTUNE_DNN_WITH_CUDA

namespace kc = approxtune::kernels::cuda;

bool gpu_engine_built() noexcept { return true; }
bool gpu_available() noexcept { return kernels::cuda_available(); }

struct gpu_network::impl {
  kc::context ctx;
  int max_batch;
  // per layer: device parameters and output buffer
  std::vector<kc::device_buffer> weights, bias, gamma, beta, mean, var, outputs;
  kc::device_buffer images;
  std::vector<int> labels;
  std::size_t count = 0;
  std::vector<float> host_out;
  explicit impl(void* stream, int mb) : ctx(stream), max_batch(mb) {}
};

namespace {
kc::device_buffer upload_vec(const std::vector<float>& v) {
  if (v.empty()) return {};
  kc::device_buffer b(v.size());
  b.upload(v);
  return b;
}
}  // namespace

gpu_network::gpu_network(std::shared_ptr<const model> m, int max_batch, void* stream)
    : model_(std::move(m)), p_(std::make_unique<impl>(stream, std::max(1, max_batch))) {
  const auto& layers = model_->layers();
  variants_.resize(layers.size());
  for (const auto& l : layers) {
    p_->weights.push_back(upload_vec(l.weights));
    p_->bias.push_back(upload_vec(l.bias));
    p_->gamma.push_back(upload_vec(l.gamma));
    p_->beta.push_back(upload_vec(l.beta));
    p_->mean.push_back(upload_vec(l.mean));
    p_->var.push_back(upload_vec(l.var));
    p_->outputs.emplace_back(l.out_shape.image_size() * static_cast<std::size_t>(p_->max_batch));
  }
}

gpu_network::~gpu_network() = default;

void gpu_network::set_variant(std::size_t li, const layer_variant& v) {
  const layer& l = model_->layers().at(li);
  if (l.type == layer_type::conv) (void)kernels::conv2d_flops(l.in_shape, l.weight_shape, l.conv, v.conv);
  variants_.at(li) = v;
}

void gpu_network::reset_variants() { std::fill(variants_.begin(), variants_.end(), layer_variant{}); }

void gpu_network::upload(const labeled_images& data) {
  p_->images = kc::device_buffer(data.images.size());
  p_->images.upload({data.images.data(), data.images.size()});
  p_->labels = data.labels;
  p_->count = data.size();
  uploaded_ = &data;
}

namespace {
const float* ptr_or_null(const kc::device_buffer& b) { return b.size() ? b.data() : nullptr; }
}  // namespace

// Runs images [first, first+n) already on the device; the last layer's output stays on it.
static void forward_chunk(gpu_network::impl& p, const model& m, const std::vector<layer_variant>& variants,
                          std::size_t first, int n) {
  const auto& layers = m.layers();
  const shape4 is = m.input_shape();
  const kernels::const_tensor_view input{p.images.data() + first * is.image_size(), {n, is.c, is.h, is.w}};
  auto view_of = [&](int idx) -> kernels::const_tensor_view {
    if (idx < 0) return input;
    shape4 s = layers[static_cast<std::size_t>(idx)].out_shape;
    s.n = n;
    return {p.outputs[static_cast<std::size_t>(idx)].data(), s};
  };
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const layer& l = layers[i];
    shape4 os = l.out_shape;
    os.n = n;
    const kernels::tensor_view out{p.outputs[i].data(), os};
    const auto in = view_of(l.inputs[0]);
    const layer_variant& v = variants[i];
    switch (l.type) {
      case layer_type::conv:
        kc::conv2d(p.ctx, in, {p.weights[i].data(), l.weight_shape}, ptr_or_null(p.bias[i]), l.conv, v.conv, out);
        break;
      case layer_type::dense:
        kc::dense(p.ctx, in, {p.weights[i].data(), l.weight_shape}, ptr_or_null(p.bias[i]), v.dense, out);
        break;
      case layer_type::relu: kc::relu(p.ctx, in, out); break;
      case layer_type::tanh: kc::tanh(p.ctx, in, out); break;
      case layer_type::max_pool: kc::max_pool2d(p.ctx, in, l.pool, v.pool, out); break;
      case layer_type::avg_pool: kc::avg_pool2d(p.ctx, in, l.pool, v.pool, out); break;
      case layer_type::batch_norm:
        kc::batch_norm(p.ctx, in, p.gamma[i].data(), p.beta[i].data(), p.mean[i].data(), p.var[i].data(), l.eps, out);
        break;
      case layer_type::add: kc::add(p.ctx, in, view_of(l.inputs[1]), out); break;
      case layer_type::softmax: kc::softmax(p.ctx, in, out); break;
    }
  }
}

double gpu_network::accuracy(std::size_t count) {
  if (!uploaded_) throw config_error("gpu_network: no images uploaded");
  const std::size_t total = count == 0 ? p_->count : std::min(count, p_->count);
  const int k = model_->classes();
  std::size_t ok = 0;
  for (std::size_t first = 0; first < total; first += static_cast<std::size_t>(p_->max_batch)) {
    const int n = static_cast<int>(std::min<std::size_t>(p_->max_batch, total - first));
    forward_chunk(*p_, *model_, variants_, first, n);
    p_->host_out.resize(static_cast<std::size_t>(n) * k);
    p_->outputs.back().download(p_->host_out);  // synchronises
    for (int i = 0; i < n; ++i) {
      const float* row = p_->host_out.data() + static_cast<std::size_t>(i) * k;
      ok += static_cast<int>(std::max_element(row, row + k) - row) == p_->labels[first + static_cast<std::size_t>(i)];
    }
  }
  return total ? 100.0 * static_cast<double>(ok) / static_cast<double>(total) : 0.0;
}

void gpu_network::run(std::size_t count) {
  if (!uploaded_) throw config_error("gpu_network: no images uploaded");
  const std::size_t total = count == 0 ? p_->count : std::min(count, p_->count);
  for (std::size_t first = 0; first < total; first += static_cast<std::size_t>(p_->max_batch))
    forward_chunk(*p_, *model_, variants_, first, static_cast<int>(std::min<std::size_t>(p_->max_batch, total - first)));
  p_->ctx.synchronize();
}

#else  // CPU-only build: the class exists, constructing it explains why it cannot run.

bool gpu_engine_built() noexcept { return false; }
bool gpu_available() noexcept { return false; }

struct gpu_network::impl {};

gpu_network::gpu_network(std::shared_ptr<const model> m, int, void*) : model_(std::move(m)) {
  throw config_error("dnn: this build has no CUDA engine (configure with APPROXTUNE_CUDA=ON and a CUDA toolkit)");
}
gpu_network::~gpu_network() = default;
void gpu_network::set_variant(std::size_t, const layer_variant&) {}
void gpu_network::reset_variants() {}
void gpu_network::upload(const labeled_images&) {}
double gpu_network::accuracy(std::size_t) { return 0.0; }
void gpu_network::run(std::size_t) {}

#endif

}  // namespace approxtune::dnn
