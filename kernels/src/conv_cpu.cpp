#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <cstring>

#include "approxtune/kernels/error.hpp"
#include "approxtune/kernels/ops.hpp"
#include "detail/approx_element.hpp"
#include "detail/blas.hpp"
#include "detail/conv_cpu.hpp"

namespace approxtune::kernels {
namespace {

using detail::conv_plan;

// im2col restricted to the computed output positions (row_map x col_map) and the kept filter
// elements (filter_index): col[t * ld + i * cols_eff + j] = input at the tap of filter element
// filter_index[t] for output (row_map[i], col_map[j]), 0 in the padding.
void im2col(const conv_plan& p, const float* image, const int* row_map, const int* col_map,
            const int* filter_index, float* col, std::size_t ld) {
  const int sh = p.params.stride_h;
  const int sw = p.params.stride_w;
  const int ph = p.params.pad_h;
  const int pw = p.params.pad_w;
  const bool cols_identity = !p.perf_cols();
  for (int t = 0; t < p.n_kept; ++t) {
    const int f = filter_index[t];
    const int c = f / p.plane;
    const int r = f % p.plane;
    const int dy = r / p.kw;
    const int dx = r % p.kw;
    const float* src_plane = image + static_cast<std::size_t>(c) * p.h * p.w;
    float* dst_row = col + static_cast<std::size_t>(t) * ld;
    // Output columns whose tap is inside the input: [jlo, jhi) (col_map is increasing).
    int jlo = 0;
    int jhi = p.cols_eff;
    if (!(cols_identity && sw == 1)) {
      while (jlo < p.cols_eff && col_map[jlo] * sw - pw + dx < 0) ++jlo;
      while (jhi > jlo && col_map[jhi - 1] * sw - pw + dx >= p.w) --jhi;
    }
    for (int i = 0; i < p.rows_eff; ++i) {
      float* __restrict dst = dst_row + static_cast<std::size_t>(i) * p.cols_eff;
      const int ih = row_map[i] * sh - ph + dy;
      if (ih < 0 || ih >= p.h) {
        std::fill(dst, dst + p.cols_eff, 0.0f);
        continue;
      }
      const float* __restrict src = src_plane + static_cast<std::size_t>(ih) * p.w;
      if (cols_identity && sw == 1) {
        // The common case: a contiguous run of the input row, zero-filled at the borders.
        const int iw0 = dx - pw;
        const int lo = std::clamp(-iw0, 0, p.ow);
        const int hi = std::clamp(p.w - iw0, lo, p.ow);
        std::fill(dst, dst + lo, 0.0f);
        std::memcpy(dst + lo, src + iw0 + lo, sizeof(float) * static_cast<std::size_t>(hi - lo));
        std::fill(dst + hi, dst + p.ow, 0.0f);
      } else {
        // Gather through the column map; plain loops, the runs are a handful of elements.
        const float* shifted = src + (dx - pw);
        for (int j = 0; j < jlo; ++j) dst[j] = 0.0f;
        for (int j = jlo; j < jhi; ++j) dst[j] = shifted[col_map[j] * sw];
        for (int j = jhi; j < p.cols_eff; ++j) dst[j] = 0.0f;
      }
    }
  }
}

}  // namespace

void conv2d(const_tensor_view input, const_tensor_view weights, std::span<const float> bias,
            const conv_params& params, const conv_variant& variant, tensor_view output,
            workspace& ws) {
  const conv_plan p =
      detail::make_conv_plan("conv2d", input.shape, weights.shape, bias.size(), params, variant);
  detail::check_conv_output("conv2d", p, output.shape);
  if (input.data == nullptr || weights.data == nullptr || output.data == nullptr) {
    throw shape_error("conv2d: null data pointer");
  }

  const bool half = variant.prec == precision::fp16;
  const bool perforated = p.perf_rows() || p.perf_cols();
  // A 1x1, stride-1, unpadded exact conv is already a GEMM on the input: no im2col needed.
  const bool direct = p.plane == 1 && params.stride_h == 1 && params.stride_w == 1 &&
                      params.pad_h == 0 && params.pad_w == 0 && !perforated && !p.sampled() &&
                      !half;
  const bool own_weights = p.sampled() || half || p.perf_cols();
  // Column perforation = row perforation of the transposed problem (see detail/conv_cpu.hpp).
  const bool transposed = p.perf_cols();
  const conv_plan ip = transposed ? detail::transposed_plan(p) : p;  // the im2col/GEMM plan

  // Small outputs (7x7, or heavily perforated) make per-image GEMMs too narrow for OpenBLAS to
  // run well, so a task packs `group` images side by side into one GEMM of about
  // min_gemm_columns columns; the result is then copied into each image's planes.
  constexpr std::size_t min_gemm_columns = 512;
  const std::size_t positions = p.positions();
  const int group =
      direct ? 1
             : static_cast<int>(std::min<std::size_t>(
                   static_cast<std::size_t>(p.n), (min_gemm_columns + positions - 1) / positions));
  const std::size_t gemm_columns = positions * static_cast<std::size_t>(group);

  // One scratch slot per worker thread of the current arena; a task finds its slot through
  // current_thread_index(), so the parallel loop itself never allocates.
  const int slots = tbb::this_task_arena::max_concurrency();
  const std::size_t col_floats = direct ? 0 : static_cast<std::size_t>(p.n_kept) * gemm_columns;
  // GEMM result buffer: needed to pack several images, and for perforation, whose expansion
  // scatters from it into the output.
  const bool use_c_buf = group > 1 || perforated;
  const std::size_t c_floats = use_c_buf ? static_cast<std::size_t>(p.k) * gemm_columns : 0;
  const std::size_t t_floats = transposed ? input.shape.image_size() : 0;
  const std::size_t slot_floats = col_floats + c_floats + t_floats;
  const std::size_t weight_floats = own_weights ? static_cast<std::size_t>(p.k) * p.n_kept : 0;
  const std::size_t n_ints =
      static_cast<std::size_t>(p.rows_eff) + p.cols_eff + p.n_kept + p.oh + 2 * p.ow;
  int* ints = ws.ints(n_ints);
  float* floats = ws.floats(weight_floats + slot_floats * static_cast<std::size_t>(slots));
  int* row_map = ints;
  int* col_map = row_map + p.rows_eff;
  int* filter_index = col_map + p.cols_eff;
  int* identity = filter_index + p.n_kept;  // the transposed problem's column map
  detail::fill_conv_maps(p, row_map, col_map, filter_index);
  for (int i = 0; i < p.oh; ++i) identity[i] = i;
  int* interp_columns = identity + p.oh;
  if (transposed) detail::perforation_interp_columns(p, interp_columns);
  const int* im2col_rows = transposed ? col_map : row_map;
  const int* im2col_cols = transposed ? identity : col_map;

  const float* a_matrix = weights.data;
  if (transposed) {
    detail::transpose_weights(p, weights.data, floats);
    a_matrix = floats;
  } else if (own_weights) {
    detail::prepare_weights(p, weights.data, filter_index, floats);
    a_matrix = floats;
  }
  float* slot_base = floats + weight_floats;

  const std::size_t in_image = input.shape.image_size();
  const std::size_t out_image = output.shape.image_size();
  const std::size_t plane = p.out_plane();
  const int groups = (p.n + group - 1) / group;

  auto add_bias = [&](float* out) {
    if (bias.empty()) return;
    for (int k = 0; k < p.k; ++k) {
      float* y = out + static_cast<std::size_t>(k) * plane;
      const float b = bias[k];
      for (std::size_t i = 0; i < plane; ++i) y[i] += b;
    }
  };

  tbb::parallel_for(
      tbb::blocked_range<int>(0, groups, 1), [&](const tbb::blocked_range<int>& range) {
        const int slot = tbb::this_task_arena::current_thread_index();
        float* col = slot_base + slot_floats * static_cast<std::size_t>(slot);
        float* c_buf = col + col_floats;
        float* t_buf = c_buf + c_floats;
        for (int gi = range.begin(); gi != range.end(); ++gi) {
          const int first = gi * group;
          const int count = std::min(group, p.n - first);
          const std::size_t ld = positions * static_cast<std::size_t>(count);
          for (int g = 0; g < count && !direct; ++g) {
            const float* image = input.data + in_image * (first + g);
            if (transposed) {
              detail::transpose_image(p, image, t_buf);
              image = t_buf;
            }
            im2col(ip, image, im2col_rows, im2col_cols, filter_index, col + positions * g, ld);
          }
          if (half) {
            for (int t = 0; t < p.n_kept; ++t) {
              float* row = col + static_cast<std::size_t>(t) * ld;
              for (std::size_t i = 0; i < ld; ++i) row[i] = detail::round_half(row[i]);
            }
          }
          float* out = output.data + out_image * first;
          if (!use_c_buf) {
            // Straight into the output image: ldc is the full plane.
            const float* b_matrix = direct ? input.data + in_image * first : col;
            detail::sgemm(p.k, static_cast<int>(positions), p.n_kept, a_matrix, p.n_kept, b_matrix,
                          static_cast<int>(positions), out, static_cast<int>(plane));
            add_bias(out);
            continue;
          }
          detail::sgemm(p.k, static_cast<int>(ld), p.n_kept, a_matrix, p.n_kept, col,
                        static_cast<int>(ld), c_buf, static_cast<int>(ld));
          for (int g = 0; g < count; ++g) {
            float* img = out + out_image * g;
            const float* compact = c_buf + positions * g;
            if (transposed) {
              detail::perforation_cols_from_transposed(p, col_map, interp_columns, compact, ld,
                                                       img);
            } else if (perforated) {
              detail::perforation_expand_interpolate(p, row_map, compact, ld, img);
            } else {
              for (int k = 0; k < p.k; ++k) {
                std::memcpy(img + static_cast<std::size_t>(k) * plane,
                            compact + static_cast<std::size_t>(k) * ld, sizeof(float) * positions);
              }
            }
            add_bias(img);
          }
        }
      });
}

}  // namespace approxtune::kernels
