#include "approxtune/runtime/progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>

namespace approxtune {

progress_reporter::progress_reporter(std::size_t total, bool enabled)
    : total_(std::max<std::size_t>(total, 1)),
      enabled_(enabled),
      tty_(enabled && ::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_print_(start_) {}

progress_reporter::~progress_reporter() { finish(); }

void progress_reporter::update(std::size_t done, double best_speedup) {
  if (!enabled_ || finished_) return;
  last_done_ = done;
  const auto now = std::chrono::steady_clock::now();
  const double secs = std::chrono::duration<double>(now - start_).count();
  const double rate = secs > 0.0 ? static_cast<double>(done) / secs : 0.0;
  const double eta = rate > 0.0 ? static_cast<double>(total_ - std::min(done, total_)) / rate : 0.0;
  const double frac = std::min(1.0, static_cast<double>(done) / static_cast<double>(total_));
  if (tty_) {
    if (now - last_print_ < std::chrono::milliseconds(100) && done < total_) return;
    constexpr int width = 30;
    const int fill = static_cast<int>(frac * width);
    std::string bar(static_cast<std::size_t>(fill), '=');
    if (fill < width) bar += '>';
    bar.resize(width, ' ');
    std::fprintf(stderr, "\r[%s] %zu/%zu %.1f/s ETA %02d:%02d best %.2fx ", bar.c_str(), done,
                 total_, rate, static_cast<int>(eta) / 60, static_cast<int>(eta) % 60, best_speedup);
    std::fflush(stderr);
    last_print_ = now;
    return;
  }
  const int quarter = static_cast<int>(frac * 4.0);
  if (quarter > last_quarter_ || now - last_print_ >= std::chrono::seconds(10)) {
    std::fprintf(stderr, "progress: %zu/%zu evaluations (%.0f%%), %.1f/s, ETA %.0f s, best %.2fx\n",
                 done, total_, frac * 100.0, rate, eta, best_speedup);
    last_quarter_ = std::max(last_quarter_, quarter);
    last_print_ = now;
  }
}

void progress_reporter::finish() {
  if (!enabled_ || finished_) return;
  finished_ = true;
  if (tty_) std::fputc('\n', stderr);
}

}  // namespace approxtune
