#include <cstring>

#include "detail/approx_element.hpp"
#include "detail/conv_cpu.hpp"

namespace approxtune::kernels::detail {

void perforation_line_sources(int extent, bool perforated, int stride, int offset,
                              line_source* out) {
  for (int x = 0; x < extent; ++x) {
    if (!perforated) {
      out[x] = {x, x, 0};
    } else if (!perf_is_skipped(x, stride, offset)) {
      const int a = perf_real_to_compact(x, stride, offset);
      out[x] = {a, a, 0};
    } else {
      const interp_sources s = perf_interp_sources(x, extent);
      out[x] = {perf_real_to_compact(s.a, stride, offset),
                perf_real_to_compact(s.b, stride, offset), 1};
    }
  }
}

column_pairs find_column_pairs(const line_source* cols, int ow) {
  // Pair (x, x + 1) with x skipped, interpolated from (q, q + 1), and x + 1 computed at q + 1.
  auto is_pair = [&](int x, int q) {
    return x + 1 < ow && cols[x].interpolated && cols[x].a == q && cols[x].b == q + 1 &&
           !cols[x + 1].interpolated && cols[x + 1].a == q + 1;
  };
  column_pairs best;
  for (int x = 0; x + 1 < ow; ++x) {
    if (!is_pair(x, cols[x].a)) continue;
    column_pairs run{x, cols[x].a, 0};
    while (is_pair(run.first_x + 2 * run.count, run.first_q + run.count)) ++run.count;
    if (run.count > best.count) best = run;
    x += 2 * run.count - 1;
  }
  return best;
}

namespace {

// One output row of a column-perforated conv from its compact row `c` (cols_eff values).
template <bool HasBias>
void expand_columns(const line_source* cols, const column_pairs& pairs, int ow,
                    const float* __restrict c, float bias, float* __restrict out) {
  auto value = [&](int x) {
    const line_source s = cols[x];
    const float v = s.interpolated ? perf_interp_value(c[s.a], c[s.b]) : c[s.a];
    return HasBias ? v + bias : v;
  };
  const int pair_begin = pairs.first_x;
  const int pair_end = pairs.first_x + 2 * pairs.count;
  for (int x = 0; x < pair_begin; ++x) out[x] = value(x);
  {
    const float* __restrict q = c + pairs.first_q;
    float* __restrict o = out + pair_begin;
    for (int m = 0; m < pairs.count; ++m) {
      const float lo = q[m];
      const float hi = q[m + 1];
      const float mid = perf_interp_value(lo, hi);
      o[2 * m] = HasBias ? mid + bias : mid;
      o[2 * m + 1] = HasBias ? hi + bias : hi;
    }
  }
  for (int x = pair_end; x < ow; ++x) out[x] = value(x);
}

template <bool HasBias>
void finish(const conv_plan& p, const line_source* rows, const line_source* cols,
            const column_pairs& pairs, const float* compact, std::size_t ld, const float* bias,
            float* out_image) {
  const int ow = p.ow;
  const std::size_t plane = p.out_plane();
  const bool perf_cols = p.perf_cols();
  for (int k = 0; k < p.k; ++k) {
    const float* src = compact + static_cast<std::size_t>(k) * ld;
    float* y = out_image + static_cast<std::size_t>(k) * plane;
    const float b = HasBias ? bias[k] : 0.0f;
    if (perf_cols) {
      for (int r = 0; r < p.oh; ++r) {
        expand_columns<HasBias>(cols, pairs, ow, src + static_cast<std::size_t>(r) * p.cols_eff,
                                b, y + static_cast<std::size_t>(r) * ow);
      }
      continue;
    }
    // Rows (perforated or not): every output row is one compact row, or the interpolation of
    // two, plus the bias; contiguous loops over the full width.
    for (int r = 0; r < p.oh; ++r) {
      const line_source s = rows[r];
      float* __restrict dst = y + static_cast<std::size_t>(r) * ow;
      const float* __restrict a = src + static_cast<std::size_t>(s.a) * ow;
      if (!s.interpolated) {
        if (HasBias) {
          for (int x = 0; x < ow; ++x) dst[x] = a[x] + b;
        } else {
          std::memcpy(dst, a, sizeof(float) * static_cast<std::size_t>(ow));
        }
      } else {
        const float* __restrict bb = src + static_cast<std::size_t>(s.b) * ow;
        for (int x = 0; x < ow; ++x) {
          const float v = perf_interp_value(a[x], bb[x]);
          dst[x] = HasBias ? v + b : v;
        }
      }
    }
  }
}

}  // namespace

void finish_image(const conv_plan& plan, const line_source* rows, const line_source* cols,
                  const column_pairs& pairs, const float* compact, std::size_t ld,
                  const float* bias, float* out_image) {
  if (bias != nullptr) {
    finish<true>(plan, rows, cols, pairs, compact, ld, bias, out_image);
  } else {
    finish<false>(plan, rows, cols, pairs, compact, ld, bias, out_image);
  }
}

}  // namespace approxtune::kernels::detail
