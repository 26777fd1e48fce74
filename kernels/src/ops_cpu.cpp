#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "approxtune/kernels/error.hpp"
#include "approxtune/kernels/ops.hpp"
#include "detail/approx_element.hpp"
#include "detail/blas.hpp"

namespace approxtune::kernels {
namespace {

void require(bool ok, const char* op, const std::string& what) {
  if (!ok) throw shape_error(std::string(op) + ": " + what);
}

void require_same(const char* op, shape4 a, shape4 b, const char* a_name, const char* b_name) {
  require(a == b, op,
          std::string(a_name) + " " + a.to_string() + " and " + b_name + " " + b.to_string() +
              " differ");
}

void require_data(const char* op, const void* a, const void* b) {
  require(a != nullptr && b != nullptr, op, "null data pointer");
}

// Element-wise loops are memory bound; split them only when large enough to pay for a task.
template <class F>
void for_each_chunk(std::size_t n, F&& f) {
  constexpr std::size_t grain = 1 << 16;
  if (n <= grain) {
    f(std::size_t{0}, n);
    return;
  }
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n, grain),
                    [&](const tbb::blocked_range<std::size_t>& r) { f(r.begin(), r.end()); });
}

}  // namespace

// ---- dense ------------------------------------------------------------------------------------

void dense(const_tensor_view input, const_tensor_view weights, std::span<const float> bias,
           const dense_variant& variant, tensor_view output, workspace& ws) {
  const char* op = "dense";
  require_data(op, input.data, weights.data);
  require_data(op, output.data, output.data);
  const int n = input.shape.n;
  const int in_features = static_cast<int>(input.shape.image_size());
  const int out_features = weights.shape.n;
  require(n > 0 && in_features > 0 && out_features > 0, op,
          "empty input " + input.shape.to_string() + " or weights " + weights.shape.to_string());
  require(static_cast<int>(weights.shape.image_size()) == in_features, op,
          "input " + input.shape.to_string() + " has " + std::to_string(in_features) +
              " features but weights " + weights.shape.to_string() + " expect " +
              std::to_string(weights.shape.image_size()));
  require(output.shape == shape4{n, out_features, 1, 1}, op,
          "output is " + output.shape.to_string() + ", expected " +
              shape4{n, out_features, 1, 1}.to_string());
  require(bias.empty() || bias.size() == static_cast<std::size_t>(out_features), op,
          "bias has " + std::to_string(bias.size()) + " values, expected 0 or " +
              std::to_string(out_features));

  const float* x = input.data;
  const float* w = weights.data;
  if (variant.prec == precision::fp16) {
    // Accuracy simulation only: half-rounded copies, fp32 GEMM.
    float* buf = ws.floats(input.size() + weights.size());
    for (std::size_t i = 0; i < input.size(); ++i) buf[i] = detail::round_half(input.data[i]);
    float* wbuf = buf + input.size();
    for (std::size_t i = 0; i < weights.size(); ++i) wbuf[i] = detail::round_half(weights.data[i]);
    x = buf;
    w = wbuf;
  }
  // Blocks of batch rows across TBB threads, one single-threaded sgemm each.
  const int slots = tbb::this_task_arena::max_concurrency();
  const int grain = std::max(1, n / (2 * slots));
  tbb::parallel_for(tbb::blocked_range<int>(0, n, grain), [&](const tbb::blocked_range<int>& r) {
    const int rows = static_cast<int>(r.size());
    float* y = output.data + static_cast<std::size_t>(r.begin()) * out_features;
    detail::sgemm(rows, out_features, in_features,
                  x + static_cast<std::size_t>(r.begin()) * in_features, in_features, w,
                  in_features, y, out_features, /*b_transposed=*/true);
    if (!bias.empty()) {
      for (int i = 0; i < rows; ++i) {
        for (int o = 0; o < out_features; ++o)
          y[static_cast<std::size_t>(i) * out_features + o] += bias[o];
      }
    }
  });
}

double dense_flops(shape4 input, shape4 weights) {
  const double n = input.n;
  const double i = static_cast<double>(input.image_size());
  const double o = weights.n;
  return 2.0 * n * o * i + n * o;
}

// ---- element-wise -----------------------------------------------------------------------------

void bias_add(tensor_view x, std::span<const float> bias) {
  require(bias.size() == static_cast<std::size_t>(x.shape.c), "bias_add",
          "bias has " + std::to_string(bias.size()) + " values for tensor " + x.shape.to_string());
  require_data("bias_add", x.data, x.data);
  const std::size_t plane = x.shape.plane_size();
  for (int n = 0; n < x.shape.n; ++n) {
    for (int c = 0; c < x.shape.c; ++c) {
      float* p = x.data + (static_cast<std::size_t>(n) * x.shape.c + c) * plane;
      const float b = bias[c];
      for (std::size_t i = 0; i < plane; ++i) p[i] += b;
    }
  }
}

void relu(const_tensor_view input, tensor_view output) {
  require_same("relu", input.shape, output.shape, "input", "output");
  require_data("relu", input.data, output.data);
  for_each_chunk(input.size(), [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) output.data[i] = std::max(input.data[i], 0.0f);
  });
}

void tanh(const_tensor_view input, tensor_view output) {
  require_same("tanh", input.shape, output.shape, "input", "output");
  require_data("tanh", input.data, output.data);
  for_each_chunk(input.size(), [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) output.data[i] = std::tanh(input.data[i]);
  });
}

void add(const_tensor_view a, const_tensor_view b, tensor_view output) {
  require_same("add", a.shape, b.shape, "a", "b");
  require_same("add", a.shape, output.shape, "a", "output");
  require_data("add", a.data, b.data);
  require_data("add", output.data, output.data);
  for_each_chunk(a.size(), [&](std::size_t s, std::size_t e) {
    for (std::size_t i = s; i < e; ++i) output.data[i] = a.data[i] + b.data[i];
  });
}

void batch_norm(const_tensor_view input, std::span<const float> gamma, std::span<const float> beta,
                std::span<const float> mean, std::span<const float> var, float eps,
                tensor_view output) {
  const char* op = "batch_norm";
  require_same(op, input.shape, output.shape, "input", "output");
  require_data(op, input.data, output.data);
  const auto c = static_cast<std::size_t>(input.shape.c);
  require(gamma.size() == c && beta.size() == c && mean.size() == c && var.size() == c, op,
          "gamma/beta/mean/var need " + std::to_string(c) + " values each for input " +
              input.shape.to_string());
  require(eps >= 0.0f, op, "eps must be >= 0");
  const std::size_t plane = input.shape.plane_size();
  for (int n = 0; n < input.shape.n; ++n) {
    for (std::size_t ch = 0; ch < c; ++ch) {
      const float scale = gamma[ch] / std::sqrt(var[ch] + eps);
      const float shift = beta[ch] - mean[ch] * scale;
      const std::size_t base = (static_cast<std::size_t>(n) * c + ch) * plane;
      for (std::size_t i = 0; i < plane; ++i)
        output.data[base + i] = input.data[base + i] * scale + shift;
    }
  }
}

void softmax(const_tensor_view input, tensor_view output) {
  require_same("softmax", input.shape, output.shape, "input", "output");
  require_data("softmax", input.data, output.data);
  const std::size_t plane = input.shape.plane_size();
  const int channels = input.shape.c;
  for (int n = 0; n < input.shape.n; ++n) {
    const std::size_t base = static_cast<std::size_t>(n) * input.shape.image_size();
    for (std::size_t pos = 0; pos < plane; ++pos) {
      float mx = -std::numeric_limits<float>::infinity();
      for (int c = 0; c < channels; ++c) mx = std::max(mx, input.data[base + c * plane + pos]);
      float sum = 0.0f;
      for (int c = 0; c < channels; ++c) {
        const float e = std::exp(input.data[base + c * plane + pos] - mx);
        output.data[base + c * plane + pos] = e;
        sum += e;
      }
      const float inv = 1.0f / sum;
      for (int c = 0; c < channels; ++c) output.data[base + c * plane + pos] *= inv;
    }
  }
}

// ---- pooling ----------------------------------------------------------------------------------

shape4 pool2d_output_shape(shape4 input, const pool_params& p) {
  const char* op = "pool2d";
  require(input.n > 0 && input.c > 0 && input.h > 0 && input.w > 0, op,
          "empty input " + input.to_string());
  require(p.window_h > 0 && p.window_w > 0 && p.stride_h > 0 && p.stride_w > 0, op,
          "window and stride must be >= 1");
  require(p.pad_h >= 0 && p.pad_w >= 0 && p.pad_h < p.window_h && p.pad_w < p.window_w, op,
          "padding must be >= 0 and smaller than the window");
  const int hp = input.h + 2 * p.pad_h - p.window_h;
  const int wp = input.w + 2 * p.pad_w - p.window_w;
  require(hp >= 0 && wp >= 0, op,
          "window " + std::to_string(p.window_h) + "x" + std::to_string(p.window_w) +
              " larger than the padded input " + input.to_string());
  return {input.n, input.c, hp / p.stride_h + 1, wp / p.stride_w + 1};
}

namespace {

void check_pool_variant(const char* op, const pool_variant& v) {
  require(v.skip_den > 0 && v.skip_num >= 0 && v.skip_num < v.skip_den, op,
          "reduction sampling needs 0 <= skip_num < skip_den, got " + std::to_string(v.skip_num) +
              "/" + std::to_string(v.skip_den));
}

template <bool IsMax>
void pool2d(const char* op, const_tensor_view input, const pool_params& p, const pool_variant& v,
            tensor_view output) {
  check_pool_variant(op, v);
  const shape4 expected = pool2d_output_shape(input.shape, p);
  require(output.shape == expected, op,
          "output is " + output.shape.to_string() + ", expected " + expected.to_string() +
              " for input " + input.shape.to_string());
  require_data(op, input.data, output.data);
  const bool half = v.prec == precision::fp16;
  const int planes = input.shape.n * input.shape.c;
  const int h = input.shape.h;
  const int w = input.shape.w;
  const int oh = expected.h;
  const int ow = expected.w;
  tbb::parallel_for(tbb::blocked_range<int>(0, planes, 16), [&](const tbb::blocked_range<int>& r) {
    for (int pl = r.begin(); pl != r.end(); ++pl) {
      const float* x = input.data + static_cast<std::size_t>(pl) * h * w;
      float* y = output.data + static_cast<std::size_t>(pl) * oh * ow;
      for (int i = 0; i < oh; ++i) {
        for (int j = 0; j < ow; ++j) {
          float acc = IsMax ? -std::numeric_limits<float>::infinity() : 0.0f;
          int count = 0;
          for (int dy = 0; dy < p.window_h; ++dy) {
            const int ih = i * p.stride_h - p.pad_h + dy;
            for (int dx = 0; dx < p.window_w; ++dx) {
              const int iw = j * p.stride_w - p.pad_w + dx;
              if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
              if (v.skip_num > 0 &&
                  detail::red_is_skipped(dy * p.window_w + dx, v.skip_num, v.skip_den)) {
                continue;
              }
              const float val = half ? detail::round_half(x[ih * w + iw]) : x[ih * w + iw];
              acc = IsMax ? std::max(acc, val) : acc + val;
              ++count;
            }
          }
          float out = count == 0 ? 0.0f : (IsMax ? acc : acc / static_cast<float>(count));
          y[i * ow + j] = out;
        }
      }
    }
  });
}

}  // namespace

void max_pool2d(const_tensor_view input, const pool_params& params, const pool_variant& variant,
                tensor_view output) {
  pool2d<true>("max_pool2d", input, params, variant, output);
}

void avg_pool2d(const_tensor_view input, const pool_params& params, const pool_variant& variant,
                tensor_view output) {
  pool2d<false>("avg_pool2d", input, params, variant, output);
}

double pool2d_flops(shape4 input, const pool_params& params, const pool_variant& variant) {
  check_pool_variant("pool2d_flops", variant);
  const shape4 out = pool2d_output_shape(input, params);
  const int window = params.window_h * params.window_w;
  int kept = window;
  if (variant.skip_num > 0) {
    for (int j = 0; j < window; ++j)
      kept -= detail::red_is_skipped(j, variant.skip_num, variant.skip_den) ? 1 : 0;
  }
  return static_cast<double>(out.size()) * kept;
}

}  // namespace approxtune::kernels
