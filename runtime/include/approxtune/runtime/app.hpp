/**
 * @file app.hpp
 * @brief The application being tuned: its ops and knobs, and how to measure a configuration.
 */
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "approxtune/runtime/config.hpp"
#include "approxtune/runtime/knob_space.hpp"

namespace approxtune {

/** @brief Where an evaluator runs: one slot of one device. */
struct slot_info {
  std::string device_id = "cpu";    ///< "cpu", "cuda:0", ...
  std::string device_kind = "cpu";  ///< matched against knob device tags: "cpu" or "gpu"
  int device_index = 0;             ///< CUDA ordinal (0 for the CPU)
  int slot = 0;                     ///< slot number on this device
  int global_slot = 0;              ///< slot number across all devices
  void* stream = nullptr;           ///< cudaStream_t of this slot on a GPU, else null
  /// The device's timing lock: an evaluator that `manages_timing()` holds it around its timed
  /// section only, so QoS passes of several slots overlap while timings stay exclusive.
  std::mutex* timing_lock = nullptr;
};

/**
 * @brief Measures configurations on one slot. The engine creates one per slot and calls it from
 * one thread at a time, so it may own buffers, weights and a stream without locking.
 */
class evaluator {
 public:
  virtual ~evaluator() = default;
  /**
   * @brief Measures @p code on split @p s.
   * @return QoS (higher-better) and absolute cost (lower-better; the tuner makes it relative)
   * @throws anything: the engine turns it into a failed evaluation
   */
  virtual measurement measure(const config_code& code, split s) = 0;
  /**
   * @brief True if the evaluator takes `slot_info::timing_lock` itself around its timed section.
   * Otherwise, for apps whose cost is timed, the engine holds the lock for the whole measure.
   */
  virtual bool manages_timing() const { return false; }
};

/**
 * @brief Optional interface of an app whose QoS is a metric of an output tensor (e.g. a
 * classifier's class scores for every image of the split). Predictive tuning's Pi-1 model uses
 * it: it profiles each (op, knob)'s output, predicts a configuration's output as the baseline's
 * plus the sum of its knobs' output deltas, and scores that with `qos_from_outputs`.
 * An app offers it by returning itself from `app::outputs()`.
 */
class output_app {
 public:
  virtual ~output_app() = default;
  /** @brief Number of values of one configuration's output on split @p s. */
  virtual std::size_t output_size(split s) const = 0;
  /**
   * @brief The output tensor of @p code on split @p s, flattened (`output_size(s)` values).
   * Thread-safe: called from several threads at once.
   * @throws anything when the configuration cannot run
   */
  virtual std::vector<float> measure_outputs(const config_code& code, split s) const = 0;
  /**
   * @brief The QoS of an output tensor of split @p s by the app's metric (`output_size(s)`
   * values). For the output `measure_outputs` gives, it equals the QoS `measure` gives.
   * @throws config_error when the size is wrong
   */
  virtual double qos_from_outputs(std::span<const double> outputs, split s) const = 0;
  /**
   * @brief Hint from Pi-1's profiling: while on, `measure` may keep the output of every
   * configuration with at most one op off its baseline knob (the profile) and `measure_outputs`
   * then serves it once without another pass. Off drops what is kept. Bounded by the profile's
   * size: 1 + sum over ops of (knobs - 1) outputs. The default keeps nothing. Thread-safe.
   */
  virtual void keep_profile_outputs(bool /*on*/) const {}
  /** @brief How many `measure_outputs` calls were served from kept outputs (default 0). */
  virtual std::size_t kept_outputs_served() const { return 0; }
};

/**
 * @brief An application to tune (ApproxTuner's ApproxApp).
 *
 * Subclasses give a name and the op -> knobs declaration, and implement either `measure`
 * (simple apps: it must then be thread-safe, since the engine calls it from several slots at
 * once) or `make_evaluator` (apps with per-device state).
 */
class app {
 public:
  /**
   * @param ops op -> knobs declaration, in op order
   * @param target_device when set, knobs that do not exist on it are dropped
   */
  explicit app(std::vector<op_knobs> ops, std::optional<std::string> target_device = {});
  virtual ~app() = default;
  app(const app&) = delete;
  app& operator=(const app&) = delete;

  /** @brief The app's name; identifies it in outputs and stores. */
  virtual std::string name() const = 0;

  /**
   * @brief Measures one configuration (the simple interface). Must be thread-safe.
   * The default throws: an app overrides this or `make_evaluator`.
   */
  virtual measurement measure(const config_code& code, split s) const;

  /**
   * @brief One evaluator per engine slot. The default wraps the thread-safe `measure`.
   */
  virtual std::unique_ptr<evaluator> make_evaluator(const slot_info& slot) const;

  /**
   * @brief True when the cost is a timing that concurrent work on the same device would
   * disturb; the engine then measures cost without another candidate on that device.
   * False for modelled costs (FLOPs, analytic).
   */
  virtual bool cost_is_timed() const { return true; }

  /**
   * @brief Lines of the HPVM configuration format for @p code (one per fused node). The
   * default writes one line per op: `<i> <device> <op> <knob>`.
   */
  virtual std::vector<std::string> hpvm_lines(const config_code& code) const;

  /** @brief A hash identifying the app's model/data for stores (default: 0, unknown). */
  virtual std::uint64_t content_hash() const { return 0; }

  /** @brief The app's output-tensor interface (Pi-1), or null when it has none (the default). */
  virtual const output_app* outputs() const { return nullptr; }

  const knob_space& space() const noexcept { return space_; }
  const knob& baseline_knob() const noexcept { return space_.baseline(); }
  /** @brief Encodes a possibly abbreviated named config (missing ops get the baseline). */
  config_code encode(const knob_map& knobs) const { return space_.encode(knobs); }
  knob_map decode(const config_code& code) const { return space_.decode(code); }
  knob_map add_baseline_to_knobs(const knob_map& knobs) const {
    return space_.add_baseline_to_knobs(knobs);
  }
  /** @brief Measures a named config (abbreviations allowed) with the simple interface. */
  measurement measure_named(const knob_map& knobs, split s) const {
    return measure(encode(knobs), s);
  }

 private:
  knob_space space_;
};

}  // namespace approxtune
