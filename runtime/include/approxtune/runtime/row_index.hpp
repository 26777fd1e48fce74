/**
 * @file
 * @brief A flat hash index of row numbers, for tables whose rows live in the caller's arrays.
 *
 * A long tuning run keeps millions of configurations in three places (the tuner's results
 * buffer, the store's cache, a strategy's never-repeat set). Each already stores its codes
 * flat, row after row; a node-based std::unordered_(multi)map from hash to row adds ~40-50
 * bytes a row, and one keyed by the code itself ~150. This index costs 6-9 bytes a row (a 4-byte
 * row number per slot, load factor 4/9 to 2/3: the table grows by 1.5x, not 2x, and maps a hash
 * to a slot by multiplication, so its size need not be a power of two) and never copies a key:
 * the caller gives the hash and says whether a row matches. Neither the standard library nor oneTBB has such an index
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
    if ((count_ + 1) * 3 > slots_.size() * 2) grow(hash_of);
    slots_[probe(hash, matches)] = static_cast<std::uint32_t>(row + 1);
    ++count_;
    return row;
  }

  std::size_t size() const noexcept { return count_; }

 private:
  // Home slot of @p hash: its high bits scaled to the table size (Lemire's "fastrange").
  std::size_t home(std::uint64_t hash) const noexcept {
    __extension__ using u128 = unsigned __int128;  // GCC and Clang; not ISO C++
    return static_cast<std::size_t>((static_cast<u128>(hash) * slots_.size()) >> 64);
  }
  std::size_t next(std::size_t i) const noexcept { return i + 1 == slots_.size() ? 0 : i + 1; }

  template <class Matches>
  std::size_t probe(std::uint64_t hash, Matches& matches) const {
    for (std::size_t i = home(hash);; i = next(i)) {
      const std::uint32_t v = slots_[i];
      if (v == 0 || matches(static_cast<std::size_t>(v - 1))) return i;
    }
  }

  template <class HashOf>
  void grow(HashOf& hash_of) {
    std::vector<std::uint32_t> old(std::max<std::size_t>(64, slots_.size() + slots_.size() / 2), 0);
    old.swap(slots_);
    for (const std::uint32_t v : old) {
      if (v == 0) continue;
      std::size_t i = home(hash_of(static_cast<std::size_t>(v - 1)));
      while (slots_[i] != 0) i = next(i);
      slots_[i] = v;
    }
  }

  std::vector<std::uint32_t> slots_;
  std::size_t count_ = 0;
};

}  // namespace approxtune
