#include "approxtune/apps/synthetic.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <string>
#include <thread>

#include "approxtune/runtime/error.hpp"

namespace approxtune::apps {

namespace {

std::vector<op_knobs> declare_ops(const synthetic_options& o) {
  if (o.ops == 0) throw config_error("synthetic app: --ops must be at least 1");
  if (o.knobs > 4096) throw config_error("synthetic app: --knobs must be at most 4096");
  if (!(o.eval_latency_ms >= 0.0) || !std::isfinite(o.eval_latency_ms))
    throw config_error("synthetic app: --eval-latency-ms must be a finite number >= 0");
  if (!(o.interaction >= 0.0) || !std::isfinite(o.interaction))
    throw config_error("synthetic app: interaction must be a finite number >= 0");
  std::vector<knob> knobs;
  for (std::size_t k = 0; k < o.knobs; ++k) knobs.emplace_back("k" + std::to_string(k));
  std::vector<op_knobs> ops;
  for (std::size_t i = 0; i < o.ops; ++i) ops.push_back({"op" + std::to_string(i), knobs});
  return ops;
}

// (loss, cost) partial sums of a DP state; both lower-better.
struct partial {
  double loss;
  double cost;
};

// Keeps the non-dominated (loss down, cost down) points with loss <= budget.
void prune(std::vector<partial>& pts, double budget) {
  std::erase_if(pts, [budget](const partial& p) { return p.loss > budget; });
  std::sort(pts.begin(), pts.end(), [](const partial& a, const partial& b) {
    return a.loss != b.loss ? a.loss < b.loss : a.cost < b.cost;
  });
  std::size_t out = 0;
  double best_cost = INFINITY;
  for (const auto& p : pts) {
    if (p.cost < best_cost) {
      pts[out++] = p;
      best_cost = p.cost;
    }
  }
  pts.resize(out);
}

}  // namespace

synthetic_app::synthetic_app(const synthetic_options& options)
    : app(declare_ops(options)), options_(options), width_(options.knobs + 1) {
  // Knob order per op is k0..k{K-1} then the appended baseline (index K).
  const std::size_t n = options_.ops;
  loss_.assign(n * width_, 0.0);
  test_scale_.assign(n * width_, 1.0);
  speedup_.assign(n * width_, 1.0);
  op_cost_.resize(n);
  pair_weight_.assign(n, 0.0);
  std::mt19937_64 rng(options_.seed);
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  for (std::size_t i = 0; i < n; ++i) {
    op_cost_[i] = 0.5 + 1.5 * u01(rng);
    for (std::size_t k = 0; k < options_.knobs; ++k) {
      const double s = 1.05 + 1.95 * u01(rng);
      const double u = u01(rng);
      // Faster knobs tend to lose more, with wide spread (u^2 makes many cheap knobs).
      loss_[i * width_ + k] = 0.01 + 0.6 * (s - 1.0) * u * u;
      speedup_[i * width_ + k] = s;
      test_scale_[i * width_ + k] = 0.9 + 0.2 * u01(rng);
    }
    pair_weight_[i] = u01(rng);
  }
  for (double c : op_cost_) baseline_cost_ += c;
}

std::uint64_t synthetic_app::content_hash() const {
  std::uint64_t h = options_.seed * 0x9e3779b97f4a7c15ULL;
  h ^= options_.ops * 0xbf58476d1ce4e5b9ULL + (options_.knobs << 20);
  h ^= static_cast<std::uint64_t>(options_.interaction * 1e9);
  return h;
}

measurement synthetic_app::evaluate(const config_code& code, split s) const {
  if (code.size() != options_.ops) throw config_error("synthetic app: config has wrong length");
  const bool test = s == split::test;
  double loss = 0.0, cost = 0.0;
  double prev_loss = 0.0;
  for (std::size_t i = 0; i < code.size(); ++i) {
    const std::size_t idx = i * width_ + code[i];
    const double l = loss_[idx] * (test ? test_scale_[idx] : 1.0);
    loss += l;
    if (i > 0 && options_.interaction > 0.0)
      loss += options_.interaction * pair_weight_[i - 1] * std::sqrt(prev_loss * l);
    prev_loss = l;
    cost += op_cost_[i] / speedup_[idx];
  }
  return {100.0 - loss, cost};
}

measurement synthetic_app::measure(const config_code& code, split s) const {
  if (options_.eval_latency_ms > 0.0)
    std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(options_.eval_latency_ms));
  return evaluate(code, s);
}

std::vector<front_point> synthetic_app::exact_front(double min_qos) const {
  const double budget = 100.0 - min_qos;
  if (budget < 0.0) return {};
  // DP along the chain of ops. State = knob of the last op (the pairwise term depends on it);
  // per state, the Pareto set of (loss, cost) of the prefix. Without interactions the states
  // collapse into one, but the same code serves both.
  const std::size_t n = options_.ops;
  const bool chain = options_.interaction > 0.0;
  const std::size_t states = chain ? width_ : 1;
  std::vector<std::vector<partial>> cur(states), next(states);
  for (std::size_t k = 0; k < width_; ++k)
    cur[chain ? k : 0].push_back({loss_[k], op_cost_[0] / speedup_[k]});
  for (auto& c : cur) prune(c, budget);
  for (std::size_t i = 1; i < n; ++i) {
    for (auto& v : next) v.clear();
    for (std::size_t ps = 0; ps < states; ++ps) {
      const double prev_l = chain ? loss_[(i - 1) * width_ + ps] : 0.0;
      for (std::size_t k = 0; k < width_; ++k) {
        const std::size_t idx = i * width_ + k;
        const double l = loss_[idx];
        const double extra =
            chain ? options_.interaction * pair_weight_[i - 1] * std::sqrt(prev_l * l) : 0.0;
        const double dc = op_cost_[i] / speedup_[idx];
        auto& dst = next[chain ? k : 0];
        for (const auto& p : cur[ps]) dst.push_back({p.loss + l + extra, p.cost + dc});
      }
    }
    for (auto& v : next) prune(v, budget);
    std::swap(cur, next);
  }
  std::vector<partial> all;
  for (auto& c : cur) all.insert(all.end(), c.begin(), c.end());
  prune(all, budget);
  std::vector<front_point> out;
  out.reserve(all.size());
  // prune() sorted by increasing loss = decreasing QoS: reverse for increasing QoS.
  for (auto it = all.rbegin(); it != all.rend(); ++it)
    out.push_back({100.0 - it->loss, baseline_cost_ / it->cost});
  return out;
}

double hypervolume(std::vector<front_point> points, double baseline_qos, double budget) {
  // Dominated area of the union of boxes [loss, budget] x [1, speedup]: sweep by loss.
  std::erase_if(points, [&](const front_point& p) {
    return !(baseline_qos - p.qos <= budget) || !(p.speedup > 1.0);
  });
  std::sort(points.begin(), points.end(),
            [&](const front_point& a, const front_point& b) { return a.qos > b.qos; });
  double area = 0.0, best = 1.0;
  for (std::size_t i = 0; i < points.size(); ++i) {
    best = std::max(best, points[i].speedup);
    const double x0 = std::max(0.0, baseline_qos - points[i].qos);
    const double x1 = i + 1 < points.size() ? std::max(0.0, baseline_qos - points[i + 1].qos) : budget;
    area += (x1 - x0) * (best - 1.0);
  }
  return area;
}

}  // namespace approxtune::apps
