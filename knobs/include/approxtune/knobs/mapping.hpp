/**
 * @file mapping.hpp
 * @brief From a knob to the kernel variant that implements it on a device.
 *
 * The kernels know nothing of knobs; this is the one place the two vocabularies meet.
 */
#pragma once

#include "approxtune/kernels/variants.hpp"
#include "approxtune/knobs/catalogue.hpp"

namespace approxtune::knobs {

/**
 * @brief Whether an fp16 knob may be mapped on the CPU. The catalogue tags fp16 knobs "gpu"
 * only; `simulate` maps them to the CPU's fp16 *accuracy simulation* (half-rounded operands,
 * fp32 arithmetic, no speedup) for accuracy studies.
 */
enum class fp16_on_cpu { reject, simulate };

/**
 * @brief The conv2d variant of @p knob on @p device.
 * @throws knob_mismatch_error if the knob does not apply to convolutions or does not exist on
 *         the device (unless fp16_on_cpu::simulate allows an fp16 knob on the CPU)
 */
kernels::conv_variant conv_variant_for(const knob_info& knob, device_kind device,
                                       fp16_on_cpu policy = fp16_on_cpu::reject);

/** @brief The dense variant of @p knob on @p device. @throws knob_mismatch_error */
kernels::dense_variant dense_variant_for(const knob_info& knob, device_kind device,
                                         fp16_on_cpu policy = fp16_on_cpu::reject);

/**
 * @brief The pooling variant of @p knob for a pooling op of kind @p op (pool_max or pool_mean).
 * @throws knob_mismatch_error
 */
kernels::pool_variant pool_variant_for(const knob_info& knob, op_kind op, device_kind device,
                                       fp16_on_cpu policy = fp16_on_cpu::reject);

/**
 * @brief The precision of @p knob for an element-wise op (add, bias_add, relu, tanh, batchnorm,
 * softmax): the baseline knobs 11 and 12 only. @throws knob_mismatch_error
 */
kernels::precision elementwise_precision_for(const knob_info& knob, op_kind op, device_kind device,
                                             fp16_on_cpu policy = fp16_on_cpu::reject);

}  // namespace approxtune::knobs
