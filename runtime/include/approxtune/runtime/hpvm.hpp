/**
 * @file hpvm.hpp
 * @brief Reads HPVM configuration files (configs.txt) back into structured configurations.
 *
 * The format (written by approxtune::hpvm_configs, and by ApproxTuner for HPVM):
 * @code
 * <target time>
 * +++++
 * conf1 <speedup> <energy> <qos> <qos loss>
 * 1 cpu conv fp32 11 add fp32 11 relu fp32 11 pool_max fp32 11
 * 2 cpu mul fp32 11 add fp32 11
 * -----
 * +++++
 * conf2 1.17 0 91.5 -0.1
 * ...
 * -----
 * @endcode
 * A node line is `<index> <device>` followed by one `<op kind> <approximation> <knob>` triple
 * per fused op (HPVM's form, e.g. `conv perf_fp16 151`), or by one `<op> <knob>` pair (the form
 * approxtune's generic apps write, e.g. `1 cpu op0 __baseline__`). Node indices count from 1
 * within each configuration. Empty lines between blocks are ignored; a trailing '\r' (CRLF
 * files) is stripped.
 */
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace approxtune {

/** @brief One op of a node line: `conv perf_fp16 151`, or `op0 __baseline__` (no approximation word). */
struct hpvm_op {
  std::string op;      ///< op kind ("conv", "mul", "add", ...) or op name (generic apps)
  std::string approx;  ///< approximation word ("fp32", "perf_fp16", ...); empty in the pair form
  std::string knob;    ///< knob name: the decimal knob ID in HPVM files ("151")

  /** @brief The knob as an HPVM knob ID when it is a decimal integer, else nullopt. */
  std::optional<int> knob_id() const noexcept;

  friend bool operator==(const hpvm_op&, const hpvm_op&) = default;
};

/** @brief One node line: its 1-based index, device tag and fused ops. */
struct hpvm_node {
  std::size_t index = 0;
  std::string device;  ///< "cpu", "gpu", ...
  std::vector<hpvm_op> ops;

  friend bool operator==(const hpvm_node&, const hpvm_node&) = default;
};

/** @brief One `+++++` ... `-----` block. */
struct hpvm_config {
  std::string name;  ///< "conf1", ...
  double speedup = 1.0;
  double energy = 0.0;
  double qos = 0.0;
  double qos_loss = 0.0;
  std::vector<hpvm_node> nodes;
};

/** @brief A whole configuration file: the target time (first line) and the configurations. */
struct hpvm_file {
  double target_time = 0.0;
  std::vector<hpvm_config> configs;
};

/**
 * @brief Parses the text of an HPVM configuration file.
 * @param source name used in error messages (usually the file name)
 * @throws config_error "<source>:<line>: <what is wrong>" for malformed text: a missing or
 * non-numeric target time or header field, a non-finite number, a block that is not closed, a
 * node line whose index is not the next one or whose ops are not triples or a pair, text
 * outside a block, a duplicate configuration name
 */
hpvm_file parse_hpvm_configs(std::string_view text, const std::string& source = "<hpvm text>");

/**
 * @brief Reads and parses an HPVM configuration file.
 * @throws config_error when the file cannot be read or is malformed (see parse_hpvm_configs)
 */
hpvm_file read_hpvm_configs(const std::filesystem::path& file);

}  // namespace approxtune
