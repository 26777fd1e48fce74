#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <new>
#include <type_traits>

#include "approxtune/kernels/error.hpp"
#include "approxtune/kernels/ops.hpp"
#include "detail/approx_element.hpp"
#include "detail/blas.hpp"
#include "detail/conv_cpu.hpp"

namespace approxtune::kernels {
namespace {

using detail::conv_plan;

// How im2col reads the computed output columns: col_map[j] = first + step * j for every j when
// `affine` (always for an unperforated or stride-2-perforated width), else through col_map.
struct column_walk {
  bool affine = true;
  int first = 0;
  int step = 1;
};

column_walk column_walk_of(const int* col_map, int cols_eff) {
  column_walk cw;
  cw.first = col_map[0];
  cw.step = cols_eff > 1 ? col_map[1] - col_map[0] : 1;
  for (int j = 0; j < cols_eff; ++j) cw.affine = cw.affine && col_map[j] == cw.first + cw.step * j;
  return cw;
}

// n floats from s to d, n small (a conv row): 4-float chunks and one overlapping last chunk,
// inline, rather than a memcpy call whose overhead exceeds the copy at these lengths.
inline void copy_short(float* __restrict d, const float* __restrict s, int n) {
  if (n < 4) {
    for (int j = 0; j < n; ++j) d[j] = s[j];
    return;
  }
  int j = 0;
  for (; j + 4 <= n; j += 4) std::memcpy(d + j, s + j, 4 * sizeof(float));
  if (j < n) std::memcpy(d + n - 4, s + n - 4, 4 * sizeof(float));
}

// For an affine column walk, output column j of filter column dx reads padded input column
// first_col + dx + q j, where first_col = col_map[0] * stride_w and q = column-map step x
// stride_w (1 for an unperforated width, 2 for stride-2 column perforation or a stride-2 conv).
// Once per image, the zero-padded image is copied split into its q column phases (phase r =
// padded columns r, r + q, ...; len = ceil((w + 2 pad_w) / q)):
//   phases[((r * C + c) * hp + y) * len + m] = padded(c, y, q m + r),
// so that every row of im2col is a run of cols_eff consecutive floats of one phase row: element
// m0 = (first_col + dx) / q onwards of phase (first_col + dx) % q, padded row
// row_map[i] * stride_h + dy. im2col is then short copies without border tests, and a stride-2
// de-interleave happens once per image (one pass over the image, as a single long loop) instead
// of once per im2col row (kh * kw times as much, in runs too short to vectorise).
struct phase_layout {
  int q = 1;          // input columns between consecutive computed columns
  int hp = 0;         // padded rows
  int wp = 0;         // padded columns
  int len = 0;        // floats per phase row
  int first_col = 0;  // padded column of output column 0 for filter column 0
  std::size_t plane_floats() const { return static_cast<std::size_t>(hp) * len; }
  std::size_t floats(int channels) const {
    return static_cast<std::size_t>(q) * channels * plane_floats();
  }
  // Scratch for the q = 2 split: the padded image with rows of 2 len floats.
  std::size_t scratch_floats(int channels) const {
    return q == 2 ? 2 * static_cast<std::size_t>(channels) * plane_floats() : 0;
  }
  // Offset of filter element (c, dy, dx)'s run for output row 0.
  std::size_t tap_offset(int channels, int c, int dy, int dx) const {
    const int base = first_col + dx;
    return (static_cast<std::size_t>(base % q) * channels + c) * plane_floats() +
           static_cast<std::size_t>(dy) * len + base / q;
  }
};

// The padded rows of one image, `row_len` floats each (>= w + 2 pad_w, zero beyond).
void pad_image(const conv_plan& p, int hp, int row_len, const float* image, float* out) {
  const int pw = p.params.pad_w;
  const int ph = p.params.pad_h;
  for (int c = 0; c < p.c; ++c) {
    for (int y = 0; y < hp; ++y) {
      float* __restrict d = out + (static_cast<std::size_t>(c) * hp + y) * row_len;
      const int iy = y - ph;
      if (iy < 0 || iy >= p.h) {
        for (int j = 0; j < row_len; ++j) d[j] = 0.0f;
        continue;
      }
      for (int j = 0; j < pw; ++j) d[j] = 0.0f;
      copy_short(d + pw, image + (static_cast<std::size_t>(c) * p.h + iy) * p.w, p.w);
      for (int j = pw + p.w; j < row_len; ++j) d[j] = 0.0f;
    }
  }
}

void split_phases(const conv_plan& p, const phase_layout& L, const float* image, float* out,
                  float* scratch) {
  if (L.q == 1) {
    pad_image(p, L.hp, L.len, image, out);
    return;
  }
  if (L.q == 2) {
    // Pad with rows of 2 len floats, then de-interleave the whole image in one loop: even
    // floats are phase 0 rows, odd floats phase 1 rows.
    pad_image(p, L.hp, 2 * L.len, image, scratch);
    const std::size_t n = static_cast<std::size_t>(p.c) * L.plane_floats();
    float* __restrict even = out;
    float* __restrict odd = out + n;
    const float* __restrict s = scratch;
    for (std::size_t i = 0; i < n; ++i) {
      even[i] = s[2 * i];
      odd[i] = s[2 * i + 1];
    }
    return;
  }
  const int pw = p.params.pad_w;
  const int ph = p.params.pad_h;
  for (int r = 0; r < L.q; ++r) {
    for (int c = 0; c < p.c; ++c) {
      for (int y = 0; y < L.hp; ++y) {
        float* d = out + ((static_cast<std::size_t>(r) * p.c + c) * L.hp + y) * L.len;
        const int iy = y - ph;
        const float* src = image + (static_cast<std::size_t>(c) * p.h + iy) * p.w;
        for (int m = 0; m < L.len; ++m) {
          const int x = L.q * m + r - pw;
          d[m] = iy >= 0 && iy < p.h && x >= 0 && x < p.w ? src[x] : 0.0f;
        }
      }
    }
  }
}

// Offsets in the phase-split image of every kept filter element's run for output row 0
// (tap_offset), computed once per call: the same for every image.
void phase_tap_offsets(const conv_plan& p, const phase_layout& L, const int* filter_index,
                       int* out) {
  for (int t = 0; t < p.n_kept; ++t) {
    const int f = filter_index[t];
    const int r = f % p.plane;
    out[t] = static_cast<int>(L.tap_offset(p.c, f / p.plane, r / p.kw, r % p.kw));
  }
}

// The rows of one im2col row, Chunks 4-float chunks each (0: ce floats, any number of chunks).
template <int Chunks>
void copy_tap_rows(const conv_plan& p, const float* tap, const int* row_map, std::size_t row_step,
                   float* dst) {
  const int ce = p.cols_eff;
  // With cols_eff >= 2, all rows but the last copy whole 4-float chunks: the up to 3 floats a
  // row's last chunk writes past its end land in the next row (cols_eff >= 2 floats, or more
  // when cols_eff >= 4 makes the overrun smaller), which is written afterwards; the up to 3 it
  // reads past its source run lie inside the phase plane (a later padded row follows). This
  // keeps rows of 2-3 floats (stride-2 column perforation of 7-wide outputs) at one load and
  // store each.
  const int last = ce >= 2 ? p.rows_eff - 1 : 0;
  for (int i = 0; i < last; ++i) {
    float* __restrict d = dst + static_cast<std::size_t>(i) * ce;
    const float* __restrict s = tap + row_map[i] * row_step;
    if constexpr (Chunks > 0) {
      for (int j = 0; j < 4 * Chunks; j += 4) std::memcpy(d + j, s + j, 4 * sizeof(float));
    } else {
      for (int j = 0; j < ce; j += 4) std::memcpy(d + j, s + j, 4 * sizeof(float));
    }
  }
  for (int i = last; i < p.rows_eff; ++i) {
    copy_short(dst + static_cast<std::size_t>(i) * ce, tap + row_map[i] * row_step, ce);
  }
}

// im2col restricted to the computed output positions (row_map x col_map) and the kept filter
// elements (filter_index): col[t * ld + i * cols_eff + j] = input at the tap of filter element
// filter_index[t] for output (row_map[i], col_map[j]), 0 in the padding. This version copies
// runs of the phase-split image (affine column walk, see phase_layout); tap_offsets from
// phase_tap_offsets.
void im2col_phases(const conv_plan& p, const phase_layout& L, const float* phases,
                   const int* row_map, const int* tap_offsets, float* col, std::size_t ld) {
  const std::size_t row_step = static_cast<std::size_t>(p.params.stride_h) * L.len;
  const int chunks = (p.cols_eff + 3) / 4;
  auto run = [&](auto tag) {
    constexpr int n = decltype(tag)::value;
    for (int t = 0; t < p.n_kept; ++t) {
      copy_tap_rows<n>(p, phases + tap_offsets[t], row_map, row_step,
                       col + static_cast<std::size_t>(t) * ld);
    }
  };
  switch (chunks) {
    case 1:
      run(std::integral_constant<int, 1>{});
      break;
    case 2:
      run(std::integral_constant<int, 2>{});
      break;
    default:
      run(std::integral_constant<int, 0>{});
      break;
  }
}

// The general im2col from the image itself (irregular column maps -- perforation stride >= 3 --
// and 1x1 filters, where the phase copy would copy more than the im2col reads).
void im2col_gather(const conv_plan& p, const float* image, const int* row_map, const int* col_map,
                   const int* filter_index, float* col, std::size_t ld) {
  const int sh = p.params.stride_h;
  const int sw = p.params.stride_w;
  const int ph = p.params.pad_h;
  const int pw = p.params.pad_w;
  const int ce = p.cols_eff;
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
    int jhi = ce;
    while (jlo < ce && col_map[jlo] * sw - pw + dx < 0) ++jlo;
    while (jhi > jlo && col_map[jhi - 1] * sw - pw + dx >= p.w) --jhi;
    for (int i = 0; i < p.rows_eff; ++i) {
      float* __restrict dst = dst_row + static_cast<std::size_t>(i) * ce;
      const int ih = row_map[i] * sh - ph + dy;
      if (ih < 0 || ih >= p.h) {
        std::fill(dst, dst + ce, 0.0f);
        continue;
      }
      const float* __restrict src = src_plane + static_cast<std::size_t>(ih) * p.w + (dx - pw);
      for (int j = 0; j < jlo; ++j) dst[j] = 0.0f;
      for (int j = jlo; j < jhi; ++j) dst[j] = src[col_map[j] * sw];
      for (int j = jhi; j < ce; ++j) dst[j] = 0.0f;
    }
  }
}

// Shifted layout, for perforated convs with an affine row walk (stride-2 row perforation, column
// perforation of any stride): im2col is never built. Output row i reads padded row r0 + dy + qr i
// for filter row dy (r0 = row_map[0] stride_h, qr = row-map step x stride_h). The padded rows of
// the `group` images of one GEMM are stacked, image g's padded row y at stacked row g period + y,
// split into qr row phases (phase ry = stacked rows ry, ry + qr, ...; `rows` each), and every
// row is stored kw times, once per filter column dx, already gathered at the computed columns:
//   X[c][dx][ry][m][j] = padded(c, y, col_map[j] stride_w + dx) with g period + y = qr m + ry
// (ce = cols_eff floats per row). For filter row dy, the im2col rows of all (c, dx) are then rows
// of one strided matrix inside X: B_dy = X + (ry(dy) rows + m0(dy)) ce with leading dimension
// qr rows ce, image g's columns starting g (period / qr) ce further. The conv is kh accumulating
// GEMMs (K = C kw each) straight on X, with the weights repacked to
// A_dy[k][c kw + dx] = W[k][c][dy][dx]. Consecutive images may share zero rows: image g's
// bottom padding and image g + 1's top padding are both zero, so period = h + pad_h (rounded up
// to a multiple of qr) suffices. The price: the GEMM also computes period / qr - rows_eff junk
// rows between consecutive images (never read); for a single image there is none.
struct shift_layout {
  int qr = 1;      // row phases
  int r0 = 0;      // padded row of output row 0 for filter row 0
  int hp = 0;      // padded rows of one image
  int period = 0;  // stacked rows from one image to the next (a multiple of qr)
  int ce = 0;      // floats per row (computed columns)
  int group = 1;   // images stacked
  // Stacked rows each image writes (its padded rows, then zero rows up to the next image).
  int image_rows() const { return std::max(hp, period); }
  int rows() const { return detail::ceil_div((group - 1) * period + image_rows(), qr); }
  // Columns from one image to the next.
  std::size_t image_floats() const { return static_cast<std::size_t>(period / qr) * ce; }
  // Leading dimension of every B_dy (one (c, dx) block).
  std::size_t block_floats() const { return static_cast<std::size_t>(qr) * rows() * ce; }
  std::size_t floats(int channels, int kw) const {
    return static_cast<std::size_t>(channels) * kw * block_floats();
  }
  // GEMM columns of `count` images.
  std::size_t gemm_columns(int count, int rows_eff) const {
    return static_cast<std::size_t>(count - 1) * image_floats() +
           static_cast<std::size_t>(rows_eff) * ce;
  }
  std::size_t b_offset(int dy) const {
    const int row = r0 + dy;
    return (static_cast<std::size_t>(row % qr) * rows() + row / qr) * ce;
  }
};

// Writes image g's rows of the shifted layout (all channels and filter columns). With an affine
// column walk of step q = L.q >= 2, each channel plane is first split into its column phases
// (phase_layout, one channel, in `scratch`: L.floats(1) + L.scratch_floats(1) + 4 floats), so
// that every row of X is a copy of ce consecutive floats of a phase row, read from L1; with
// q = 1 (row perforation), rows are copied from the image itself; else they are gathered
// through col_map.
void build_shifted(const conv_plan& p, const shift_layout& S, const phase_layout& L, bool affine,
                   const int* col_map, const float* image, int g, float* x, float* scratch) {
  const int sw = p.params.stride_w;
  const int pw = p.params.pad_w;
  const int ph = p.params.pad_h;
  const int ce = S.ce;
  const int stack0 = g * S.period;
  const int nrows = S.image_rows();
  conv_plan one = p;  // the geometry of one channel, for split_phases
  one.c = 1;
  const bool split = affine && L.q >= 2;
  const bool runs = affine && L.q == 1;
  for (int c = 0; c < p.c; ++c) {
    const float* plane = image + static_cast<std::size_t>(c) * p.h * p.w;
    if (split) split_phases(one, L, plane, scratch, scratch + L.floats(1));
    for (int dx = 0; dx < p.kw; ++dx) {
      float* blk = x + (static_cast<std::size_t>(c) * p.kw + dx) * S.block_floats();
      if (split) {
        const float* tap = scratch + L.tap_offset(1, 0, 0, dx);
        // Rows in memory order (phase by phase); all but the last of each phase copy whole
        // 4-float chunks: the up to 3 floats written past a row land in the next row of the
        // phase, written afterwards, and the up to 3 read past a phase row stay inside the
        // scratch (a later phase row, the split scratch, or the 4 spare floats).
        for (int ry = 0; ry < S.qr; ++ry) {
          const int y0 = ((ry - stack0) % S.qr + S.qr) % S.qr;  // first y with row % qr == ry
          float* d_next =
              blk + (static_cast<std::size_t>(ry) * S.rows() + (stack0 + y0) / S.qr) * ce;
          for (int y = y0; y < nrows; y += S.qr, d_next += ce) {
            float* __restrict d = d_next;
            if (y >= S.hp) {
              for (int j = 0; j < ce; ++j) d[j] = 0.0f;
              continue;
            }
            const float* __restrict src = tap + static_cast<std::size_t>(y) * L.len;
            if (y + S.qr < nrows && ce >= 2) {
              for (int j = 0; j < ce; j += 4) std::memcpy(d + j, src + j, 4 * sizeof(float));
            } else {
              copy_short(d, src, ce);
            }
          }
        }
        continue;
      }
      // Computed columns whose tap is inside the input: [jlo, jhi) (col_map is increasing).
      int jlo = 0;
      int jhi = ce;
      while (jlo < ce && col_map[jlo] * sw - pw + dx < 0) ++jlo;
      while (jhi > jlo && col_map[jhi - 1] * sw - pw + dx >= p.w) --jhi;
      const int base = col_map[0] * sw - pw + dx;  // input column of computed column 0
      for (int ry = 0; ry < S.qr; ++ry) {
        const int y0 = ((ry - stack0) % S.qr + S.qr) % S.qr;
        float* d_next = blk + (static_cast<std::size_t>(ry) * S.rows() + (stack0 + y0) / S.qr) * ce;
        for (int y = y0; y < nrows; y += S.qr, d_next += ce) {
          float* __restrict d = d_next;
          const int iy = y - ph;
          if (iy < 0 || iy >= p.h) {
            for (int j = 0; j < ce; ++j) d[j] = 0.0f;
            continue;
          }
          const float* __restrict src = plane + static_cast<std::size_t>(iy) * p.w;
          for (int j = 0; j < jlo; ++j) d[j] = 0.0f;
          if (runs) {
            copy_short(d + jlo, src + base + jlo, jhi - jlo);
          } else {
            for (int j = jlo; j < jhi; ++j) d[j] = src[col_map[j] * sw - pw + dx];
          }
          for (int j = jhi; j < ce; ++j) d[j] = 0.0f;
        }
      }
    }
  }
}

// A_dy[k][c kw + dx] = W[k][c][dy][dx], the kh weight matrices of the shifted-layout GEMMs.
void repack_weights_by_row(const conv_plan& p, const float* w, float* out) {
  const std::size_t kk = static_cast<std::size_t>(p.c) * p.kw;
  for (int dy = 0; dy < p.kh; ++dy) {
    for (int k = 0; k < p.k; ++k) {
      float* d = out + (static_cast<std::size_t>(dy) * p.k + k) * kk;
      const float* s =
          w + static_cast<std::size_t>(k) * p.n_full + static_cast<std::size_t>(dy) * p.kw;
      for (int c = 0; c < p.c; ++c) {
        for (int dx = 0; dx < p.kw; ++dx)
          d[c * p.kw + dx] = s[static_cast<std::size_t>(c) * p.plane + dx];
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
  const bool own_weights = p.sampled() || half;

  // Small outputs (7x7, or heavily perforated) make per-image GEMMs too narrow for OpenBLAS to
  // run well, so a task packs `group` images side by side into one GEMM of about
  // min_gemm_columns columns; the result is then copied into each image's planes.
  // The number of groups is then rounded up to a multiple of 4, so that 2 or 4 threads get
  // equal shares (64 images of 21 positions: 3 groups of 25 would leave one of 2 threads idle a
  // third of the time; 4 groups of 16 keep both busy), unless that would make the GEMMs
  // narrower than half the target. The rounding deliberately ignores the actual thread count:
  // the grouping, and with it every GEMM's shape and rounding, must not depend on the arena the
  // call runs in (results are bitwise identical across arenas).
  constexpr std::size_t min_gemm_columns = 512;
  constexpr int group_multiple = 4;
  // Perforated convs run on the shifted layout (see shift_layout) when its GEMMs compute at most
  // this fraction of junk columns over the group's positions (measured: with 13 % junk, 7x7
  // layers ran slower than on the phase-split im2col; 28x28 and 14x14 have <= 6 %).
  constexpr double shift_max_junk = 0.08;
  const std::size_t positions = p.positions();
  int group =
      direct ? 1
             : static_cast<int>(std::min<std::size_t>(
                   static_cast<std::size_t>(p.n), (min_gemm_columns + positions - 1) / positions));
  if (group > 1) {
    const int wanted =
        detail::ceil_div(detail::ceil_div(p.n, group), group_multiple) * group_multiple;
    const int balanced = std::max(1, detail::ceil_div(p.n, wanted));
    if (static_cast<std::size_t>(balanced) * positions >= min_gemm_columns / 2) group = balanced;
  }
  const std::size_t gemm_columns = positions * static_cast<std::size_t>(group);

  // One scratch slot per worker thread of the current arena; a task finds its slot through
  // current_thread_index(), so the parallel loop itself never allocates.
  const int slots = tbb::this_task_arena::max_concurrency();
  std::size_t col_floats = direct ? 0 : static_cast<std::size_t>(p.n_kept) * gemm_columns;
  // GEMM result buffer: needed to pack several images, and for perforation, whose expansion
  // (fused with the bias) reads it and writes the output once.
  const bool use_c_buf = group > 1 || perforated;
  std::size_t c_floats = use_c_buf ? static_cast<std::size_t>(p.k) * gemm_columns : 0;
  // Index tables: row/column/filter maps, the output line sources (3 ints each), and the phase
  // offsets of the kept filter elements.
  const std::size_t n_ints = static_cast<std::size_t>(p.rows_eff) + p.cols_eff + p.n_kept +
                             3 * (static_cast<std::size_t>(p.oh) + p.ow) + p.n_kept;
  int* ints = ws.ints(n_ints);
  int* row_map = ints;
  int* col_map = row_map + p.rows_eff;
  int* filter_index = col_map + p.cols_eff;
  static_assert(sizeof(detail::line_source) == 3 * sizeof(int) &&
                alignof(detail::line_source) == alignof(int));
  // The line sources reuse the int scratch: create line_source objects there (placement new
  // of a trivial type emits no code), so they are accessed through objects that exist.
  int* const sources_at = filter_index + p.n_kept;
  for (int i = 0; i < p.oh + p.ow; ++i)
    ::new (static_cast<void*>(sources_at + 3 * i)) detail::line_source;
  auto* row_sources = std::launder(reinterpret_cast<detail::line_source*>(sources_at));
  detail::line_source* col_sources = row_sources + p.oh;
  detail::fill_conv_maps(p, row_map, col_map, filter_index);
  detail::perforation_line_sources(p.oh, p.perf_rows(), variant.stride, variant.offset,
                                   row_sources);
  detail::perforation_line_sources(p.ow, p.perf_cols(), variant.stride, variant.offset,
                                   col_sources);
  const detail::column_pairs pairs = p.perf_cols() ? detail::find_column_pairs(col_sources, p.ow)
                                                   : detail::column_pairs{};
  // im2col copies runs of a phase-split copy of each image when the column walk is affine
  // (unperforated, or stride-2 perforated) and the filter has more than one element.
  const column_walk walk = column_walk_of(col_map, p.cols_eff);
  // Perforated convs with an affine row walk run on the shifted layout instead (no im2col), if
  // its junk rows between stacked images add at most shift_max_junk GEMM columns.
  const column_walk row_walk = column_walk_of(row_map, p.rows_eff);
  shift_layout shifted;
  shifted.qr = row_walk.step * params.stride_h;
  shifted.r0 = row_walk.first * params.stride_h;
  shifted.hp = p.h + 2 * params.pad_h;
  shifted.period = detail::ceil_div(p.h + params.pad_h, shifted.qr) * shifted.qr;
  shifted.ce = p.cols_eff;
  shifted.group = group;
  const bool shift_direct = perforated && !half && p.plane > 1 && row_walk.affine &&
                            static_cast<double>(shifted.gemm_columns(group, p.rows_eff)) <=
                                (1.0 + shift_max_junk) * static_cast<double>(gemm_columns);
  if (shift_direct) {
    col_floats = shifted.floats(p.c, p.kw);
    c_floats = static_cast<std::size_t>(p.k) * shifted.gemm_columns(group, p.rows_eff);
  }
  int* const tap_offsets = sources_at + 3 * (p.oh + p.ow);
  phase_layout layout;
  layout.q = walk.step * params.stride_w;
  layout.hp = p.h + 2 * params.pad_h;
  layout.wp = p.w + 2 * params.pad_w;
  layout.len = detail::ceil_div(layout.wp, layout.q);
  layout.first_col = walk.first * params.stride_w;
  // (The tap offsets are ints: images of more than INT_MAX floats take the gather path.)
  const bool use_phases = !direct && !shift_direct && walk.affine && p.plane > 1 &&
                          layout.floats(p.c) <= static_cast<std::size_t>(INT_MAX);
  const std::size_t phase_floats = use_phases     ? layout.floats(p.c) + layout.scratch_floats(p.c)
                                   : shift_direct ? layout.floats(1) + layout.scratch_floats(1) + 4
                                                  : 0;
  if (use_phases) phase_tap_offsets(p, layout, filter_index, tap_offsets);

  const std::size_t slot_floats = col_floats + c_floats + phase_floats;
  const std::size_t weight_floats = own_weights    ? static_cast<std::size_t>(p.k) * p.n_kept
                                    : shift_direct ? static_cast<std::size_t>(p.k) * p.n_full
                                                   : 0;
  float* floats = ws.floats(weight_floats + slot_floats * static_cast<std::size_t>(slots));

  const float* a_matrix = weights.data;
  if (own_weights) {
    detail::prepare_weights(p, weights.data, filter_index, floats);
    a_matrix = floats;
  } else if (shift_direct) {
    repack_weights_by_row(p, weights.data, floats);
    a_matrix = floats;
  }
  float* slot_base = floats + weight_floats;

  const std::size_t in_image = input.shape.image_size();
  const std::size_t out_image = output.shape.image_size();
  const std::size_t plane = p.out_plane();
  const int groups = (p.n + group - 1) / group;
  const float* bias_data = bias.empty() ? nullptr : bias.data();

  tbb::parallel_for(
      tbb::blocked_range<int>(0, groups, 1), [&](const tbb::blocked_range<int>& range) {
        const int slot = tbb::this_task_arena::current_thread_index();
        float* col = slot_base + slot_floats * static_cast<std::size_t>(slot);
        float* c_buf = col + col_floats;
        float* phase_buf = c_buf + c_floats;
        for (int gi = range.begin(); gi != range.end(); ++gi) {
          const int first = gi * group;
          const int count = std::min(group, p.n - first);
          if (shift_direct) {
            for (int g = 0; g < count; ++g) {
              build_shifted(p, shifted, layout, walk.affine, col_map,
                            input.data + in_image * (first + g), g, col, phase_buf);
            }
            const std::size_t n_cols = shifted.gemm_columns(count, p.rows_eff);
            const int kk = p.c * p.kw;
            for (int dy = 0; dy < p.kh; ++dy) {
              detail::sgemm(p.k, static_cast<int>(n_cols), kk,
                            a_matrix + static_cast<std::size_t>(dy) * p.k * kk, kk,
                            col + shifted.b_offset(dy), static_cast<int>(shifted.block_floats()),
                            c_buf, static_cast<int>(n_cols), false, dy == 0 ? 0.0f : 1.0f);
            }
            float* out = output.data + out_image * first;
            for (int g = 0; g < count; ++g) {
              detail::finish_image(p, row_sources, col_sources, pairs,
                                   c_buf + shifted.image_floats() * g, n_cols, bias_data,
                                   out + out_image * g);
            }
            continue;
          }
          const std::size_t ld = positions * static_cast<std::size_t>(count);
          for (int g = 0; g < count && !direct; ++g) {
            const float* image = input.data + in_image * (first + g);
            if (use_phases) {
              split_phases(p, layout, image, phase_buf, phase_buf + layout.floats(p.c));
              im2col_phases(p, layout, phase_buf, row_map, tap_offsets, col + positions * g, ld);
            } else {
              im2col_gather(p, image, row_map, col_map, filter_index, col + positions * g, ld);
            }
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
            if (bias_data != nullptr) {
              for (int k = 0; k < p.k; ++k) {
                float* y = out + static_cast<std::size_t>(k) * plane;
                const float b = bias_data[k];
                for (std::size_t i = 0; i < plane; ++i) y[i] += b;
              }
            }
            continue;
          }
          detail::sgemm(p.k, static_cast<int>(ld), p.n_kept, a_matrix, p.n_kept, col,
                        static_cast<int>(ld), c_buf, static_cast<int>(ld));
          for (int g = 0; g < count; ++g) {
            detail::finish_image(p, row_sources, col_sources, pairs, c_buf + positions * g, ld,
                                 bias_data, out + out_image * g);
          }
        }
      });
}

}  // namespace approxtune::kernels
