#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

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
  std::vector<float> scale(c), shift(c);
  for (std::size_t ch = 0; ch < c; ++ch) {
    scale[ch] = gamma[ch] / std::sqrt(var[ch] + eps);
    shift[ch] = beta[ch] - mean[ch] * scale[ch];
  }
  // Over whole (image, channel) planes, in parallel when the tensor is large (element-wise:
  // the same values whatever the split).
  const std::size_t planes = static_cast<std::size_t>(input.shape.n) * c;
  const std::size_t grain = std::max<std::size_t>(1, (std::size_t{1} << 16) / std::max<std::size_t>(plane, 1));
  auto run = [&](std::size_t p0, std::size_t p1) {
    for (std::size_t p = p0; p < p1; ++p) {
      const std::size_t ch = p % c;
      const float sc = scale[ch], sh = shift[ch];
      const float* x = input.data + p * plane;
      float* y = output.data + p * plane;
      for (std::size_t i = 0; i < plane; ++i) y[i] = x[i] * sc + sh;
    }
  };
  if (planes <= grain) {
    run(0, planes);
    return;
  }
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, planes, grain),
                    [&](const tbb::blocked_range<std::size_t>& r) { run(r.begin(), r.end()); });
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

// The window elements a pooling variant reads (reduction sampling keeps the same elements in
// every window), in row-major order: the accumulation order of every output.
struct pool_window {
  int n = 0;
  const int* dy = nullptr;
  const int* dx = nullptr;
};

template <bool IsMax>
inline float pool_init() {
  return IsMax ? -std::numeric_limits<float>::infinity() : 0.0f;
}

template <bool IsMax>
inline float pool_step(float acc, float v) {
  return IsMax ? std::max(acc, v) : acc + v;
}

// One output row of an exact 2x2 / stride-2 window from input rows r0 and r1 (the common case).
template <bool IsMax>
inline void pool_row_2x2(const float* __restrict r0, const float* __restrict r1,
                         float* __restrict out, int n) {
  for (int j = 0; j < n; ++j) {
    float acc = pool_init<IsMax>();
    acc = pool_step<IsMax>(acc, r0[2 * j]);
    acc = pool_step<IsMax>(acc, r0[2 * j + 1]);
    acc = pool_step<IsMax>(acc, r1[2 * j]);
    acc = pool_step<IsMax>(acc, r1[2 * j + 1]);
    out[j] = IsMax ? acc : acc / 4.0f;
  }
}

// out[j] = step(out[j], src[stride * j]) for one window element over an output row.
template <bool IsMax, bool Half>
inline void pool_row_accumulate(const float* __restrict src, int stride, float* __restrict out,
                                int n) {
  auto load = [](float v) { return Half ? detail::round_half(v) : v; };
  if (stride == 1) {
    for (int j = 0; j < n; ++j) out[j] = pool_step<IsMax>(out[j], load(src[j]));
  } else if (stride == 2) {
    for (int j = 0; j < n; ++j) out[j] = pool_step<IsMax>(out[j], load(src[2 * j]));
  } else {
    for (int j = 0; j < n; ++j) out[j] = pool_step<IsMax>(out[j], load(src[stride * j]));
  }
}

// One (n, c) plane. Outputs whose whole window lies inside the input ([ilo, ihi) x [jlo, jhi))
// run row by row with no bounds tests: each kept window element is accumulated into the output
// row in one vectorisable pass (exact 2x2 / stride 2 windows in a single pass); the rest (the
// padding border) run element by element with bounds tests. Every output accumulates its kept,
// in-bounds elements in row-major window order from the same initial value, so both paths give
// bit-identical results to the element-by-element definition.
template <bool IsMax, bool Half>
void pool_plane(const float* __restrict x, float* __restrict y, int h, int w, int oh, int ow,
                const pool_params& p, const pool_window& win, int ilo, int ihi, int jlo,
                int jhi, bool exact_2x2) {
  auto load = [](float v) { return Half ? detail::round_half(v) : v; };
  auto border = [&](int i, int j) {
    float acc = pool_init<IsMax>();
    int count = 0;
    for (int e = 0; e < win.n; ++e) {
      const int ih = i * p.stride_h - p.pad_h + win.dy[e];
      const int iw = j * p.stride_w - p.pad_w + win.dx[e];
      if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
      acc = pool_step<IsMax>(acc, load(x[ih * w + iw]));
      ++count;
    }
    y[i * ow + j] = count == 0 ? 0.0f : (IsMax ? acc : acc / static_cast<float>(count));
  };
  const int n_inner = jhi - jlo;
  for (int i = 0; i < oh; ++i) {
    if (i < ilo || i >= ihi || n_inner <= 0) {
      for (int j = 0; j < ow; ++j) border(i, j);
      continue;
    }
    for (int j = 0; j < jlo; ++j) border(i, j);
    float* __restrict row = y + i * ow + jlo;
    const int top = i * p.stride_h - p.pad_h;
    const int left = jlo * p.stride_w - p.pad_w;
    if (!Half && exact_2x2) {
      const float* r0 = x + top * w + left;
      pool_row_2x2<IsMax>(r0, r0 + w, row, n_inner);
    } else {
      for (int j = 0; j < n_inner; ++j) row[j] = pool_init<IsMax>();
      for (int e = 0; e < win.n; ++e) {
        pool_row_accumulate<IsMax, Half>(x + (top + win.dy[e]) * w + left + win.dx[e],
                                         p.stride_w, row, n_inner);
      }
      if (!IsMax) {
        const float count = static_cast<float>(win.n);
        for (int j = 0; j < n_inner; ++j) row[j] = row[j] / count;
      }
    }
    for (int j = jhi; j < ow; ++j) border(i, j);
  }
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
  // The kept window elements, listed once per call (not per output); on the stack unless the
  // window is huge.
  const int window = p.window_h * p.window_w;
  std::array<int, 128> stack_list;
  std::vector<int> heap_list;
  int* list = stack_list.data();
  if (2 * window > static_cast<int>(stack_list.size())) {
    heap_list.resize(2 * static_cast<std::size_t>(window));
    list = heap_list.data();
  }
  pool_window win;
  for (int e = 0; e < window; ++e) {
    if (v.skip_num > 0 && detail::red_is_skipped(e, v.skip_num, v.skip_den)) continue;
    list[win.n] = e / p.window_w;
    list[window + win.n] = e % p.window_w;
    ++win.n;
  }
  win.dy = list;
  win.dx = list + window;
  const bool half = v.prec == precision::fp16;
  const int planes = input.shape.n * input.shape.c;
  const int h = input.shape.h;
  const int w = input.shape.w;
  const int oh = expected.h;
  const int ow = expected.w;
  // Outputs whose window is entirely inside the input.
  const int ilo = std::min(oh, detail::ceil_div(p.pad_h, p.stride_h));
  const int ihi = h - p.window_h + p.pad_h >= 0
                      ? std::max(ilo, std::min(oh, (h - p.window_h + p.pad_h) / p.stride_h + 1))
                      : ilo;
  const int jlo = std::min(ow, detail::ceil_div(p.pad_w, p.stride_w));
  const int jhi = w - p.window_w + p.pad_w >= 0
                      ? std::max(jlo, std::min(ow, (w - p.window_w + p.pad_w) / p.stride_w + 1))
                      : jlo;
  const bool exact_2x2 = win.n == 4 && p.window_h == 2 && p.window_w == 2 && p.stride_h == 2 &&
                         p.stride_w == 2;
  // Enough planes per task to amortise it (~64 K input floats).
  const int grain = std::max(1, (1 << 16) / std::max(1, h * w));
  tbb::parallel_for(tbb::blocked_range<int>(0, planes, grain), [&](const tbb::blocked_range<int>& r) {
    for (int pl = r.begin(); pl != r.end(); ++pl) {
      const float* x = input.data + static_cast<std::size_t>(pl) * h * w;
      float* y = output.data + static_cast<std::size_t>(pl) * oh * ow;
      if (half) {
        pool_plane<IsMax, true>(x, y, h, w, oh, ow, p, win, ilo, ihi, jlo, jhi, exact_2x2);
      } else {
        pool_plane<IsMax, false>(x, y, h, w, oh, ow, p, win, ilo, ihi, jlo, jhi, exact_2x2);
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
