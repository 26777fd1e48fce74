// MPI glue of the CLI: workers serve, rank 0 attaches their slots to its run.
#pragma once

#include <string>

#include "approxtune/runtime/mpi.hpp"
#include "approxtune/search/tuner.hpp"

namespace approxtune::cli {

/** @brief Options of a distributed run. */
struct mpi_args {
  double worker_timeout_s = 600.0;  ///< a worker silent this long ends the job
  bool coordinator_only = false;    ///< rank 0 evaluates nothing itself
  int prefetch = 2;                 ///< candidates in flight per worker slot (rank 0 only)
};

/**
 * @brief On a worker rank: evaluates what rank 0 sends on this rank's devices until rank 0 is
 * done. @p devices is this rank's --devices spec. Returns the process exit code.
 */
int serve_worker(const mpi::session& s, const app& a, const std::string& devices,
                 const mpi_args& args);

/** @brief On rank 0: adds every worker's slots to @p o (no-op in a single process). */
void attach_workers(const mpi::session& s, tune_options& o, const mpi_args& args);

/** @brief "rank 0: N evaluations, rank 1: M, ..." from the slot statistics of a run. */
std::string evaluations_per_rank(const tune_summary& summary);

}  // namespace approxtune::cli
