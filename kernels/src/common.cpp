#include <cmath>
#include <string>
#include <utility>

#include "approxtune/kernels/error.hpp"
#include "approxtune/kernels/ops.hpp"
#include "approxtune/kernels/tensor.hpp"
#include "approxtune/kernels/variants.hpp"
#include "detail/approx_element.hpp"

namespace approxtune::kernels {

std::string shape4::to_string() const {
  return "[" + std::to_string(n) + "," + std::to_string(c) + "," + std::to_string(h) + "," +
         std::to_string(w) + "]";
}

tensor::tensor(shape4 s, std::vector<float> values) : shape_(s), data_(std::move(values)) {
  if (data_.size() != s.size()) {
    throw shape_error("tensor: " + std::to_string(data_.size()) + " values for shape " +
                      s.to_string() + " (" + std::to_string(s.size()) + " expected)");
  }
}

void tensor::resize(shape4 s) {
  if (s.n < 0 || s.c < 0 || s.h < 0 || s.w < 0) {
    throw shape_error("tensor::resize: negative dimension in " + s.to_string());
  }
  // vector::resize never shrinks the capacity, so a buffer sized for the largest batch stays.
  data_.resize(s.size());
  shape_ = s;
}

std::string conv_variant::to_string() const {
  const char* p = prec == precision::fp16 ? "fp16" : "fp32";
  switch (kind) {
    case conv_kind::exact:
      return std::string("exact(") + p + ")";
    case conv_kind::perforated_rows:
    case conv_kind::perforated_cols:
      return std::string(kind == conv_kind::perforated_rows ? "perforated_rows"
                                                            : "perforated_cols") +
             "(stride=" + std::to_string(stride) + ", offset=" + std::to_string(offset) + ", " + p +
             ")";
    case conv_kind::filter_sampling:
      return "filter_sampling(skip=" + std::to_string(skip) + ", offset=" + std::to_string(offset) +
             ", " + p + ")";
  }
  return "conv_variant(?)";
}

std::uint16_t float_to_half_bits(float x) noexcept { return detail::half_from_float_bits(x); }
float half_bits_to_float(std::uint16_t h) noexcept { return detail::half_bits_to_float_value(h); }
float round_to_half(float x) noexcept { return detail::round_half(x); }

}  // namespace approxtune::kernels
