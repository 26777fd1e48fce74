// Pareto selection on the host: Thrust on the oneTBB device system (device memory is host memory
// there, so raw pointers to the caller's arrays go straight into the algorithms).
#include "approxtune/search/pareto.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <exception>
#include <limits>
#include <queue>
#include <string>
#include <tuple>

#include "approxtune/runtime/error.hpp"
#include "pareto_kernels.cuh"

#if defined(APPROXTUNE_WITH_CUDA)
#include "pareto_cuda.hpp"
#endif

namespace approxtune::search {
namespace {

void check_inputs(std::span<const double> qos, std::span<const double> speedup, const char* where) {
  if (qos.size() != speedup.size()) {
    throw config_error(std::string(where) + ": qos has " + std::to_string(qos.size()) +
                       " points but speedup has " + std::to_string(speedup.size()));
  }
  if (qos.size() >= std::numeric_limits<std::uint32_t>::max()) {
    throw config_error(std::string(where) + ": " + std::to_string(qos.size()) +
                       " points; at most 2^32 - 2 are supported");
  }
}

thrust::device_vector<std::uint32_t> front_order(std::span<const double> qos,
                                                 std::span<const double> speedup) {
  return detail::front_order(thrust::device, qos.data(), speedup.data(), qos.size());
}

// Rank of each sorted point by the tails sweep. In front order, the points that can keep p out
// of a rank are exactly the earlier ones with speedup >= p's; tails[k] (the best speedup met in
// rank k so far) is non-increasing in k, so p's rank is the first k with tails[k] < p.s.
std::vector<std::size_t> sweep_ranks(const std::uint32_t* order, std::size_t m,
                                     std::span<const double> speedup, std::vector<double>& tails) {
  std::vector<std::size_t> ranks(m);
  tails.clear();
  for (std::size_t pos = 0; pos < m; ++pos) {
    const double s = speedup[order[pos]];
    const auto it =
        std::partition_point(tails.begin(), tails.end(), [s](double tail) { return tail >= s; });
    const auto k = static_cast<std::size_t>(it - tails.begin());
    if (it == tails.end()) {
      tails.push_back(s);
    } else {
      *it = s;
    }
    ranks[pos] = k;
  }
  return ranks;
}

// x -> (x - lo) / range, or x - lo when the range is zero or not finite.
struct axis_scale {
  double lo = 0.0;
  double range = 1.0;
  double operator()(double v) const { return (v - lo) / range; }
};

axis_scale make_scale(double lo, double hi) {
  const double range = hi - lo;
  return {lo, (range > 0.0 && std::isfinite(range)) ? range : 1.0};
}

double squared_distance(double x0, double y0, double x1, double y1) {
  const double dx = x1 - x0;
  const double dy = y1 - y0;
  return dx * dx + dy * dy;
}

// n points spread along a front given in increasing-x (decreasing-y) order. On such a monotone
// chain the nearest taken point of any point is one of its two taken neighbours along the chain,
// so the greedy max-min choice works gap by gap with a priority queue.
std::vector<std::size_t> spread_along_front(const std::vector<double>& x,
                                            const std::vector<double>& y, std::size_t n) {
  const std::size_t f = x.size();
  std::vector<std::size_t> taken;
  if (n == 0 || f == 0) return taken;
  taken.push_back(0);  // increasing qos order: the highest speedup comes first
  if (n >= 2 && f >= 2) taken.push_back(f - 1);

  struct gap {
    double value;  // best candidate's squared distance to its nearer end
    std::size_t candidate, lo, hi;
  };
  // Larger value first; equal values: lower candidate position first.
  auto worse = [](const gap& a, const gap& b) {
    return a.value < b.value || (a.value == b.value && a.candidate > b.candidate);
  };
  std::priority_queue<gap, std::vector<gap>, decltype(worse)> gaps(worse);
  auto push_gap = [&](std::size_t lo, std::size_t hi) {
    if (hi - lo < 2) return;
    gap best{-1.0, 0, lo, hi};
    for (std::size_t c = lo + 1; c < hi; ++c) {
      const double d = std::min(squared_distance(x[lo], y[lo], x[c], y[c]),
                                squared_distance(x[hi], y[hi], x[c], y[c]));
      if (d > best.value) best = gap{d, c, lo, hi};
    }
    gaps.push(best);
  };
  if (taken.size() == 2) push_gap(0, f - 1);
  while (taken.size() < n && !gaps.empty()) {
    const gap g = gaps.top();
    gaps.pop();
    taken.push_back(g.candidate);
    push_gap(g.lo, g.candidate);
    push_gap(g.candidate, g.hi);
  }
  std::sort(taken.begin(), taken.end());
  return taken;
}

}  // namespace

bool pareto_backend_available(pareto_backend backend) noexcept {
  switch (backend) {
    case pareto_backend::host:
      return true;
    case pareto_backend::cuda:
#if defined(APPROXTUNE_WITH_CUDA)
      return detail::pareto_cuda_device_count() > 0;
#else
      return false;
#endif
  }
  return false;
}

std::vector<std::size_t> pareto_front(std::span<const double> qos, std::span<const double> speedup,
                                      pareto_backend backend) {
  check_inputs(qos, speedup, "pareto_front");
  if (backend == pareto_backend::cuda) {
    if (!pareto_backend_available(backend)) {
      throw config_error(
          "pareto_front: the cuda backend is not available (CPU-only build or no CUDA device); "
          "use pareto_backend::host");
    }
#if defined(APPROXTUNE_WITH_CUDA)
    try {
      return detail::pareto_front_cuda(qos.data(), speedup.data(), qos.size());
    } catch (const std::exception& e) {
      throw cuda_error(std::string("pareto_front on CUDA: ") + e.what());
    }
#endif
  }
  if (qos.empty()) return {};
  const auto order = front_order(qos, speedup);
  return detail::to_increasing_qos(detail::front_of_sorted(thrust::device, order, speedup.data()));
}

std::vector<std::size_t> nondominated_ranks(std::span<const double> qos,
                                            std::span<const double> speedup) {
  check_inputs(qos, speedup, "nondominated_ranks");
  std::vector<std::size_t> ranks(qos.size(), unranked);
  if (qos.empty()) return ranks;
  const auto order = front_order(qos, speedup);
  const std::uint32_t* raw = thrust::raw_pointer_cast(order.data());
  std::vector<double> tails;
  const auto sorted_ranks = sweep_ranks(raw, order.size(), speedup, tails);
  for (std::size_t pos = 0; pos < order.size(); ++pos) ranks[raw[pos]] = sorted_ranks[pos];
  return ranks;
}

std::vector<std::size_t> take_best_n(std::span<const double> qos, std::span<const double> speedup,
                                     std::size_t n) {
  check_inputs(qos, speedup, "take_best_n");
  if (qos.empty() || n == 0) return {};
  const auto order = front_order(qos, speedup);
  // Device memory is host memory on the oneTBB system: read the order in place.
  const std::uint32_t* raw = thrust::raw_pointer_cast(order.data());
  const std::size_t m = order.size();
  auto q_at = [&](std::size_t pos) { return qos[raw[pos]]; };
  auto s_at = [&](std::size_t pos) { return speedup[raw[pos]]; };
  std::vector<double> tails;
  const auto ranks = sweep_ranks(raw, m, speedup, tails);

  // The front, in increasing qos order (rank 0 in front order is decreasing qos).
  std::vector<std::size_t> front_pos;
  for (std::size_t pos = m; pos-- > 0;) {
    if (ranks[pos] == 0) front_pos.push_back(pos);
  }
  const std::size_t f = front_pos.size();

  if (n < f) {
    const double q_lo = q_at(front_pos.front()), q_hi = q_at(front_pos.back());
    const double s_lo = s_at(front_pos.back()), s_hi = s_at(front_pos.front());
    const auto sx = make_scale(q_lo, q_hi), sy = make_scale(s_lo, s_hi);
    std::vector<double> x(f), y(f);
    for (std::size_t k = 0; k < f; ++k) {
      x[k] = sx(q_at(front_pos[k]));
      y[k] = sy(s_at(front_pos[k]));
    }
    std::vector<std::size_t> out;
    out.reserve(n);
    for (std::size_t k : spread_along_front(x, y, n)) out.push_back(raw[front_pos[k]]);
    return out;
  }

  std::vector<std::size_t> out;
  out.reserve(std::min(n, m));
  for (std::size_t pos : front_pos) out.push_back(raw[pos]);
  if (n == f || m == f) return out;  // n == f: the spread would take every point anyway

  // Only ranks up to the one where the quota runs out can be taken.
  const std::size_t quota = std::min(n, m) - f;
  std::vector<std::size_t> per_rank(tails.size(), 0);
  for (std::size_t r : ranks) ++per_rank[r];
  std::size_t last_rank = 1, count = 0;
  for (; last_rank < per_rank.size(); ++last_rank) {
    count += per_rank[last_rank];
    if (count >= quota) break;
  }

  double q_lo = q_at(m - 1), q_hi = q_at(0);  // front order: qos is non-increasing
  double s_lo = std::numeric_limits<double>::infinity(), s_hi = -s_lo;
  for (std::size_t pos = 0; pos < m; ++pos) {
    s_lo = std::min(s_lo, s_at(pos));
    s_hi = std::max(s_hi, s_at(pos));
  }
  const auto sx = make_scale(q_lo, q_hi), sy = make_scale(s_lo, s_hi);
  std::vector<double> fx(f), fy(f);
  for (std::size_t k = 0; k < f; ++k) {
    fx[k] = sx(q_at(front_pos[k]));
    fy[k] = sy(s_at(front_pos[k]));
  }
  // Nearest front point: start where the front's x reaches the point's x and walk outwards;
  // along the x-sorted front, once dx^2 alone reaches the best distance nothing further wins.
  auto distance_to_front = [&](double px, double py) {
    const auto start =
        static_cast<std::size_t>(std::lower_bound(fx.begin(), fx.end(), px) - fx.begin());
    double best = std::numeric_limits<double>::infinity();
    for (std::size_t k = start; k < f; ++k) {
      const double dx = fx[k] - px;
      if (dx * dx >= best) break;
      best = std::min(best, squared_distance(px, py, fx[k], fy[k]));
    }
    for (std::size_t k = start; k-- > 0;) {
      const double dx = fx[k] - px;
      if (dx * dx >= best) break;
      best = std::min(best, squared_distance(px, py, fx[k], fy[k]));
    }
    return std::isnan(best) ? std::numeric_limits<double>::infinity() : best;
  };

  struct candidate {
    std::size_t rank;
    double distance;
    std::size_t index;
  };
  std::vector<candidate> candidates;
  candidates.reserve(count);
  for (std::size_t pos = 0; pos < m; ++pos) {
    if (ranks[pos] == 0 || ranks[pos] > last_rank) continue;
    candidates.push_back({ranks[pos], distance_to_front(sx(q_at(pos)), sy(s_at(pos))), raw[pos]});
  }
  auto by_rank_distance = [](const candidate& a, const candidate& b) {
    return std::tie(a.rank, a.distance, a.index) < std::tie(b.rank, b.distance, b.index);
  };
  const std::size_t take = std::min(quota, candidates.size());
  std::partial_sort(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(take),
                    candidates.end(), by_rank_distance);
  for (std::size_t k = 0; k < take; ++k) out.push_back(candidates[k].index);
  return out;
}

}  // namespace approxtune::search
