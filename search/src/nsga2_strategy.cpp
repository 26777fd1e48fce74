// `nsga2`: generational NSGA-II over per-op knob choices, (qos up, speedup up), the tuner
// threshold as a constraint. Save/load comes from replay_strategy (mo_support.hpp).
#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>

#include "approxtune/runtime/error.hpp"
#include "approxtune/search/pareto.hpp"
#include "mo_support.hpp"
#include "strategy_support.hpp"

namespace approxtune::search::detail {
namespace {

constexpr std::uint64_t nsga2_salt = 0x6e736761320aULL;  // "nsga2"
constexpr int child_attempts = 24;

struct member {
  config_code code;
  double qos = 0.0;
  double speedup = 0.0;
  bool ok = false;
};

class nsga2_core final : public strategy {
 public:
  explicit nsga2_core(const strategy_context& ctx)
      : space_(ctx.space),
        threshold_(ctx.qos_threshold),
        rng_(ctx.seed, nsga2_salt),
        proposed_(*ctx.space, ctx.history) {
    const auto& p = ctx.params;
    pop_size_ = static_cast<std::size_t>(
        param_number(p, "population_size", 64, nsga2_strategy_name, 4, 1e6));
    crossover_rate_ = param_number(p, "crossover_rate", 0.9, nsga2_strategy_name, 0.0, 1.0);
    mutation_rate_ = param_number(p, "mutation_rate", 1.0 / static_cast<double>(space_->num_ops()),
                                  nsga2_strategy_name, 0.0, 1.0);
    if (param_bool(p, "seed_single_ops", true, nsga2_strategy_name)) {
      for (auto& c : single_op_configs(*space_)) seeds_.push_back(std::move(c));
    } else {
      seeds_.push_back(space_->baseline_code());
    }
  }

  std::string name() const override { return nsga2_strategy_name; }

  std::vector<config_code> propose(std::size_t n) override {
    std::vector<config_code> out;
    while (out.size() < n) {
      if (!seeds_.empty()) {
        auto code = std::move(seeds_.front());
        seeds_.pop_front();
        if (proposed_.insert(code)) out.push_back(std::move(code));
        continue;
      }
      if (queue_.empty()) {
        // A generation is bred only from observed results: hand out what this batch has first
        // (a shorter batch), and breed at the next call, after the tuner's observe.
        if (!out.empty()) break;
        // Select survivors from the parents and everything observed since, breed the next one.
        select_survivors();
        breed();
        if (queue_.empty()) break;  // the space is exhausted
      }
      out.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    return out;
  }

  void observe(std::span<const observation> results) override {
    for (const auto& o : results) {
      member m;
      m.code.assign(o.code.begin(), o.code.end());
      m.ok = o.ok && std::isfinite(o.qos) && std::isfinite(o.cost) && o.cost > 0.0;
      m.qos = m.ok ? o.qos : -std::numeric_limits<double>::infinity();
      m.speedup = m.ok ? 1.0 / o.cost : 0.0;
      incoming_.push_back(std::move(m));
      ++observed_;
    }
  }

  nlohmann::json save_state() const override { return {}; }  // replay_strategy saves
  void load_state(const nlohmann::json&) override {}

  nlohmann::json report() const override {
    return {{"generations", generations_},
            {"population_size", pop_size_},
            {"observed", observed_},
            {"feasible_in_population", feasible_in_population_}};
  }

 private:
  bool feasible(const member& m) const { return m.ok && m.qos >= threshold_; }

  // Sorts population_ best first (constrained domination, rank, crowding) and keeps pop_size_.
  void select_survivors() {
    std::vector<member> all = std::move(population_);
    for (auto& m : incoming_) all.push_back(std::move(m));
    incoming_.clear();
    population_.clear();
    if (all.empty()) return;
    std::vector<std::size_t> feas, infeas, failed;
    for (std::size_t i = 0; i < all.size(); ++i) {
      if (feasible(all[i])) feas.push_back(i);
      else if (all[i].ok) infeas.push_back(i);
      else failed.push_back(i);
    }
    std::vector<std::size_t> order;
    if (!feas.empty()) {
      std::vector<double> q, s;
      for (auto i : feas) {
        q.push_back(all[i].qos);
        s.push_back(all[i].speedup);
      }
      const auto ranks = nondominated_ranks(q, s);
      std::size_t max_rank = 0;
      for (auto r : ranks) max_rank = std::max(max_rank, r);
      std::vector<std::vector<std::size_t>> by_rank(max_rank + 1);
      for (std::size_t j = 0; j < feas.size(); ++j) by_rank[ranks[j]].push_back(j);
      for (auto& group : by_rank) {
        if (order.size() >= pop_size_) break;
        // Crowding distance within the rank, then most isolated first.
        std::sort(group.begin(), group.end(), [&](std::size_t a, std::size_t b) {
          return q[a] != q[b] ? q[a] < q[b] : a < b;
        });
        std::vector<double> crowd(group.size(), 0.0);
        if (group.size() <= 2) {
          std::fill(crowd.begin(), crowd.end(), std::numeric_limits<double>::infinity());
        } else {
          const double qr = q[group.back()] - q[group.front()];
          const double sr = s[group.front()] - s[group.back()];
          crowd.front() = crowd.back() = std::numeric_limits<double>::infinity();
          for (std::size_t j = 1; j + 1 < group.size(); ++j) {
            crowd[j] = (qr > 0 ? (q[group[j + 1]] - q[group[j - 1]]) / qr : 0.0) +
                       (sr > 0 ? (s[group[j - 1]] - s[group[j + 1]]) / sr : 0.0);
          }
        }
        std::vector<std::size_t> idx(group.size());
        for (std::size_t j = 0; j < idx.size(); ++j) idx[j] = j;
        std::stable_sort(idx.begin(), idx.end(),
                         [&](std::size_t a, std::size_t b) { return crowd[a] > crowd[b]; });
        for (auto j : idx) order.push_back(feas[group[j]]);
      }
    }
    std::stable_sort(infeas.begin(), infeas.end(),
                     [&](std::size_t a, std::size_t b) { return all[a].qos > all[b].qos; });
    order.insert(order.end(), infeas.begin(), infeas.end());
    order.insert(order.end(), failed.begin(), failed.end());
    if (order.size() > pop_size_) order.resize(pop_size_);
    feasible_in_population_ = 0;
    for (auto i : order) {
      feasible_in_population_ += feasible(all[i]) ? 1 : 0;
      population_.push_back(std::move(all[i]));
    }
  }

  // population_ is sorted best first, so a tournament compares positions.
  const member& tournament() {
    const auto a = rng_.below(population_.size()), b = rng_.below(population_.size());
    return population_[std::min(a, b)];
  }

  config_code make_child() {
    if (population_.empty()) return random_config(*space_, rng_);
    const member& p1 = tournament();
    const member& p2 = tournament();
    config_code child = p1.code;
    if (rng_.uniform01() < crossover_rate_) {
      for (std::size_t op = 0; op < child.size(); ++op)
        if (rng_.below(2) == 1) child[op] = p2.code[op];
    }
    for (std::size_t op = 0; op < child.size(); ++op) {
      if (rng_.uniform01() < mutation_rate_) mutate_op(child, op);
    }
    if (child == p1.code || child == p2.code) mutate_op(child, rng_.below(child.size()));
    return child;
  }

  void mutate_op(config_code& code, std::size_t op) {
    const std::size_t k = space_->num_knobs(op);
    if (k < 2) return;
    const auto step = 1 + rng_.below(k - 1);
    code[op] = static_cast<knob_index>((code[op] + step) % k);
  }

  void breed() {
    ++generations_;
    for (std::size_t i = 0; i < pop_size_; ++i) {
      std::optional<config_code> child;
      for (int attempt = 0; attempt < child_attempts && !child; ++attempt) {
        auto c = make_child();
        if (!proposed_.contains(c)) child = std::move(c);
      }
      if (!child) child = proposed_.draw_unseen(rng_);
      if (!child || !proposed_.insert(*child)) break;
      queue_.push_back(std::move(*child));
    }
  }

  const knob_space* space_;
  double threshold_;
  strategy_rng rng_;
  proposed_set proposed_;
  std::size_t pop_size_ = 64;
  double crossover_rate_ = 0.9, mutation_rate_ = 0.0;
  std::deque<config_code> seeds_, queue_;
  std::vector<member> population_, incoming_;
  std::size_t generations_ = 0, observed_ = 0, feasible_in_population_ = 0;
};

}  // namespace

std::unique_ptr<strategy> make_nsga2_core(const strategy_context& ctx) {
  return std::make_unique<nsga2_core>(ctx);
}

}  // namespace approxtune::search::detail
