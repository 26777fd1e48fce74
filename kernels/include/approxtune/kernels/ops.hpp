/**
 * @file ops.hpp
 * @brief CPU inference ops on NCHW float32 tensors, exact and approximate, with FLOP counts.
 *
 * Every op takes preallocated outputs (and, where it needs scratch, a `workspace`), validates
 * shapes and throws `shape_error` naming the op and the shapes. No op allocates once its
 * workspace has grown to the largest layer. Outputs must not alias inputs unless a function
 * says so. Parallelism: oneTBB across images (see conv2d); OpenBLAS is used single-threaded.
 */
#pragma once

#include <cstdint>
#include <span>

#include "approxtune/kernels/tensor.hpp"
#include "approxtune/kernels/variants.hpp"
#include "approxtune/kernels/workspace.hpp"

namespace approxtune::kernels {

// ---------------------------------------------------------------------------------------------
// Convolution
// ---------------------------------------------------------------------------------------------

/**
 * @brief Output shape of a convolution.
 * @param input [N, C, H, W]
 * @param weights [K, C, KH, KW] (OIHW)
 * @throws shape_error if the channels disagree or the output would be empty
 */
shape4 conv2d_output_shape(shape4 input, shape4 weights, const conv_params& params);

/**
 * @brief 2-D convolution (cross-correlation, like every DNN framework) with optional bias,
 * running the algorithm selected by @p variant.
 *
 * Implementation: an im2col of only the output positions (perforation) and filter elements
 * (sampling) that the variant computes, then one `cblas_sgemm` whose inner dimension is the kept
 * filter length, per image or per group of images for small outputs (>= 512 GEMM columns);
 * perforated outputs are then expanded to their rows/columns and interpolated, with the bias
 * added after the interpolation in the same pass. Groups of images are spread over oneTBB worker
 * threads; OpenBLAS runs single-threaded inside them (set process-wide on first use).
 *
 * @param input [N, C, H, W]
 * @param weights [K, C, KH, KW]
 * @param bias K values, or empty for no bias
 * @param params stride and padding
 * @param variant exact, perforated, or filter-sampled; fp16 = accuracy simulation on the CPU
 * @param output [N, K, OH, OW] as given by conv2d_output_shape (preallocated)
 * @param ws scratch; grows on first use only
 * @throws shape_error on inconsistent shapes, an invalid variant, or a perforation that would
 *         leave no output row/column computed (e.g. a 1-row output with offset 0)
 */
void conv2d(const_tensor_view input, const_tensor_view weights, std::span<const float> bias,
            const conv_params& params, const conv_variant& variant, tensor_view output,
            workspace& ws);

/**
 * @brief Floating-point operations of conv2d with @p variant (multiply and add counted
 * separately: 2 per GEMM multiply-accumulate, 2 per interpolated element, 1 per bias add).
 * The tuner's cost model divides the baseline's count by this.
 * @throws shape_error like conv2d
 */
double conv2d_flops(shape4 input, shape4 weights, const conv_params& params,
                    const conv_variant& variant);

/**
 * @brief Output rows (perforated_rows) or columns (perforated_cols) the variant really
 * computes, `output.h` for the other kinds. 0 means the variant cannot run on this output.
 */
int perforation_computed_extent(shape4 output, const conv_variant& variant);

/**
 * @brief Filter elements per output channel that the variant reads (C*KH*KW unless sampling).
 */
int sampling_kept_length(shape4 weights, const conv_variant& variant);

// ---------------------------------------------------------------------------------------------
// Dense
// ---------------------------------------------------------------------------------------------

/**
 * @brief Fully connected layer: out[n, o] = sum_i in[n, i] * w[o, i] + bias[o].
 * @param input [N, C, H, W], read as N rows of C*H*W features
 * @param weights [O, I, 1, 1] with I = C*H*W (or any shape with n = O and image_size() = I)
 * @param bias O values or empty
 * @param output [N, O, 1, 1]
 * @throws shape_error on mismatched sizes
 */
void dense(const_tensor_view input, const_tensor_view weights, std::span<const float> bias,
           const dense_variant& variant, tensor_view output, workspace& ws);

/** @brief FLOPs of dense: 2*N*O*I plus N*O for the bias. */
double dense_flops(shape4 input, shape4 weights);

// ---------------------------------------------------------------------------------------------
// Element-wise and normalisation (in place allowed: output may be the input)
// ---------------------------------------------------------------------------------------------

/** @brief x[n, c, :, :] += bias[c], in place. @throws shape_error if bias.size() != C */
void bias_add(tensor_view x, std::span<const float> bias);
/** @brief out = max(in, 0). Output may alias input. */
void relu(const_tensor_view input, tensor_view output);
/** @brief out = tanh(in). Output may alias input. */
void tanh(const_tensor_view input, tensor_view output);
/** @brief out = a + b (residual add). Output may alias a or b. */
void add(const_tensor_view a, const_tensor_view b, tensor_view output);
/**
 * @brief Inference batch norm: out = gamma[c] * (in - mean[c]) / sqrt(var[c] + eps) + beta[c].
 * Output may alias input. @throws shape_error if a parameter vector's size is not C
 */
void batch_norm(const_tensor_view input, std::span<const float> gamma, std::span<const float> beta,
                std::span<const float> mean, std::span<const float> var, float eps,
                tensor_view output);
/**
 * @brief Softmax over the channel axis at every (n, h, w) position (a dense output [N, O, 1, 1]
 * gets a softmax over its O classes). Numerically stable (max subtracted). Output may alias input.
 */
void softmax(const_tensor_view input, tensor_view output);

// ---------------------------------------------------------------------------------------------
// Pooling
// ---------------------------------------------------------------------------------------------

/**
 * @brief Output shape of a pooling: floor((H + 2*pad - window) / stride) + 1 per axis.
 * @throws shape_error on an empty output, a non-positive window/stride, or pad >= window
 */
shape4 pool2d_output_shape(shape4 input, const pool_params& params);
/** @brief Max pooling with optional reduction sampling (see pool_variant). */
void max_pool2d(const_tensor_view input, const pool_params& params, const pool_variant& variant,
                tensor_view output);
/** @brief Average pooling with optional reduction sampling (see pool_variant). */
void avg_pool2d(const_tensor_view input, const pool_params& params, const pool_variant& variant,
                tensor_view output);
/** @brief Window elements read per output (kept elements, padding included), times outputs. */
double pool2d_flops(shape4 input, const pool_params& params, const pool_variant& variant);

// ---------------------------------------------------------------------------------------------
// Half precision helpers (the same bit-exact rounding the CUDA path's conversions perform)
// ---------------------------------------------------------------------------------------------

/** @brief IEEE binary16 bits of @p x, rounded to nearest even (overflow -> inf, NaN kept). */
std::uint16_t float_to_half_bits(float x) noexcept;
/** @brief The float value of binary16 bits @p h (exact). */
float half_bits_to_float(std::uint16_t h) noexcept;
/** @brief @p x rounded to the nearest half-precision value, returned as float. */
float round_to_half(float x) noexcept;

}  // namespace approxtune::kernels
