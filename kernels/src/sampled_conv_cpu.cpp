#include "detail/approx_element.hpp"
#include "detail/conv_cpu.hpp"

namespace approxtune::kernels::detail {

void prepare_weights(const conv_plan& plan, const float* weights, const int* filter_index,
                     float* out) {
  const float scale = plan.sampled() ? samp_scale(plan.variant.skip) : 1.0f;
  const bool half = plan.variant.prec == precision::fp16;
  for (int k = 0; k < plan.k; ++k) {
    const float* src = weights + static_cast<std::size_t>(k) * plan.n_full;
    float* dst = out + static_cast<std::size_t>(k) * plan.n_kept;
    for (int t = 0; t < plan.n_kept; ++t) {
      // fp16: the scaled weight is what is stored in half, exactly as the GPU path does.
      const float wv = src[filter_index[t]] * scale;
      dst[t] = half ? round_half(wv) : wv;
    }
  }
}

}  // namespace approxtune::kernels::detail
