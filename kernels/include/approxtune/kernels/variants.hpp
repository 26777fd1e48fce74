/**
 * @file variants.hpp
 * @brief Op parameters and the kernel-variant descriptors an engine swaps per layer at run time.
 *
 * The variants implement the ApproxTuner/HPVM approximations (reference: knobs.md): output
 * perforation of convolutions, filter sampling, fp16, and reduction sampling for pooling. The
 * kernels know nothing of knob IDs; `approxtune::knobs` maps a knob to one of these descriptors.
 * Public headers of kernels stay C++17-clean: the CUDA translation units include them.
 */
#pragma once

#include <string>

namespace approxtune::kernels {

/** @brief Numeric precision of an op. */
enum class precision {
  fp32,  ///< float storage, float arithmetic
  /// Half storage of inputs and weights, fp32 accumulation. On the GPU: real half buffers and a
  /// tensor-core GEMM. On the CPU: an accuracy *simulation* only (values rounded to half and
  /// back, computed in fp32); it is never faster than fp32 there.
  fp16,
};

/** @brief Stride and zero padding of a 2-D convolution. */
struct conv_params {
  int stride_h = 1;
  int stride_w = 1;
  int pad_h = 0;
  int pad_w = 0;
};

/** @brief Which convolution algorithm to run. */
enum class conv_kind {
  exact,            ///< im2col + GEMM over every output position and filter element
  perforated_rows,  ///< compute only kept output rows, interpolate the skipped ones
  perforated_cols,  ///< same along the output width
  filter_sampling,  ///< skip every `skip`-th filter element, rescale the rest by e/(e-1)
};

/**
 * @brief A convolution variant. Build one with the factory functions below.
 *
 * Perforation (knobs 121-138, fp16 151-168): output row (or column) `r` is skipped iff
 * `r >= offset && (r - offset) % stride == 0`; skipped rows are interpolated from their
 * neighbours, then the bias is added. Filter sampling (231-239, fp16 261-269): see
 * `filter_sampling` in knobs.md; `skip` is the rate `e`, `offset` the phase.
 */
struct conv_variant {
  conv_kind kind = conv_kind::exact;
  precision prec = precision::fp32;
  int stride = 0;  ///< perforation stride (2..4 in the reference set), 0 otherwise
  int skip = 0;    ///< filter-sampling rate e (2..4 in the reference set), 0 otherwise
  int offset = 0;  ///< perforation or sampling offset, in [0, stride) or [0, skip)

  friend constexpr bool operator==(const conv_variant& a, const conv_variant& b) {
    return a.kind == b.kind && a.prec == b.prec && a.stride == b.stride && a.skip == b.skip &&
           a.offset == b.offset;
  }
  friend constexpr bool operator!=(const conv_variant& a, const conv_variant& b) {
    return !(a == b);
  }
  /** @brief E.g. "perforated_rows(stride=2, offset=1, fp32)". */
  std::string to_string() const;
};

/** @brief The exact convolution. */
constexpr conv_variant exact_conv(precision p = precision::fp32) {
  return {conv_kind::exact, p, 0, 0, 0};
}
/** @brief Row perforation with @p stride and @p offset. */
constexpr conv_variant perforated_rows(int stride, int offset, precision p = precision::fp32) {
  return {conv_kind::perforated_rows, p, stride, 0, offset};
}
/** @brief Column perforation with @p stride and @p offset. */
constexpr conv_variant perforated_cols(int stride, int offset, precision p = precision::fp32) {
  return {conv_kind::perforated_cols, p, stride, 0, offset};
}
/** @brief Filter sampling with rate @p skip and @p offset. */
constexpr conv_variant filter_sampling(int skip, int offset, precision p = precision::fp32) {
  return {conv_kind::filter_sampling, p, 0, skip, offset};
}

/** @brief A dense (fully connected) layer variant: only the precision can change. */
struct dense_variant {
  precision prec = precision::fp32;
  friend constexpr bool operator==(const dense_variant& a, const dense_variant& b) {
    return a.prec == b.prec;
  }
  friend constexpr bool operator!=(const dense_variant& a, const dense_variant& b) {
    return !(a == b);
  }
};

/** @brief Window, stride and padding of a 2-D pooling. Padded positions are never read. */
struct pool_params {
  int window_h = 2;
  int window_w = 2;
  int stride_h = 2;
  int stride_w = 2;
  int pad_h = 0;
  int pad_w = 0;
};

/**
 * @brief A pooling variant: reduction sampling (knobs 41-46).
 *
 * Semantics (approxtune's definition, documented in notes/issue5.md): the window's elements are
 * numbered row-major `j = 0 .. window_h*window_w - 1`; element `j` is skipped iff
 * `floor((j+1) * skip_num / skip_den) > floor(j * skip_num / skip_den)`, i.e. exactly
 * `floor(n * skip_num / skip_den)` elements are skipped, spread evenly over the window, and the
 * same ones in every window. Max pooling takes the max of the kept, in-bounds elements; average
 * pooling their mean (divided by the number of kept, in-bounds elements). A window whose kept
 * elements are all padding yields 0. `skip_num = 0` is exact pooling.
 */
struct pool_variant {
  int skip_num = 0;  ///< skipped fraction numerator (1/2, 2/5, 1/4 in the reference set)
  int skip_den = 1;  ///< skipped fraction denominator
  precision prec = precision::fp32;
  friend constexpr bool operator==(const pool_variant& a, const pool_variant& b) {
    return a.skip_num == b.skip_num && a.skip_den == b.skip_den && a.prec == b.prec;
  }
  friend constexpr bool operator!=(const pool_variant& a, const pool_variant& b) {
    return !(a == b);
  }
};

/** @brief Exact pooling. */
constexpr pool_variant exact_pool(precision p = precision::fp32) { return {0, 1, p}; }
/** @brief Reduction sampling skipping the fraction @p num / @p den of each window. */
constexpr pool_variant sampled_pool(int num, int den, precision p = precision::fp32) {
  return {num, den, p};
}

}  // namespace approxtune::kernels
