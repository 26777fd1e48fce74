// Private: pieces of the CPU convolution pipeline, split by approximation like the CUDA twins.
#pragma once

#include "detail/conv_plan.hpp"

namespace approxtune::kernels::detail {

// perforated_conv_cpu.cpp: the GEMM produced the computed rows of one image packed, channel k
// at compact + k * ld (rows_eff x ow, row-major). Copy them to their real rows of `out_image`
// [k, oh, ow] and fill the skipped rows by the reference interpolation rules.
void perforation_expand_interpolate(const conv_plan& plan, const int* row_map, const float* compact,
                                    std::size_t ld, float* out_image);

// Column perforation runs as a row perforation of the transposed problem, so that its im2col
// copies contiguous runs like the row version instead of gathering single columns (which cost
// as much as the GEMM it saves). These three helpers live in perforated_conv_cpu.cpp.
//
// The transposed plan: input [n, c, w, h], weights [k, c, kw, kh], rows perforated.
conv_plan transposed_plan(const conv_plan& plan);
// image [c, h, w] -> out [c, w, h].
void transpose_image(const conv_plan& plan, const float* image, float* out);
// weights [k, c, kh, kw] -> out [k, c, kw, kh], rounded to half for the fp16 simulation.
void transpose_weights(const conv_plan& plan, const float* weights, float* out);
// For each skipped column (in order offset, offset + stride, ...), the compact indices of its
// two interpolation sources: sources[2m], sources[2m + 1]. Needs 2 * ow ints.
void perforation_interp_columns(const conv_plan& plan, int* sources);
// The transposed GEMM result of one image, channel k at compact + k * ld laid out
// [cols_eff][oh], into `out_image` [k, oh, ow] with the skipped columns interpolated.
void perforation_cols_from_transposed(const conv_plan& plan, const int* col_map,
                                      const int* interp_columns, const float* compact,
                                      std::size_t ld, float* out_image);

// sampled_conv_cpu.cpp: the GEMM's A matrix [k x n_kept]: kept weights (filter_index) scaled
// by e/(e-1) for sampling, and rounded to half for the fp16 simulation.
void prepare_weights(const conv_plan& plan, const float* weights, const int* filter_index,
                     float* out);

}  // namespace approxtune::kernels::detail
