/**
 * @file workspace.hpp
 * @brief Reusable scratch memory for the CPU ops (im2col buffers, index maps, sampled weights).
 */
#pragma once

#include <cstddef>
#include <vector>

namespace approxtune::kernels {

/**
 * @brief Scratch memory that grows to the largest request and is then reused, so that batched
 * inference does no allocation per op call once every layer has run once.
 *
 * Not thread-safe: use one workspace per thread that calls ops (e.g. one per evaluator slot).
 * An op may run TBB tasks internally; it partitions the workspace among them itself.
 */
class workspace {
 public:
  workspace() = default;

  /**
   * @brief At least @p n floats of scratch; contents unspecified. Invalidates earlier pointers
   * from `floats()` when it has to grow.
   */
  float* floats(std::size_t n) {
    if (n > floats_.size()) {
      floats_.resize(n);
      ++growths_;
    }
    return floats_.data();
  }
  /** @brief At least @p n ints of scratch, independent of `floats()`. */
  int* ints(std::size_t n) {
    if (n > ints_.size()) {
      ints_.resize(n);
      ++growths_;
    }
    return ints_.data();
  }
  /** @brief Bytes currently held. */
  std::size_t capacity_bytes() const noexcept {
    return floats_.size() * sizeof(float) + ints_.size() * sizeof(int);
  }
  /** @brief How many times the workspace had to allocate (a test hook for "no hot-path
   * allocation"). */
  std::size_t growths() const noexcept { return growths_; }

 private:
  std::vector<float> floats_;
  std::vector<int> ints_;
  std::size_t growths_ = 0;
};

}  // namespace approxtune::kernels
