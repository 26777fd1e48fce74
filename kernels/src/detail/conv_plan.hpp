// Private: the validated geometry of one conv2d call, shared by the CPU and CUDA back ends so
// both run exactly the same perforation/sampling extents. Host-only, plain C++.
#pragma once

#include <cstddef>
#include <span>

#include "approxtune/kernels/tensor.hpp"
#include "approxtune/kernels/variants.hpp"

namespace approxtune::kernels::detail {

struct conv_plan {
  int n = 0, c = 0, h = 0, w = 0;  // input
  int k = 0, kh = 0, kw = 0;       // weights [k, c, kh, kw]
  int oh = 0, ow = 0;              // output
  conv_params params{};
  conv_variant variant{};
  int plane = 0;     // kh * kw
  int n_full = 0;    // c * kh * kw
  int n_kept = 0;    // filter elements really read (GEMM inner dimension)
  int rows_eff = 0;  // output rows computed
  int cols_eff = 0;  // output columns computed

  bool perf_rows() const { return variant.kind == conv_kind::perforated_rows; }
  bool perf_cols() const { return variant.kind == conv_kind::perforated_cols; }
  bool sampled() const { return variant.kind == conv_kind::filter_sampling; }
  std::size_t out_plane() const { return static_cast<std::size_t>(oh) * ow; }
  std::size_t positions() const { return static_cast<std::size_t>(rows_eff) * cols_eff; }
  shape4 output_shape() const { return {n, k, oh, ow}; }
};

// Validates shapes and variant; throws shape_error naming `op` and the shapes.
conv_plan make_conv_plan(const char* op, shape4 input, shape4 weights, std::size_t bias_size,
                         const conv_params& params, const conv_variant& variant);

// Throws shape_error unless `output` equals the plan's output shape.
void check_conv_output(const char* op, const conv_plan& plan, shape4 output);

// Writes the compact->real row map, column map and kept filter indices (sizes rows_eff,
// cols_eff, n_kept) from the shared element functions.
void fill_conv_maps(const conv_plan& plan, int* row_map, int* col_map, int* filter_index);

// The plan as the plain-int geometry of the element functions (approx_element.hpp).
struct conv_dims;
conv_dims dims_of(const conv_plan& plan);

// FLOPs of the plan (see conv2d_flops).
double conv_plan_flops(const conv_plan& plan, bool has_bias);

}  // namespace approxtune::kernels::detail
