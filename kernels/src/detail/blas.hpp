// Private: the one place the CPU kernels call OpenBLAS.
#pragma once

namespace approxtune::kernels::detail {

// C[m x n] (row-major, leading dimension ldc) = A[m x k] (lda) * B[k x n] (ldb) + beta C, or
// A * B^T + beta C when `b_transposed` (B stored n x k). With beta = 0, C is only written.
//
// Threading policy: the CPU ops parallelise with oneTBB (across images, or batch rows for
// dense), so each sgemm call here is a single-threaded GEMM. The first call therefore sets
// OpenBLAS to one thread (openblas_set_num_threads(1), process-wide): letting the pthread build
// of OpenBLAS spawn its own pool inside every TBB task would put 2 x cores threads on the cores
// and serialise the concurrent callers on OpenBLAS's server lock.
void sgemm(int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc,
           bool b_transposed = false, float beta = 0.0f);

// Applies the thread policy above now (idempotent); benchmarks call it before timing.
void blas_single_threaded();

}  // namespace approxtune::kernels::detail
