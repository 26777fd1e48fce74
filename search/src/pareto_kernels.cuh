// Private: the Thrust part of Pareto selection, shared by the oneTBB build (pareto.cpp, g++) and
// the CUDA build (pareto_cuda.cu, nvcc) so both run the same algorithm and the same arithmetic.
//
// Everything sits in an unnamed namespace on purpose: the two translation units see different
// Thrust device systems, and internal linkage keeps their instantiations from meeting at link
// time (an ODR violation otherwise).
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include <thrust/copy.h>
#include <thrust/device_vector.h>
#include <thrust/execution_policy.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/iterator/transform_iterator.h>
#include <thrust/scan.h>
#include <thrust/sort.h>

#ifndef APPROXTUNE_HD
#if defined(__CUDACC__)
#define APPROXTUNE_HD __host__ __device__
#else
#define APPROXTUNE_HD
#endif
#endif

namespace approxtune::search::detail {
namespace {

// Packed so one sort moves everything it needs; 32-bit indices keep it at 24 bytes.
struct pareto_point {
  double q;
  double s;
  std::uint32_t i;
};

struct gather_point {
  const double* q;
  const double* s;
  // + 0.0 turns -0.0 into +0.0 so equal values never differ by sign in later comparisons.
  APPROXTUNE_HD pareto_point operator()(std::uint32_t i) const {
    return pareto_point{q[i] + 0.0, s[i] + 0.0, i};
  }
};

struct point_is_valid {
  APPROXTUNE_HD bool operator()(const pareto_point& p) const { return p.q == p.q && p.s == p.s; }
};

// (qos desc, speedup desc, index asc): every point that can dominate a point, or is an identical
// copy with a lower index, comes before it.
struct front_order {
  APPROXTUNE_HD bool operator()(const pareto_point& a, const pareto_point& b) const {
    if (a.q != b.q) return a.q > b.q;
    if (a.s != b.s) return a.s > b.s;
    return a.i < b.i;
  }
};

struct point_speedup {
  APPROXTUNE_HD double operator()(const pareto_point& p) const { return p.s; }
};

struct max_of {
  APPROXTUNE_HD double operator()(double a, double b) const { return a < b ? b : a; }
};

// In front order, a point is on the front iff it is first or its speedup beats every speedup
// before it: anything before it has qos >= its qos, so a speedup >= its own would dominate it
// (or be an identical copy with a lower index).
struct on_front {
  const pareto_point* pts;
  const double* best_before;
  APPROXTUNE_HD bool operator()(std::uint32_t pos) const {
    return pos == 0 || pts[pos].s > best_before[pos];
  }
};

struct index_at {
  const pareto_point* pts;
  APPROXTUNE_HD std::uint32_t operator()(std::uint32_t pos) const { return pts[pos].i; }
};

/// The non-NaN points of (q, s), sorted in front order. q and s must live on the policy's system.
template <class Policy>
thrust::device_vector<pareto_point> sorted_valid_points(Policy policy, const double* q,
                                                        const double* s, std::size_t n) {
  thrust::device_vector<pareto_point> pts(n);
  auto first = thrust::make_transform_iterator(thrust::counting_iterator<std::uint32_t>(0),
                                               gather_point{q, s});
  auto last = thrust::copy_if(policy, first, first + n, pts.begin(), point_is_valid{});
  pts.resize(static_cast<std::size_t>(last - pts.begin()));
  thrust::sort(policy, pts.begin(), pts.end(), front_order{});
  return pts;
}

/// Front of points already in front order, as input indices in decreasing qos order.
template <class Policy>
thrust::device_vector<std::uint32_t> front_of_sorted(
    Policy policy, const thrust::device_vector<pareto_point>& pts) {
  const std::size_t m = pts.size();
  thrust::device_vector<std::uint32_t> out(m);
  if (m == 0) return out;
  thrust::device_vector<double> best_before(m);
  auto speedups = thrust::make_transform_iterator(pts.begin(), point_speedup{});
  thrust::exclusive_scan(policy, speedups, speedups + m, best_before.begin(),
                         -std::numeric_limits<double>::infinity(), max_of{});
  const pareto_point* raw_pts = thrust::raw_pointer_cast(pts.data());
  auto positions = thrust::counting_iterator<std::uint32_t>(0);
  auto indices = thrust::make_transform_iterator(positions, index_at{raw_pts});
  auto last = thrust::copy_if(policy, indices, indices + m, positions, out.begin(),
                              on_front{raw_pts, thrust::raw_pointer_cast(best_before.data())});
  out.resize(static_cast<std::size_t>(last - out.begin()));
  return out;
}

/// Copies a front in decreasing qos order to the host, reversed to increasing qos.
inline std::vector<std::size_t> to_increasing_qos(
    const thrust::device_vector<std::uint32_t>& front) {
  std::vector<std::uint32_t> host(front.size());
  thrust::copy(front.begin(), front.end(), host.begin());
  return std::vector<std::size_t>(host.rbegin(), host.rend());
}

}  // namespace
}  // namespace approxtune::search::detail
