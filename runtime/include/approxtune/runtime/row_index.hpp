/**
 * @file
 * @brief A flat hash index of row numbers, for tables whose rows live in the caller's arrays.
 *
 * A long tuning run keeps millions of configurations in three places (the tuner's results
 * buffer, the store's cache, a strategy's never-repeat set). Each already stores its codes
 * flat, row after row; a node-based std::unordered_(multi)map from hash to row adds ~40-50
 * bytes a row, and one keyed by the code itself ~150. This index costs 8 bytes a row (a 4-byte
 * row number per slot at load factor <= 1/2) and never copies a key: the caller gives the hash
 * and says whether a row matches. Neither the standard library nor oneTBB has such an index
 * (their sets and maps own their keys), hence this class.
 */
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "approxtune/runtime/error.hpp"

namespace approxtune {

class row_index {
 public:
  /// Largest number of rows (row numbers are stored + 1 in 32 bits; 0 marks an empty slot).
  static constexpr std::size_t max_rows = std::numeric_limits<std::uint32_t>::max() - 1;

  /// The first row inserted with @p hash for which `matches(row)` is true.
  template <class Matches>
  std::optional<std::size_t> find(std::uint64_t hash, Matches&& matches) const {
    if (slots_.empty()) return std::nullopt;
    const std::uint32_t v = slots_[probe(hash, matches)];
    if (v == 0) return std::nullopt;
    return static_cast<std::size_t>(v - 1);
  }

  /**
   * Adds @p row under @p hash unless a row that `matches` is already indexed (then returns that
   * row and adds nothing). `hash_of(r)` gives the hash of an indexed row when the table grows.
   */
  template <class Matches, class HashOf>
  std::size_t insert(std::uint64_t hash, std::size_t row, Matches&& matches, HashOf&& hash_of) {
    if (const auto found = find(hash, matches)) return *found;
    if (count_ >= max_rows || row >= max_rows)
      throw error("row_index: more than " + std::to_string(max_rows) + " rows");
    if ((count_ + 1) * 2 > slots_.size()) grow(hash_of);
    slots_[probe(hash, matches)] = static_cast<std::uint32_t>(row + 1);
    ++count_;
    return row;
  }

  std::size_t size() const noexcept { return count_; }

 private:
  template <class Matches>
  std::size_t probe(std::uint64_t hash, Matches& matches) const {
    const std::size_t mask = slots_.size() - 1;  // the size is a power of two
    for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
      const std::uint32_t v = slots_[i];
      if (v == 0 || matches(static_cast<std::size_t>(v - 1))) return i;
    }
  }

  template <class HashOf>
  void grow(HashOf& hash_of) {
    std::vector<std::uint32_t> old(std::max<std::size_t>(64, slots_.size() * 2), 0);
    old.swap(slots_);
    const std::size_t mask = slots_.size() - 1;
    for (const std::uint32_t v : old) {
      if (v == 0) continue;
      std::size_t i = hash_of(static_cast<std::size_t>(v - 1)) & mask;
      while (slots_[i] != 0) i = (i + 1) & mask;
      slots_[i] = v;
    }
  }

  std::vector<std::uint32_t> slots_;
  std::size_t count_ = 0;
};

}  // namespace approxtune
