/**
 * @file catalogue.hpp
 * @brief The approximation-knob catalogue: HPVM/ApproxTuner knob IDs with their parameters,
 * device tags, applicable op kinds and nominal speedups, loadable from and savable to JSON.
 *
 * The reference set (`knob_catalogue::reference()`) reproduces the `global_knobs` numbering of
 * reference/knobs.md: 11, 12, 121-138, 151-168, 231-239, 261-269, 41-46. A knob's `name` is its
 * ID as a decimal string ("121"), which is how HPVM configuration files name knobs; `label` is
 * a human-readable description ("perf_fp32 col stride 2 offset 0").
 */
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace approxtune::knobs {

/** @brief Base of the knob errors; derives from std::runtime_error. */
class knob_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/** @brief A knob ID or name is not in the catalogue. */
class unknown_knob_error : public knob_error {
 public:
  using knob_error::knob_error;
};

/** @brief A knob was applied to an op kind or device it does not fit. */
class knob_mismatch_error : public knob_error {
 public:
  using knob_error::knob_error;
};

/** @brief A catalogue file or JSON document is malformed (message names the field). */
class catalogue_format_error : public knob_error {
 public:
  using knob_error::knob_error;
};

/** @brief The kinds of op a knob can apply to (names as in HPVM configuration files). */
enum class op_kind {
  conv,
  dense,
  add,
  bias_add,
  relu,
  tanh,
  pool_max,
  pool_mean,
  batchnorm,
  softmax
};

/** @brief "conv", "dense", "add", "bias_add", "relu", "tanh", "pool_max", "pool_mean", ... */
std::string_view to_string(op_kind k) noexcept;
/** @brief Inverse of to_string; also accepts HPVM's "mul" for dense. @throws knob_error */
op_kind op_kind_from_string(std::string_view s);

/** @brief The device a knob runs on; tags in the catalogue are "cpu" and "gpu". */
enum class device_kind { cpu, gpu };
/** @brief "cpu" or "gpu". */
std::string_view to_string(device_kind d) noexcept;
/** @brief Inverse of to_string. @throws knob_error */
device_kind device_kind_from_string(std::string_view s);

/** @brief What a knob does to the op it is applied to. */
enum class knob_kind {
  baseline,            ///< exact op at the knob's precision (11 fp32, 12 fp16)
  perforation,         ///< perforated convolution (121-138, 151-168)
  filter_sampling,     ///< filter-sampling convolution (231-239, 261-269)
  reduction_sampling,  ///< sampled pooling / reduction (41-46)
};
std::string_view to_string(knob_kind k) noexcept;
knob_kind knob_kind_from_string(std::string_view s);

/** @brief Numeric precision of a knob. */
enum class knob_precision { fp32, fp16 };
std::string_view to_string(knob_precision p) noexcept;
knob_precision knob_precision_from_string(std::string_view s);

/** @brief One knob of the catalogue. */
struct knob_info {
  int id = 0;         ///< HPVM global knob ID
  std::string name;   ///< identity: the ID as a decimal string ("121")
  std::string label;  ///< human-readable, e.g. "perf_fp32 col stride 2 offset 0"
  knob_kind kind = knob_kind::baseline;
  knob_precision precision = knob_precision::fp32;
  // Parameters (only those of the knob's kind are meaningful):
  bool perforate_rows = false;       ///< perforation: rows (true) or columns (false)
  int stride = 0;                    ///< perforation stride x
  int skip = 0;                      ///< filter-sampling rate e
  int offset = 0;                    ///< perforation / sampling offset
  int skip_num = 0;                  ///< reduction sampling: skipped fraction numerator
  int skip_den = 1;                  ///< reduction sampling: skipped fraction denominator
  std::vector<std::string> devices;  ///< "cpu", "gpu"
  std::vector<op_kind> ops;          ///< op kinds the knob applies to
  double nominal_speedup = 1.0;      ///< FLOP heuristic from the reference table, not measured
  /// Set on knobs that can be a baseline (11: 1, 12: 2); the highest among the knobs that exist
  /// on the target device wins (approxtune::knob::unique_baseline), so 12 on gpu, 11 on cpu.
  std::optional<int> baseline_priority;

  /** @brief True if the knob is tagged with @p device. */
  bool exists_on(device_kind device) const;
  /** @brief True if the knob applies to @p op. */
  bool applies_to(op_kind op) const;
  /**
   * @brief Throws knob_mismatch_error (naming the knob, the op kind and the device) unless the
   * knob applies to @p op and exists on @p device.
   */
  void check_applies(op_kind op, device_kind device) const;
  /** @brief The knob as a JSON object (the catalogue schema's entry). */
  nlohmann::json to_json() const;
  /** @brief Parses one entry. @throws catalogue_format_error naming the field */
  static knob_info from_json(const nlohmann::json& j);

  friend bool operator==(const knob_info&, const knob_info&) = default;
};

/**
 * @brief The approximation's word in HPVM configuration lines: "fp32", "fp16", "perf_fp32",
 * "perf_fp16", "samp_fp32", "samp_fp16", "red_samp_fp32", "red_samp_fp16" (e.g. the line
 * `1 gpu conv perf_fp16 151 add fp16 12` pairs each op with this word and the knob name).
 */
std::string hpvm_approx_name(const knob_info& knob);

/**
 * @brief A set of knobs with unique IDs and names.
 *
 * JSON schema (version 1):
 * @code{.json}
 * {"schema": "approxtune.knobs", "version": 1,
 *  "knobs": [{"id": 121, "name": "121", "label": "perf_fp32 col stride 2 offset 0",
 *             "kind": "perforation", "precision": "fp32",
 *             "params": {"direction": "col", "stride": 2, "offset": 0},
 *             "devices": ["cpu", "gpu"], "ops": ["conv"], "speedup": 2.0,
 *             "baseline_priority": null}]}
 * @endcode
 * `params` by kind: baseline `{}`; perforation `{direction: "row"|"col", stride, offset}`;
 * filter_sampling `{skip, offset}`; reduction_sampling `{skip_num, skip_den}`. `name` defaults
 * to the decimal ID, `label` to the name, `baseline_priority` to null.
 */
class knob_catalogue {
 public:
  knob_catalogue() = default;
  /** @brief Builds a catalogue from @p knobs. @throws knob_error on duplicates */
  explicit knob_catalogue(std::vector<knob_info> knobs);

  /** @brief The reference knob set of knobs.md (ApproxTuner/HPVM numbering). */
  static const knob_catalogue& reference();

  /** @brief Adds a knob. @throws knob_error if its ID or name is taken or it is inconsistent */
  void add(knob_info knob);

  /** @brief The knob with @p id, or null. */
  const knob_info* find(int id) const noexcept;
  /** @brief The knob named @p name (e.g. "121"), or null. */
  const knob_info* find(std::string_view name) const noexcept;
  /** @brief The knob with @p id. @throws unknown_knob_error naming the ID */
  const knob_info& at(int id) const;
  /** @brief The knob named @p name. @throws unknown_knob_error naming the name */
  const knob_info& at(std::string_view name) const;

  /** @brief All knobs, in insertion order. */
  std::span<const knob_info> knobs() const noexcept { return knobs_; }
  std::size_t size() const noexcept { return knobs_.size(); }

  /** @brief The knobs that apply to @p op on @p device, in catalogue order. */
  std::vector<const knob_info*> knobs_for(op_kind op, device_kind device) const;
  /**
   * @brief The baseline of @p device: the knob with the highest baseline priority among those
   * on the device (11 on cpu, 12 on gpu for the reference set). @throws knob_error if none
   */
  const knob_info& baseline_for(device_kind device) const;

  /** @brief The catalogue as a JSON document (schema above). */
  nlohmann::json to_json() const;
  /** @brief Parses a JSON document. @throws catalogue_format_error, knob_error */
  static knob_catalogue from_json(const nlohmann::json& j);
  /** @brief Writes the JSON document to @p path. @throws catalogue_format_error on I/O errors */
  void save(const std::filesystem::path& path) const;
  /** @brief Reads a JSON document from @p path. @throws catalogue_format_error */
  static knob_catalogue load(const std::filesystem::path& path);

 private:
  std::vector<knob_info> knobs_;
  std::unordered_map<int, std::size_t> by_id_;
  std::unordered_map<std::string, std::size_t> by_name_;
};

}  // namespace approxtune::knobs
