/**
 * @file mpi.hpp
 * @brief Distributed tuning over MPI: rank 0 runs the strategy, the store and the outputs;
 * every rank evaluates on its own devices and slots.
 *
 * Plain C++ (no <mpi.h>): in builds without MPI every rank is a single process and `session`
 * reports size 1. The protocol is MPI point-to-point between rank 0 and each worker: rank 0
 * sees a worker's slots as `remote_slot`s of its engine (each with `depth` lanes, so the next
 * candidate already waits on the worker when one finishes), candidates go to whichever slot
 * (local or remote) is free, and results come back in proposal order as usual.
 *
 * One progress thread per process makes every MPI call of the run (evaluation threads only
 * queue jobs or results and sleep on condition variables; Open MPI's blocking calls would spin
 * a core). Between probes it waits on a condition variable, woken at once by a queued job or
 * result: on rank 0 it probes for results only while some candidate is out (every 10 us, backing
 * off to 1 ms while more candidates are out than there are worker slots, so that some wait queued
 * behind a running one, and to 100 us once fewer are out, near the end of a batch); on a worker every 10-100 us while some slot has nothing to do, every 2 ms
 * while all are busy or fed, and every 2 ms after 200 ms without a message (an idle worker
 * measured 1-1.5% of a core).
 */
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <spdlog/logger.h>

#include "approxtune/runtime/app.hpp"
#include "approxtune/runtime/engine.hpp"

namespace approxtune::mpi {

/** @brief True when the library was built with MPI support. */
bool built_with_mpi() noexcept;

/** @brief True when the process was started by an MPI launcher (mpirun, srun...). */
bool launched_under_mpi() noexcept;

/**
 * @brief The MPI lifetime of the process (MPI_Init_thread / MPI_Finalize). Initialises MPI only
 * when built with it and launched under a launcher; otherwise a single-process session.
 */
class session {
 public:
  session(int* argc, char*** argv);
  ~session();
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  int rank() const noexcept { return rank_; }
  int size() const noexcept { return size_; }
  /** @brief True when more than one rank takes part. */
  bool distributed() const noexcept { return size_ > 1; }
  /** @brief Ends every rank of the job at once (MPI_Abort); returns only without MPI. */
  void abort(int code) const;

 private:
  int rank_ = 0, size_ = 1;
  bool initialized_ = false;
};

/**
 * @brief Sends @p text from rank 0 to every rank (MPI_Bcast); returns it on every rank.
 * Collective: every rank must call it. Without MPI it returns @p text.
 */
std::string broadcast_text(const session& s, const std::string& text);

/** @brief Options of the distributed evaluation. */
struct cluster_options {
  /// A worker that does not answer an evaluation within this many seconds ends the job (the
  /// time counts from sending, so it includes waiting behind the slot's other candidates).
  double worker_timeout_s = 600.0;
  /// Candidates in flight per worker slot at most (the `remote_slot::depth`): 2 hides the
  /// round trip; more lets a slow rank hold more of a batch. At least 1.
  int depth = 2;
  std::shared_ptr<spdlog::logger> logger;
};

/**
 * @brief Rank 0: learns every worker's devices and slots (each worker reports them at start)
 * and returns one remote slot per worker slot. Collective with `serve` on the workers.
 */
std::vector<remote_slot> connect_workers(const session& s, const cluster_options& options);

/** @brief Rank 0: tells every worker to stop serving. Collective with `serve`. */
void shutdown_workers(const session& s);

/**
 * @brief Workers (rank > 0): report the local devices to rank 0, then evaluate whatever rank 0
 * sends on the local slots (one evaluator per slot, fair timing per device as in the engine)
 * until rank 0 shuts them down.
 */
void serve(const session& s, const app& a, const std::vector<device_slots>& local,
           const cluster_options& options);

}  // namespace approxtune::mpi
