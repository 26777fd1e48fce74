// Private: pieces of the CPU convolution pipeline, split by approximation like the CUDA twins.
#pragma once

#include "detail/conv_plan.hpp"

namespace approxtune::kernels::detail {

// ---- perforated_conv_cpu.cpp -------------------------------------------------------------------

// How one output line (a row, or a column) is filled from the compact GEMM result: a computed
// line copies compact line `a`; a skipped line (interpolated != 0) is perf_interp_value of
// compact lines `a` and `b`. Built from the shared element functions (approx_element.hpp:
// perf_is_skipped, perf_interp_sources, perf_real_to_compact), so the CPU expansion uses the
// very rules the GPU's perf_output_value evaluates per element.
struct line_source {
  int a;
  int b;
  int interpolated;
};

// The sources of the `extent` output lines of one dimension; a dimension that is not perforated
// maps every line to itself (out needs `extent` entries).
void perforation_line_sources(int extent, bool perforated, int stride, int offset,
                              line_source* out);

// The regular stretch of a column-perforated row, found in (and checked against) the column
// sources: `count` pairs (x, x + 1) starting at x = first_x, where pair m has x skipped and
// interpolated from compact columns q and q + 1 (q = first_q + m) and x + 1 computed as compact
// column q + 1. Stride-2 perforation is all pairs but a column or two at the edges, so the pairs
// run as a vectorised interleaving loop and only the rest goes through the per-column table.
struct column_pairs {
  int first_x = 0;
  int first_q = 0;
  int count = 0;
};
column_pairs find_column_pairs(const line_source* cols, int ow);

// Writes one image's output [k, oh, ow] from its compact GEMM result (channel k at
// compact + k * ld, rows_eff x cols_eff row-major): expands/interpolates perforated rows or
// columns and adds the bias (may be null) in the same pass. For an unperforated plan it is a
// copy plus bias.
void finish_image(const conv_plan& plan, const line_source* rows, const line_source* cols,
                  const column_pairs& pairs, const float* compact, std::size_t ld,
                  const float* bias, float* out_image);

// ---- sampled_conv_cpu.cpp ----------------------------------------------------------------------

// The GEMM's A matrix [k x n_kept]: kept weights (filter_index) scaled by e/(e-1) for sampling,
// and rounded to half for the fp16 simulation.
void prepare_weights(const conv_plan& plan, const float* weights, const int* filter_index,
                     float* out);

}  // namespace approxtune::kernels::detail
