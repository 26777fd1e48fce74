#include "detail/conv_plan.hpp"

#include <sstream>
#include <string>

#include "approxtune/kernels/error.hpp"
#include "approxtune/kernels/ops.hpp"
#include "detail/approx_element.hpp"

namespace approxtune::kernels::detail {
namespace {

[[noreturn]] void fail(const char* op, shape4 in, shape4 w, const std::string& what) {
  throw shape_error(std::string(op) + ": " + what + " (input " + in.to_string() + ", weights " +
                    w.to_string() + ")");
}

}  // namespace

conv_plan make_conv_plan(const char* op, shape4 input, shape4 weights, std::size_t bias_size,
                         const conv_params& params, const conv_variant& variant) {
  if (input.n <= 0 || input.c <= 0 || input.h <= 0 || input.w <= 0) {
    fail(op, input, weights, "input has an empty or negative dimension");
  }
  if (weights.n <= 0 || weights.c <= 0 || weights.h <= 0 || weights.w <= 0) {
    fail(op, input, weights, "weights have an empty or negative dimension");
  }
  if (input.c != weights.c) {
    fail(op, input, weights,
         "input has " + std::to_string(input.c) + " channels but weights expect " +
             std::to_string(weights.c));
  }
  if (params.stride_h <= 0 || params.stride_w <= 0 || params.pad_h < 0 || params.pad_w < 0) {
    fail(op, input, weights, "stride must be >= 1 and padding >= 0");
  }
  if (bias_size != 0 && bias_size != static_cast<std::size_t>(weights.n)) {
    fail(op, input, weights,
         "bias has " + std::to_string(bias_size) + " values, expected 0 or " +
             std::to_string(weights.n));
  }
  conv_plan p;
  p.n = input.n;
  p.c = input.c;
  p.h = input.h;
  p.w = input.w;
  p.k = weights.n;
  p.kh = weights.h;
  p.kw = weights.w;
  const int hp = input.h + 2 * params.pad_h - weights.h;
  const int wp = input.w + 2 * params.pad_w - weights.w;
  if (hp < 0 || wp < 0) fail(op, input, weights, "filter larger than the padded input");
  p.oh = hp / params.stride_h + 1;
  p.ow = wp / params.stride_w + 1;
  p.params = params;
  p.variant = variant;
  p.plane = p.kh * p.kw;
  p.n_full = p.c * p.plane;
  p.n_kept = p.n_full;
  p.rows_eff = p.oh;
  p.cols_eff = p.ow;
  switch (variant.kind) {
    case conv_kind::exact:
      break;
    case conv_kind::perforated_rows:
    case conv_kind::perforated_cols: {
      if (variant.stride < 2 || variant.offset < 0 || variant.offset >= variant.stride) {
        fail(op, input, weights,
             "invalid perforation " + variant.to_string() +
                 ": need stride >= 2, 0 <= offset < stride");
      }
      const bool rows = variant.kind == conv_kind::perforated_rows;
      const int extent = rows ? p.oh : p.ow;
      const int eff = perf_computed_count(extent, variant.stride, variant.offset);
      if (eff == 0 || (eff < extent && extent < 2)) {
        fail(op, input, weights,
             variant.to_string() + " computes no output " + (rows ? "row" : "column") +
                 " of an output with " + std::to_string(extent));
      }
      (rows ? p.rows_eff : p.cols_eff) = eff;
      break;
    }
    case conv_kind::filter_sampling:
      if (variant.skip < 2 || variant.offset < 0 || variant.offset >= variant.skip) {
        fail(op, input, weights,
             "invalid filter sampling " + variant.to_string() +
                 ": need skip >= 2, 0 <= offset < skip");
      }
      p.n_kept = samp_kept_count(p.c, p.plane, variant.skip, variant.offset);
      if (p.n_kept == 0) fail(op, input, weights, variant.to_string() + " keeps no filter element");
      break;
    default:
      fail(op, input, weights, "unknown conv_kind");
  }
  return p;
}

void check_conv_output(const char* op, const conv_plan& plan, shape4 output) {
  if (output != plan.output_shape()) {
    throw shape_error(std::string(op) + ": output is " + output.to_string() + ", expected " +
                      plan.output_shape().to_string() + " (input [" + std::to_string(plan.n) + "," +
                      std::to_string(plan.c) + "," + std::to_string(plan.h) + "," +
                      std::to_string(plan.w) + "])");
  }
}

void fill_conv_maps(const conv_plan& plan, int* row_map, int* col_map, int* filter_index) {
  const conv_variant& v = plan.variant;
  for (int i = 0; i < plan.rows_eff; ++i) {
    row_map[i] = plan.perf_rows() ? perf_compact_to_real(i, v.stride, v.offset) : i;
  }
  for (int j = 0; j < plan.cols_eff; ++j) {
    col_map[j] = plan.perf_cols() ? perf_compact_to_real(j, v.stride, v.offset) : j;
  }
  for (int t = 0; t < plan.n_kept; ++t) {
    filter_index[t] =
        plan.sampled() ? samp_compact_to_flat(t, plan.c, plan.plane, v.skip, v.offset) : t;
  }
}

conv_dims dims_of(const conv_plan& p) {
  static_assert(static_cast<int>(conv_kind::exact) == conv_kind_exact &&
                static_cast<int>(conv_kind::perforated_rows) == conv_kind_rows &&
                static_cast<int>(conv_kind::perforated_cols) == conv_kind_cols &&
                static_cast<int>(conv_kind::filter_sampling) == conv_kind_sampling);
  conv_dims d{};
  d.n = p.n;
  d.c = p.c;
  d.h = p.h;
  d.w = p.w;
  d.k = p.k;
  d.kh = p.kh;
  d.kw = p.kw;
  d.oh = p.oh;
  d.ow = p.ow;
  d.stride_h = p.params.stride_h;
  d.stride_w = p.params.stride_w;
  d.pad_h = p.params.pad_h;
  d.pad_w = p.params.pad_w;
  d.plane = p.plane;
  d.n_full = p.n_full;
  d.n_kept = p.n_kept;
  d.rows_eff = p.rows_eff;
  d.cols_eff = p.cols_eff;
  d.kind = static_cast<int>(p.variant.kind);
  d.perf_stride = p.variant.stride;
  d.samp_skip = p.variant.skip;
  d.offset = p.variant.offset;
  return d;
}

double conv_plan_flops(const conv_plan& plan, bool has_bias) {
  const double n = plan.n;
  const double k = plan.k;
  double flops = 2.0 * n * k * static_cast<double>(plan.positions()) * plan.n_kept;
  const double skipped =
      static_cast<double>(plan.out_plane()) - static_cast<double>(plan.positions());
  flops += 2.0 * n * k * skipped;  // interpolation: one add and one multiply per skipped element
  if (has_bias) flops += n * k * static_cast<double>(plan.out_plane());
  return flops;
}

}  // namespace approxtune::kernels::detail

namespace approxtune::kernels {

shape4 conv2d_output_shape(shape4 input, shape4 weights, const conv_params& params) {
  return detail::make_conv_plan("conv2d", input, weights, 0, params, exact_conv()).output_shape();
}

double conv2d_flops(shape4 input, shape4 weights, const conv_params& params,
                    const conv_variant& variant) {
  return detail::conv_plan_flops(
      detail::make_conv_plan("conv2d_flops", input, weights, 0, params, variant), true);
}

int perforation_computed_extent(shape4 output, const conv_variant& variant) {
  switch (variant.kind) {
    case conv_kind::perforated_rows:
      return detail::perf_computed_count(output.h, variant.stride, variant.offset);
    case conv_kind::perforated_cols:
      return detail::perf_computed_count(output.w, variant.stride, variant.offset);
    default:
      return output.h;
  }
}

int sampling_kept_length(shape4 weights, const conv_variant& variant) {
  if (variant.kind != conv_kind::filter_sampling) return weights.c * weights.h * weights.w;
  return detail::samp_kept_count(weights.c, weights.h * weights.w, variant.skip, variant.offset);
}

}  // namespace approxtune::kernels
