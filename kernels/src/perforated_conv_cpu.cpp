#include <cstring>

#include "detail/approx_element.hpp"
#include "detail/conv_cpu.hpp"

namespace approxtune::kernels::detail {

void perforation_expand_interpolate(const conv_plan& plan, const int* row_map, const float* compact,
                                    std::size_t ld, float* out_image) {
  const int oh = plan.oh;
  const int ow = plan.ow;
  const int stride = plan.variant.stride;
  const int offset = plan.variant.offset;
  for (int k = 0; k < plan.k; ++k) {
    const float* __restrict src = compact + static_cast<std::size_t>(k) * ld;
    float* __restrict y = out_image + static_cast<std::size_t>(k) * plan.out_plane();
    for (int i = 0; i < plan.rows_eff; ++i) {
      std::memcpy(y + row_map[i] * ow, src + i * ow, sizeof(float) * ow);
    }
    // The skipped rows are offset, offset + stride, ... (perf_is_skipped), enumerated directly
    // rather than testing every row.
    for (int r = offset; r < oh; r += stride) {
      const interp_sources s = perf_interp_sources(r, oh);
      const float* a = y + s.a * ow;
      const float* b = y + s.b * ow;
      float* dst = y + r * ow;
      for (int x = 0; x < ow; ++x) dst[x] = perf_interp_value(a[x], b[x]);
    }
  }
}

conv_plan transposed_plan(const conv_plan& p) {
  conv_plan t = p;
  t.h = p.w;
  t.w = p.h;
  t.kh = p.kw;
  t.kw = p.kh;
  t.oh = p.ow;
  t.ow = p.oh;
  t.params = {p.params.stride_w, p.params.stride_h, p.params.pad_w, p.params.pad_h};
  t.variant = perforated_rows(p.variant.stride, p.variant.offset, p.variant.prec);
  t.rows_eff = p.cols_eff;
  t.cols_eff = p.oh;
  return t;
}

void transpose_image(const conv_plan& p, const float* image, float* out) {
  const std::size_t plane = static_cast<std::size_t>(p.h) * p.w;
  for (int c = 0; c < p.c; ++c) {
    const float* __restrict src = image + c * plane;
    float* __restrict dst = out + c * plane;
    // Contiguous stores, strided loads (the plane sits in L1 either way; stores are dearer).
    for (int x = 0; x < p.w; ++x) {
      for (int y = 0; y < p.h; ++y) dst[x * p.h + y] = src[y * p.w + x];
    }
  }
}

void transpose_weights(const conv_plan& p, const float* weights, float* out) {
  const bool half = p.variant.prec == precision::fp16;
  for (int kc = 0; kc < p.k * p.c; ++kc) {
    const float* src = weights + static_cast<std::size_t>(kc) * p.plane;
    float* dst = out + static_cast<std::size_t>(kc) * p.plane;
    for (int dy = 0; dy < p.kh; ++dy) {
      for (int dx = 0; dx < p.kw; ++dx) {
        const float v = src[dy * p.kw + dx];
        dst[dx * p.kh + dy] = half ? round_half(v) : v;
      }
    }
  }
}

void perforation_interp_columns(const conv_plan& p, int* sources) {
  const int stride = p.variant.stride;
  const int offset = p.variant.offset;
  int m = 0;
  for (int x = offset; x < p.ow; x += stride, ++m) {
    const interp_sources s = perf_interp_sources(x, p.ow);
    sources[2 * m] = perf_real_to_compact(s.a, stride, offset);
    sources[2 * m + 1] = perf_real_to_compact(s.b, stride, offset);
  }
}

void perforation_cols_from_transposed(const conv_plan& p, const int* col_map,
                                      const int* interp_columns, const float* compact,
                                      std::size_t ld, float* out_image) {
  const int oh = p.oh;
  const int ow = p.ow;
  const int stride = p.variant.stride;
  const int offset = p.variant.offset;
  for (int k = 0; k < p.k; ++k) {
    const float* __restrict src = compact + static_cast<std::size_t>(k) * ld;
    float* __restrict y = out_image + static_cast<std::size_t>(k) * p.out_plane();
    // Output rows in order (contiguous stores); the channel's compact block is L1-resident.
    // Skipped columns read their sources from the compact block, not from the row just
    // written, so no load waits on a store.
    for (int r = 0; r < oh; ++r) {
      float* row = y + r * ow;
      const float* column_r = src + r;
      for (int j = 0; j < p.cols_eff; ++j)
        row[col_map[j]] = column_r[static_cast<std::size_t>(j) * oh];
      int m = 0;
      for (int x = offset; x < ow; x += stride, ++m) {
        row[x] =
            perf_interp_value(column_r[static_cast<std::size_t>(interp_columns[2 * m]) * oh],
                              column_r[static_cast<std::size_t>(interp_columns[2 * m + 1]) * oh]);
      }
    }
  }
}

}  // namespace approxtune::kernels::detail
