#include "approxtune/knobs/mapping.hpp"

#include <string>

namespace approxtune::knobs {
namespace {

namespace k = approxtune::kernels;

// Applies the device rule, with the one exception of fp16 knobs on the CPU under `simulate`.
void check(const knob_info& knob, op_kind op, device_kind device, fp16_on_cpu policy) {
  if (device == device_kind::cpu && knob.precision == knob_precision::fp16 &&
      policy == fp16_on_cpu::simulate && knob.exists_on(device_kind::gpu)) {
    knob.check_applies(op, device_kind::gpu);  // only the op kind is checked
    return;
  }
  knob.check_applies(op, device);
}

k::precision precision_of(const knob_info& knob) {
  return knob.precision == knob_precision::fp16 ? k::precision::fp16 : k::precision::fp32;
}

}  // namespace

kernels::conv_variant conv_variant_for(const knob_info& knob, device_kind device,
                                       fp16_on_cpu policy) {
  check(knob, op_kind::conv, device, policy);
  const k::precision p = precision_of(knob);
  switch (knob.kind) {
    case knob_kind::baseline:
      return k::exact_conv(p);
    case knob_kind::perforation:
      return knob.perforate_rows ? k::perforated_rows(knob.stride, knob.offset, p)
                                 : k::perforated_cols(knob.stride, knob.offset, p);
    case knob_kind::filter_sampling:
      return k::filter_sampling(knob.skip, knob.offset, p);
    case knob_kind::reduction_sampling:
      break;
  }
  throw knob_mismatch_error("knob " + knob.name + " (" + knob.label +
                            ") has no convolution variant (op kind \"conv\")");
}

kernels::dense_variant dense_variant_for(const knob_info& knob, device_kind device,
                                         fp16_on_cpu policy) {
  check(knob, op_kind::dense, device, policy);
  if (knob.kind != knob_kind::baseline) {
    throw knob_mismatch_error("knob " + knob.name + " (" + knob.label +
                              ") has no dense variant (op kind \"dense\")");
  }
  return {precision_of(knob)};
}

kernels::pool_variant pool_variant_for(const knob_info& knob, op_kind op, device_kind device,
                                       fp16_on_cpu policy) {
  if (op != op_kind::pool_max && op != op_kind::pool_mean) {
    throw knob_mismatch_error("pool_variant_for: op kind \"" + std::string(to_string(op)) +
                              "\" is not a pooling (knob " + knob.name + ")");
  }
  check(knob, op, device, policy);
  const k::precision p = precision_of(knob);
  if (knob.kind == knob_kind::reduction_sampling)
    return k::sampled_pool(knob.skip_num, knob.skip_den, p);
  if (knob.kind == knob_kind::baseline) return k::exact_pool(p);
  throw knob_mismatch_error("knob " + knob.name + " (" + knob.label +
                            ") has no pooling variant (op kind \"" + std::string(to_string(op)) +
                            "\")");
}

kernels::precision elementwise_precision_for(const knob_info& knob, op_kind op, device_kind device,
                                             fp16_on_cpu policy) {
  check(knob, op, device, policy);
  if (knob.kind != knob_kind::baseline) {
    throw knob_mismatch_error("knob " + knob.name + " (" + knob.label +
                              ") is not a precision knob for op kind \"" +
                              std::string(to_string(op)) + "\"");
  }
  return precision_of(knob);
}

}  // namespace approxtune::knobs
