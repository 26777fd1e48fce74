/**
 * @file pareto.hpp
 * @brief Pareto selection over (QoS up, speedup up) point sets: the front, non-dominated ranks
 * and ApproxTuner's take_best_n, in O(n log n) through Thrust over whole arrays.
 *
 * Conventions shared by every function here:
 * - point i is (qos[i], speedup[i]); both objectives are higher-better;
 * - a point with a NaN coordinate is never selected and has no rank (`unranked`);
 * - a dominates b when a >= b on both axes and a > b on at least one;
 * - of identical points (same qos and same speedup; -0.0 == 0.0) only the lowest index is on the
 *   front; its copies are peeled into the next rank, so rank 0 is exactly `pareto_front`.
 */
#pragma once

#include <cstddef>
#include <limits>
#include <span>
#include <vector>

namespace approxtune::search {

/** @brief Rank given to points with a NaN coordinate by `nondominated_ranks`. */
inline constexpr std::size_t unranked = std::numeric_limits<std::size_t>::max();

/** @brief Where Pareto selection runs. */
enum class pareto_backend {
  host,  ///< Thrust on the oneTBB device system (all cores of this process)
  cuda,  ///< Thrust on CUDA device 0 (only in CUDA builds with a device)
};

/**
 * @brief True when @p backend can run here: always for `host`; for `cuda` only when the
 * library was built with CUDA and a CUDA device is visible.
 */
bool pareto_backend_available(pareto_backend backend) noexcept;

/**
 * @brief Indices of the non-dominated points (the Pareto front), duplicates removed.
 *
 * O(n log n): the points are sorted by (qos desc, speedup desc, index asc) and a point is on the
 * front when its speedup beats the running maximum of the points before it (an exclusive max
 * scan, then a copy_if).
 * @param qos QoS of each point (higher-better)
 * @param speedup speedup of each point (higher-better); same length as @p qos
 * @param backend where to run; `cuda` copies both arrays to the device and the result back
 * @return indices in increasing qos order (so decreasing speedup); empty for empty input
 * @throws config_error when the lengths differ, when n >= 2^32, or when @p backend is not
 * available; cuda_error when a CUDA call fails
 */
std::vector<std::size_t> pareto_front(std::span<const double> qos, std::span<const double> speedup,
                                      pareto_backend backend = pareto_backend::host);

/**
 * @brief Non-dominated rank of every point: 0 for the front, 1 for the front of the rest, ...
 *
 * O(n log n) in 2-D: one sort by (qos desc, speedup desc, index asc), then a sweep that keeps
 * each rank's best speedup so far (non-increasing in the rank) and binary-searches it.
 * @return one rank per input point; `unranked` for points with a NaN coordinate
 * @throws config_error when the lengths differ or n >= 2^32
 */
std::vector<std::size_t> nondominated_ranks(std::span<const double> qos,
                                            std::span<const double> speedup);

/**
 * @brief ApproxTuner's "take the best n configurations": never more than n, never an index twice.
 *
 * Let F be the front (`pareto_front`, increasing qos).
 * - n <= |F|: n points spread along F. Coordinates are normalised by F's own range on each axis
 *   (x = (v - min) / (max - min); an axis with a zero or non-finite range is left unscaled).
 *   n == 1 takes the highest-speedup end of F; n >= 2 takes both ends, then repeatedly the point
 *   of F whose smallest squared Euclidean distance to the points taken so far is largest (ties:
 *   lowest qos). Returned in increasing qos order.
 * - n > |F|: all of F (increasing qos), then the other non-NaN points ordered by (rank asc,
 *   squared distance to the nearest point of F asc, index asc), cut at n points in total.
 *   Here coordinates are normalised the same way but by the range of all non-NaN points.
 * Points with a NaN coordinate are never taken, so fewer than n come back when there are fewer
 * than n valid points.
 * @throws config_error when the lengths differ or n >= 2^32
 */
std::vector<std::size_t> take_best_n(std::span<const double> qos, std::span<const double> speedup,
                                     std::size_t n);

}  // namespace approxtune::search
