#include <cblas.h>

#include <mutex>

#include "detail/blas.hpp"

namespace approxtune::kernels::detail {

void blas_single_threaded() {
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
}

void sgemm(int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc,
           bool b_transposed, float beta) {
  blas_single_threaded();
  cblas_sgemm(CblasRowMajor, CblasNoTrans, b_transposed ? CblasTrans : CblasNoTrans, m, n, k, 1.0f,
              a, lda, b, ldb, beta, c, ldc);
}

}  // namespace approxtune::kernels::detail
