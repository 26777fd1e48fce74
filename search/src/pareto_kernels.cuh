// Private: the Thrust part of Pareto selection, shared by the oneTBB build (pareto.cpp, g++) and
// the CUDA build (pareto_cuda.cu, nvcc) so both run the same algorithm and the same arithmetic.
//
// Everything sits in an unnamed namespace on purpose: the two translation units see different
// Thrust device systems, and internal linkage keeps their instantiations from meeting at link
// time (an ODR violation otherwise).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include <thrust/copy.h>
#include <thrust/device_vector.h>
#include <thrust/execution_policy.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/iterator/transform_iterator.h>
#include <thrust/scan.h>
#include <thrust/sort.h>
#include <thrust/transform.h>

#ifndef APPROXTUNE_HD
#if defined(__CUDACC__)
#define APPROXTUNE_HD __host__ __device__
#else
#define APPROXTUNE_HD
#endif
#endif

namespace approxtune::search::detail {
namespace {

struct valid_index {
  const double* q;
  const double* s;
  APPROXTUNE_HD bool operator()(std::uint32_t i) const { return q[i] == q[i] && s[i] == s[i]; }
};

// Maps a (non-NaN) double to a 64-bit key whose ascending order is the double's descending
// order, so the radix sorts behind stable_sort_by_key apply. + 0.0 turns -0.0 into +0.0 so equal
// values get equal keys.
struct descending_key {
  const double* v;
  APPROXTUNE_HD std::uint64_t operator()(std::uint32_t i) const {
    const double x = v[i] + 0.0;
    std::uint64_t bits;
    std::memcpy(&bits, &x, sizeof bits);
    bits = (bits >> 63) != 0 ? ~bits : (bits | (std::uint64_t{1} << 63));
    return ~bits;
  }
};

struct value_at {
  const double* v;
  APPROXTUNE_HD double operator()(std::uint32_t i) const { return v[i]; }
};

struct max_of {
  APPROXTUNE_HD double operator()(double a, double b) const { return a < b ? b : a; }
};

// In front order, a point is on the front iff it is first or its speedup beats every speedup
// before it: anything before it has qos >= its qos, so a speedup >= its own would dominate it
// (or be an identical copy with a lower index).
struct on_front {
  const double* s;
  const std::uint32_t* order;
  const double* best_before;
  APPROXTUNE_HD bool operator()(std::uint32_t pos) const {
    return pos == 0 || s[order[pos]] > best_before[pos];
  }
};

/**
 * Indices of the non-NaN points of (q, s) in front order: (qos desc, speedup desc, index asc),
 * so every point that can dominate a point, or is an identical copy with a lower index, comes
 * before it. Two stable passes, least significant key first (the initial order supplies the
 * index tie-break); on 64-bit keys with the default order both systems sort by radix, several
 * times cheaper than a comparison sort of packed records. q and s must live on the policy's
 * system.
 */
template <class Policy>
thrust::device_vector<std::uint32_t> front_order(Policy policy, const double* q, const double* s,
                                                 std::size_t n) {
  thrust::device_vector<std::uint32_t> order(n);
  auto last =
      thrust::copy_if(policy, thrust::counting_iterator<std::uint32_t>(0),
                      thrust::counting_iterator<std::uint32_t>(static_cast<std::uint32_t>(n)),
                      order.begin(), valid_index{q, s});
  order.resize(static_cast<std::size_t>(last - order.begin()));
  thrust::device_vector<std::uint64_t> keys(order.size());
  thrust::transform(policy, order.begin(), order.end(), keys.begin(), descending_key{s});
  thrust::stable_sort_by_key(policy, keys.begin(), keys.end(), order.begin());
  thrust::transform(policy, order.begin(), order.end(), keys.begin(), descending_key{q});
  thrust::stable_sort_by_key(policy, keys.begin(), keys.end(), order.begin());
  return order;
}

/// Front of points in front order, as input indices in decreasing qos order.
template <class Policy>
thrust::device_vector<std::uint32_t> front_of_sorted(
    Policy policy, const thrust::device_vector<std::uint32_t>& order, const double* s) {
  const std::size_t m = order.size();
  thrust::device_vector<std::uint32_t> out(m);
  if (m == 0) return out;
  thrust::device_vector<double> best_before(m);
  auto speedups = thrust::make_transform_iterator(order.begin(), value_at{s});
  thrust::exclusive_scan(policy, speedups, speedups + m, best_before.begin(),
                         -std::numeric_limits<double>::infinity(), max_of{});
  auto last = thrust::copy_if(policy, order.begin(), order.end(),
                              thrust::counting_iterator<std::uint32_t>(0), out.begin(),
                              on_front{s, thrust::raw_pointer_cast(order.data()),
                                       thrust::raw_pointer_cast(best_before.data())});
  out.resize(static_cast<std::size_t>(last - out.begin()));
  return out;
}

/// Copies a front in decreasing qos order to the host, reversed to increasing qos.
inline std::vector<std::size_t> to_increasing_qos(
    const thrust::device_vector<std::uint32_t>& front) {
  if (front.empty()) return {};  // Thrust's trivial-copy path would dereference begin()
  std::vector<std::uint32_t> host(front.size());
  thrust::copy(front.begin(), front.end(), host.begin());
  return std::vector<std::size_t>(host.rbegin(), host.rend());
}

}  // namespace
}  // namespace approxtune::search::detail
