// Private: host+device element functions shared by the CPU (*_cpu.cpp) and CUDA (*_cuda.cu)
// kernels, so that the CPU tests exercise the very index maps, interpolation rules and sampling
// masks the GPU runs. Reference: /work/shared/reference/knobs.md. No state, no allocation.
#pragma once

#include <cstdint>
#include <cstring>

// CCCL 3 no longer defines __host__/__device__ for host compilers, so define our own spelling.
#if defined(__CUDACC__)
#define APPROXTUNE_HD __host__ __device__
#else
#define APPROXTUNE_HD
#endif

namespace approxtune::kernels::detail {

APPROXTUNE_HD inline int ceil_div(int a, int b) { return (a + b - 1) / b; }

// ---- Perforation (rows; columns use the same functions with the width) ----------------------

// Row r is skipped iff r >= s and (r - s) % x == 0.
APPROXTUNE_HD inline bool perf_is_skipped(int r, int stride, int offset) {
  return r >= offset && (r - offset) % stride == 0;
}

// h_eff = h - floor((h - s) / x) - ((h - s) % x > 0 ? 1 : 0). When h <= s no row is skipped
// (the reference formula is only meant for h > s; the guard keeps the divisions non-negative).
APPROXTUNE_HD inline int perf_computed_count(int h, int stride, int offset) {
  if (h <= offset) return h;
  const int d = h - offset;
  return h - d / stride - (d % stride > 0 ? 1 : 0);
}

// Compact row k (0 <= k < h_eff) -> real row: k when k < s, else ceil((k-s+1)*x/(x-1)) + s - 1.
APPROXTUNE_HD inline int perf_compact_to_real(int k, int stride, int offset) {
  if (k < offset) return k;
  return ceil_div((k - offset + 1) * stride, stride - 1) + offset - 1;
}

// Inverse map for a computed (not skipped) real row r: r minus the skipped rows below it,
// of which there are floor((r - s - 1) / x) + 1 when r > s.
APPROXTUNE_HD inline int perf_real_to_compact(int r, int stride, int offset) {
  return r > offset ? r - ((r - offset - 1) / stride + 1) : r;
}

// The two computed rows whose mean fills skipped row r of an h-row output: an interior row
// averages its neighbours, a skipped row 0 copies row 1, a skipped last row copies row h-2
// (copy = mean of a row with itself, exact in floating point). Needs h >= 2.
struct interp_sources {
  int a;
  int b;
};
APPROXTUNE_HD inline interp_sources perf_interp_sources(int r, int h) {
  if (r == 0) return {1, 1};
  if (r == h - 1) return {h - 2, h - 2};
  return {r - 1, r + 1};
}
APPROXTUNE_HD inline float perf_interp_value(float a, float b) { return 0.5f * (a + b); }

// ---- Filter sampling ---------------------------------------------------------------------------

// Regular case: the filter plane size KH*KW is a multiple of the skip rate e.
APPROXTUNE_HD inline bool samp_is_regular(int plane, int skip) { return plane % skip == 0; }

// Is flat filter index f = c*plane + j skipped? Irregular: f >= off && (f - off) % e == 0.
// Regular: the phase rotates with the input channel, j % e == (off + c) % e.
APPROXTUNE_HD inline bool samp_is_skipped(int f, int plane, int skip, int offset) {
  if (samp_is_regular(plane, skip)) {
    const int c = f / plane;
    const int j = f % plane;
    return j % skip == (offset + c) % skip;
  }
  return f >= offset && (f - offset) % skip == 0;
}

// Kept filter elements per output channel for n = channels * plane.
APPROXTUNE_HD inline int samp_kept_count(int channels, int plane, int skip, int offset) {
  if (samp_is_regular(plane, skip)) return channels * (plane - plane / skip);
  return perf_computed_count(channels * plane, skip, offset);
}

// Compact (kept) index t -> flat filter index. Irregular: the perforation map over the flat
// index. Regular: per channel the skipped locals are phase, phase+e, ... with phase = (off+c)%e,
// i.e. a perforation of the plane with offset = phase.
APPROXTUNE_HD inline int samp_compact_to_flat(int t, int channels, int plane, int skip,
                                              int offset) {
  if (samp_is_regular(plane, skip)) {
    const int per_channel = plane - plane / skip;
    const int c = t / per_channel;
    const int local = t % per_channel;
    return c * plane + perf_compact_to_real(local, skip, (offset + c) % skip);
  }
  (void)channels;
  return perf_compact_to_real(t, skip, offset);
}

// Kept weights are scaled by e / (e - 1) so the expected sum is unchanged.
APPROXTUNE_HD inline float samp_scale(int skip) {
  return static_cast<float>(skip) / static_cast<float>(skip - 1);
}

// ---- Reduction sampling (pooling)
// ----------------------------------------------------------------

// Window element j (row-major) is skipped iff floor((j+1)*num/den) > floor(j*num/den): exactly
// floor(n*num/den) of the first n elements are skipped, evenly spread.
APPROXTUNE_HD inline bool red_is_skipped(int j, int num, int den) {
  return ((j + 1) * num) / den > (j * num) / den;
}

// ---- One convolution's geometry, and the per-element index logic of the GPU pipeline ------------
// (The CPU pipeline batches the same maps into arrays; the GPU evaluates them per element. The
// CPU tests emulate the GPU pipeline with these functions: tests/kernels/conv_cuda_logic_test.)

// Plain ints so that it can be passed by value to a kernel. `kind` is the conv_kind value.
struct conv_dims {
  int n, c, h, w, k, kh, kw, oh, ow;
  int stride_h, stride_w, pad_h, pad_w;
  int plane, n_full, n_kept, rows_eff, cols_eff;
  int kind;
  int perf_stride, samp_skip, offset;
};

inline constexpr int conv_kind_exact = 0;
inline constexpr int conv_kind_rows = 1;
inline constexpr int conv_kind_cols = 2;
inline constexpr int conv_kind_sampling = 3;

// Compact output row i / column j / kept filter element t -> real index.
APPROXTUNE_HD inline int conv_row_of(const conv_dims& d, int i) {
  return d.kind == conv_kind_rows ? perf_compact_to_real(i, d.perf_stride, d.offset) : i;
}
APPROXTUNE_HD inline int conv_col_of(const conv_dims& d, int j) {
  return d.kind == conv_kind_cols ? perf_compact_to_real(j, d.perf_stride, d.offset) : j;
}
APPROXTUNE_HD inline int conv_filter_of(const conv_dims& d, int t) {
  return d.kind == conv_kind_sampling ? samp_compact_to_flat(t, d.c, d.plane, d.samp_skip, d.offset)
                                      : t;
}

// The input element read by im2col row t (kept filter element) at compact position pos
// (= i * cols_eff + j): channel, row, column; false when the tap falls in the padding.
struct conv_tap {
  int c, ih, iw;
};
APPROXTUNE_HD inline bool conv_tap_of(const conv_dims& d, int t, int pos, conv_tap* tap) {
  const int f = conv_filter_of(d, t);
  const int r = f % d.plane;
  tap->c = f / d.plane;
  tap->ih = conv_row_of(d, pos / d.cols_eff) * d.stride_h - d.pad_h + r / d.kw;
  tap->iw = conv_col_of(d, pos % d.cols_eff) * d.stride_w - d.pad_w + r % d.kw;
  return tap->ih >= 0 && tap->ih < d.h && tap->iw >= 0 && tap->iw < d.w;
}

// Output (y, x) of one channel of a perforated conv from that channel's compact GEMM result
// (rows_eff x cols_eff, row-major): the computed value, or the interpolation of its sources.
APPROXTUNE_HD inline float perf_output_value(const conv_dims& d, const float* compact, int y,
                                             int x) {
  const bool rows = d.kind == conv_kind_rows;
  const int r = rows ? y : x;
  if (!perf_is_skipped(r, d.perf_stride, d.offset)) {
    const int i = rows ? perf_real_to_compact(y, d.perf_stride, d.offset) : y;
    const int j = rows ? x : perf_real_to_compact(x, d.perf_stride, d.offset);
    return compact[i * d.cols_eff + j];
  }
  const interp_sources s = perf_interp_sources(r, rows ? d.oh : d.ow);
  if (rows) {
    const int a = perf_real_to_compact(s.a, d.perf_stride, d.offset);
    const int b = perf_real_to_compact(s.b, d.perf_stride, d.offset);
    return perf_interp_value(compact[a * d.cols_eff + x], compact[b * d.cols_eff + x]);
  }
  const int a = perf_real_to_compact(s.a, d.perf_stride, d.offset);
  const int b = perf_real_to_compact(s.b, d.perf_stride, d.offset);
  return perf_interp_value(compact[y * d.cols_eff + a], compact[y * d.cols_eff + b]);
}

// ---- Half precision (IEEE binary16, round to nearest even) --------------------------------------

APPROXTUNE_HD inline std::uint16_t half_from_float_bits(float f) {
  std::uint32_t x = 0;
  memcpy(&x, &f, sizeof x);
  const std::uint32_t sign = (x >> 16) & 0x8000u;
  const std::uint32_t ax = x & 0x7fffffffu;
  if (ax >= 0x7f800000u) {  // inf or NaN (NaN stays a quiet NaN)
    return static_cast<std::uint16_t>(sign | 0x7c00u | (ax > 0x7f800000u ? 0x200u : 0u));
  }
  if (ax >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7c00u);  // >= 65520 -> inf
  if (ax < 0x38800000u) {  // below 2^-14: a half subnormal (q * 2^-24) or zero
    if (ax <= 0x33000000u) return static_cast<std::uint16_t>(sign);  // <= 2^-25 ties to 0
    const int e = static_cast<int>(ax >> 23);
    const std::uint32_t m = (ax & 0x7fffffu) | 0x800000u;
    const int shift = 126 - e;  // value / 2^-24 = m * 2^(e - 126)
    std::uint32_t q = m >> shift;
    const std::uint32_t rem = m & ((1u << shift) - 1u);
    const std::uint32_t half = 1u << (shift - 1);
    q += (rem > half || (rem == half && (q & 1u))) ? 1u : 0u;
    return static_cast<std::uint16_t>(sign | q);
  }
  const std::uint32_t r = ax - 0x38000000u;  // rebias the exponent from 127 to 15
  std::uint32_t q = r >> 13;
  const std::uint32_t rem = r & 0x1fffu;
  q += (rem > 0x1000u || (rem == 0x1000u && (q & 1u))) ? 1u : 0u;  // a carry rolls the exponent
  return static_cast<std::uint16_t>(sign | q);
}

APPROXTUNE_HD inline float half_bits_to_float_value(std::uint16_t h) {
  const std::uint32_t sign = (static_cast<std::uint32_t>(h) & 0x8000u) << 16;
  const std::uint32_t e = (h >> 10) & 0x1fu;
  const std::uint32_t m = h & 0x3ffu;
  std::uint32_t bits = 0;
  if (e == 0) {
    if (m == 0) {
      bits = sign;
    } else {
      const float v = static_cast<float>(m) * 5.9604644775390625e-8f;  // m * 2^-24, exact
      memcpy(&bits, &v, sizeof bits);
      bits |= sign;
    }
  } else if (e == 31) {
    bits = sign | 0x7f800000u | (m << 13);
  } else {
    bits = sign | ((e + 112u) << 23) | (m << 13);
  }
  float out = 0.0f;
  memcpy(&out, &bits, sizeof out);
  return out;
}

APPROXTUNE_HD inline float round_half(float f) {
  return half_bits_to_float_value(half_from_float_bits(f));
}

}  // namespace approxtune::kernels::detail
