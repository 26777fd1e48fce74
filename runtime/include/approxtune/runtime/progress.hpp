/**
 * @file progress.hpp
 * @brief Progress on stderr: a bar with rate and ETA on a terminal, plain periodic lines otherwise.
 */
#pragma once

#include <chrono>
#include <cstddef>

namespace approxtune {

/**
 * @brief Reports tuning progress. On a TTY it redraws one line (bar, count, rate, ETA, best
 * speedup); when stderr is not a TTY it prints a plain line at most every 10 s and at 25/50/75%.
 * Hand-written: Debian has no C++ progress-bar package.
 */
class progress_reporter {
 public:
  /** @param enabled false = print nothing */
  progress_reporter(std::size_t total, bool enabled);
  ~progress_reporter();
  /** @brief Sets the count of finished units and the best speedup so far. */
  void update(std::size_t done, double best_speedup);
  /** @brief Ends the line (TTY). Idempotent. */
  void finish();

 private:
  std::size_t total_;
  bool enabled_, tty_, finished_ = false;
  std::size_t last_done_ = 0;
  int last_quarter_ = 0;
  std::chrono::steady_clock::time_point start_, last_print_;
};

}  // namespace approxtune
