/**
 * @file engine.hpp
 * @brief Parallel, device-aware evaluation of batches of configurations (a oneTBB flow graph).
 */
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <spdlog/logger.h>

#include "approxtune/runtime/app.hpp"
#include "approxtune/runtime/error.hpp"
#include "approxtune/runtime/results_buffer.hpp"

namespace approxtune {

/** @brief A device the engine can evaluate on. */
struct device_info {
  std::string id;    ///< "cpu", "cuda:0", ...
  std::string kind;  ///< "cpu" or "gpu" (what knob device tags match)
  int index = 0;     ///< CUDA ordinal; 0 for the CPU
  std::string name;  ///< human-readable (CPU model or CUDA device name)
  std::size_t memory_bytes = 0;
  int compute_major = 0, compute_minor = 0;  ///< CUDA compute capability (0 for the CPU)
  int default_slots = 1;                     ///< a sensible slot count
};

/**
 * @brief Devices present: the CPU always, then CUDA devices when the build has CUDA and a device
 * exists. "No driver" or "no device" means zero CUDA devices, never an error.
 */
std::vector<device_info> discover_devices();

/** @brief A device and how many slots (concurrent evaluations) it gets. */
struct device_slots {
  device_info device;
  int slots = 1;
};

/**
 * @brief Parses a `--devices` spec such as "cpu:2" or "cuda:0:2,cuda:1:2" ("" = every device
 * with its default slot count; "cpu" = the CPU with its default).
 * @throws config_error naming the bad entry and listing the available devices
 */
std::vector<device_slots> parse_devices(const std::string& spec,
                                        const std::vector<device_info>& available);

/**
 * @brief A slot whose evaluations run elsewhere (e.g. on another MPI rank). Its evaluator only
 * ships the candidate and waits for the answer; the remote side times fairly on its own
 * devices, so the engine takes no local timing lock for it.
 *
 * With `depth` d > 1 the engine keeps up to d candidates in flight on the slot (d lanes, each
 * an engine slot with its own evaluator from `make_evaluator`, called concurrently; the remote
 * side queues them), so the next candidate is already there when one finishes and the round
 * trip is hidden. Lanes count as slots in `engine::num_slots()` and `stats()`.
 */
struct remote_slot {
  std::string device_id;    ///< e.g. "rank1:cpu"
  std::string device_kind;  ///< kind of the remote device ("cpu", "gpu")
  std::function<std::unique_ptr<evaluator>()> make_evaluator;
  int depth = 1;            ///< candidates in flight at most (>= 1)
};

/**
 * @brief Thrown by an evaluator when the whole run must end (e.g. an MPI worker stopped
 * answering): the engine stops handing out candidates and reports it via `engine::fatal()`.
 */
class fatal_evaluation_error : public error {
 public:
  using error::error;
};

/** @brief Options of the evaluation engine. */
struct engine_options {
  std::vector<device_slots> devices;   ///< empty = every device, default slots
  bool local_slots = true;             ///< false = only `remote` slots (e.g. MPI rank 0 that only coordinates)
  std::vector<remote_slot> remote;     ///< slots on other processes, after the local ones
  std::optional<double> timeout_s;     ///< per-evaluation timeout (none = wait forever)
  int retire_after_failures = 5;       ///< consecutive failures that retire a slot
  std::shared_ptr<spdlog::logger> logger;  ///< null = the "approxtune" logger
};

/** @brief Per-slot counters, for summaries. */
struct slot_stats {
  std::string device;
  int slot = 0;
  std::size_t evaluations = 0;
  std::size_t failures = 0;
  bool retired = false;
};

/**
 * @brief Evaluates batches of configurations concurrently, one per slot.
 *
 * A oneTBB flow graph: candidates queue up, a reserving join pairs each with a free slot token
 * (so at most one evaluation per slot is in flight: backpressure without busy waiting), the
 * evaluation runs on its slot's evaluator, then gives its token back. Results come back in
 * proposal order whatever the finishing order, so runs are reproducible for any slot count.
 *
 * Fair cost: when the app's cost is a timing (`app::cost_is_timed()`), an evaluation holds its
 * device's timing lock while it measures, so no other candidate runs on that device meanwhile
 * (serialising timed evaluations per device; apps with per-slot evaluators that separate the
 * QoS pass from the timed pass take the lock themselves, see `slot_info`). Modelled costs need
 * no lock.
 *
 * Failures (an exception, a NaN/inf QoS or cost, a timeout) become failed evaluations with a
 * reason; a slot that fails `retire_after_failures` times in a row is retired with a warning;
 * once every slot is retired the remaining candidates come back `skipped` and `live_slots()`
 * is 0: the caller stops and keeps what it has.
 */
class engine {
 public:
  engine(const app& a, engine_options options);
  ~engine();
  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  /** @brief Total number of slots (live or retired). */
  std::size_t num_slots() const noexcept;
  /** @brief Number of slots still in service. */
  std::size_t live_slots() const noexcept;

  /**
   * @brief Evaluates @p batch on split @p s; one result per candidate, in batch order.
   * Blocks until all are done. Candidates not started because of `request_stop` (reason
   * "cancelled") or because no slot is left come back with status `skipped`.
   * @throws error when called with every slot already retired
   */
  std::vector<evaluation> evaluate(std::span<const config_code> batch, split s);

  /** @brief Why the run must end (a `fatal_evaluation_error`), if it must. */
  std::optional<std::string> fatal() const;

  /** @brief Stops handing out new candidates; in-flight evaluations finish. Signal-safe. */
  void request_stop() noexcept;
  bool stop_requested() const noexcept;

  std::vector<slot_stats> stats() const;
  const std::vector<device_slots>& devices() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace approxtune
