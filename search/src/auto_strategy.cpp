// `auto`: a front-targeted ensemble. A probability-matching bandit over variation operators,
// each credited with the hypervolume its proposals add (relative to the current hypervolume),
// not with "new best": what matters is the whole front. Save/load comes from replay_strategy.
#include <algorithm>
#include <array>
#include <cmath>
#include <deque>
#include <limits>

#include "approxtune/runtime/error.hpp"
#include "mo_support.hpp"
#include "strategy_support.hpp"

namespace approxtune::search::detail {
namespace {

constexpr std::uint64_t auto_salt = 0x6175746f0aULL;  // "auto"
constexpr int child_attempts = 16;
constexpr std::uint8_t single_fail_limit = 4;
constexpr std::size_t move_samples = 24;
// The model's candidate order is refreshed against the measured front this often.
constexpr std::size_t model_refresh_every = 16;
constexpr std::size_t model_front_points = 2048;

enum op_kind : int { op_mutate, op_crossover, op_local, op_random, op_model, op_count };
constexpr std::array<const char*, op_count> op_names = {"mutate", "crossover", "local", "random",
                                                        "model"};

class auto_core final : public strategy {
 public:
  explicit auto_core(const strategy_context& ctx)
      : space_(ctx.space),
        threshold_(ctx.qos_threshold),
        rng_(ctx.seed, auto_salt),
        proposed_(*ctx.space, ctx.history),
        archive_(ctx.qos_threshold) {
    const auto& p = ctx.params;
    window_ = static_cast<std::size_t>(param_number(p, "window", 256, auto_strategy_name, 1, 1e9));
    p_min_ = param_number(p, "exploration", 0.05, auto_strategy_name, 0.0,
                          1.0 / static_cast<double>(op_count));
    enabled_.fill(true);
    if (p.is_object() && p.contains("operators")) {
      const auto& list = p.at("operators");
      if (!list.is_array() || list.empty())
        throw config_error(
            "strategy 'auto': param \"operators\" must be a non-empty list of names");
      enabled_.fill(false);
      for (const auto& v : list) {
        const auto it = std::find_if(op_names.begin(), op_names.end(), [&](const char* n) {
          return v.is_string() && v.get<std::string>() == n;
        });
        if (it == op_names.end())
          throw config_error("strategy 'auto': unknown operator " + v.dump() +
                             " (known: mutate, crossover, local, random, model)");
        enabled_[it - op_names.begin()] = true;
      }
    }
    if (param_bool(p, "seed_single_ops", true, auto_strategy_name)) {
      for (auto& c : single_op_configs(*space_)) seeds_.push_back(std::move(c));
    } else {
      seeds_.push_back(space_->baseline_code());
    }
    const std::size_t n = space_->num_ops();
    offset_.resize(n + 1, 0);
    for (std::size_t op = 0; op < n; ++op) offset_[op + 1] = offset_[op] + space_->num_knobs(op);
    single_qos_.assign(offset_[n], std::numeric_limits<double>::quiet_NaN());
    single_cost_.assign(offset_[n], std::numeric_limits<double>::quiet_NaN());
    missing_ = offset_[n];
  }

  std::string name() const override { return auto_strategy_name; }

  std::vector<config_code> propose(std::size_t n) override {
    std::vector<config_code> out;
    std::array<std::size_t, op_count> batch_uses{};
    while (out.size() < n) {
      if (!seeds_.empty()) {
        auto code = std::move(seeds_.front());
        seeds_.pop_front();
        if (proposed_.insert(code)) {
          out.push_back(std::move(code));
          pending_.push_back(-1);
        }
        continue;
      }
      int op = choose_operator();
      std::optional<config_code> child;
      for (int attempt = 0; attempt < child_attempts && !child; ++attempt) {
        auto c = generate(op);
        if (!c) break;  // the operator has nothing to offer now
        const bool duplicate = proposed_.contains(*c);
        if (op == op_mutate) note_single_move(duplicate);
        if (!duplicate) {
          child = std::move(c);
        } else {
          // A child proposed before costs a draw and a lookup and adds nothing: a zero reward
          // in the bandit's window. Near a well-explored front, where most of an operator's
          // children were proposed before, its share then falls instead of each proposal
          // costing more and more rejected draws (hypervolume per evaluation: unchanged or
          // better in search_hypervolume_bench).
          credit(op, 0.0);
        }
      }
      if (!child) {
        op = op_random;
        child = proposed_.draw_unseen(rng_);
        if (!child || proposed_.contains(*child)) break;  // exhausted
      }
      proposed_.insert(*child);
      out.push_back(std::move(*child));
      pending_.push_back(op);
      ++batch_uses[op];
    }
    for (int o = 0; o < op_count; ++o) uses_[o] += batch_uses[o];
    return out;
  }

  void observe(std::span<const observation> results) override {
    for (std::size_t i = 0; i < results.size(); ++i) {
      const auto& o = results[i];
      const int op = i < pending_.size() ? pending_[i] : -1;
      const bool ok = o.ok && std::isfinite(o.qos) && std::isfinite(o.cost) && o.cost > 0.0;
      if (ok) record_profile(o);
      double reward = 0.0;
      if (ok && o.qos >= threshold_) {
        const double before = archive_.hypervolume();
        // Only points that enter the front keep their code (the operators start from front
        // points): most feasible observations never do, and a long run would otherwise hold
        // every one of them (~85 bytes each).
        const auto id = static_cast<std::uint32_t>(codes_.size());
        const double gain = archive_.insert(o.qos, 1.0 / o.cost, id);
        if (archive_.last_kept()) {
          codes_.emplace_back(o.code.begin(), o.code.end());
          single_fails_.push_back(0);
        }
        if (gain > 0.0) reward = before > 0.0 ? std::min(1.0, gain / before) : 1.0;
        if (op >= 0) gain_[op] += gain;
      }
      if (op >= 0) credit(op, reward);
    }
    pending_.clear();
  }

  nlohmann::json save_state() const override { return {}; }  // replay_strategy saves
  void load_state(const nlohmann::json&) override {}

  nlohmann::json report() const override {
    nlohmann::json ops = nlohmann::json::object();
    for (int o = 0; o < op_count; ++o) {
      if (!enabled_[o]) continue;
      ops[op_names[o]] = {{"proposals", uses_[o]}, {"hypervolume_gain", gain_[o]}};
    }
    return {{"operators", ops},
            {"front_size", archive_.front().size()},
            {"hypervolume", archive_.hypervolume()},
            {"model_front_size", model_front_.size()}};
  }

 private:
  // ---- bandit --------------------------------------------------------------------------------

  bool available(int o) const {
    if (!enabled_[o]) return false;
    if (o == op_random) return true;
    if (archive_.front().empty()) return false;
    if (o == op_local) return profile_ready();
    if (o == op_model) return missing_ == 0 && !model_exhausted_;
    return true;
  }

  // Probability matching: every available operator gets at least p_min, the rest in
  // proportion to its mean reward over the window (untried ones count as the best).
  int choose_operator() {
    std::array<double, op_count> mean{};
    double best = 0.0;
    for (int o = 0; o < op_count; ++o) {
      if (count_[o] > 0) best = std::max(best, sum_[o] / static_cast<double>(count_[o]));
    }
    int k = 0;
    double total = 0.0;
    for (int o = 0; o < op_count; ++o) {
      if (!available(o)) continue;
      ++k;
      mean[o] = count_[o] > 0 ? sum_[o] / static_cast<double>(count_[o]) : std::max(best, 1e-12);
      total += mean[o];
    }
    if (k == 0) return op_random;
    const double floor = std::min(p_min_, 1.0 / k);
    std::array<double, op_count> prob{};
    for (int o = 0; o < op_count; ++o) {
      if (!available(o)) continue;
      prob[o] = floor + (1.0 - k * floor) * (total > 0.0 ? mean[o] / total : 1.0 / k);
    }
    double u = rng_.uniform01();
    int last = op_random;
    for (int o = 0; o < op_count; ++o) {
      if (!available(o)) continue;
      last = o;
      if (u < prob[o]) return o;
      u -= prob[o];
    }
    return last;
  }

  void credit(int op, double reward) {
    window_log_.push_back({op, reward});
    sum_[op] += reward;
    ++count_[op];
    if (window_log_.size() > window_) {
      const auto [old, r] = window_log_.front();
      window_log_.pop_front();
      sum_[old] -= r;
      --count_[old];
      if (count_[old] == 0) sum_[old] = 0.0;  // no drift from rounding
    }
  }

  // ---- the single-op profile -----------------------------------------------------------------

  void record_profile(const observation& o) {
    std::size_t changed = 0, at = 0;
    for (std::size_t op = 0; op < o.code.size(); ++op) {
      if (o.code[op] != space_->baseline_index(op)) {
        ++changed;
        at = op;
      }
    }
    if (changed == 0) {
      base_qos_ = o.qos;
      for (std::size_t op = 0; op < o.code.size(); ++op)
        set_single(offset_[op] + space_->baseline_index(op), o.qos, o.cost);
    } else if (changed == 1) {
      set_single(offset_[at] + o.code[at], o.qos, o.cost);
    }
  }

  void set_single(std::size_t idx, double qos, double cost) {
    if (std::isnan(single_qos_[idx])) --missing_;
    single_qos_[idx] = qos;
    single_cost_[idx] = cost;
  }

  bool profile_ready() const { return std::isfinite(base_qos_); }

  // Estimated (loss, saving) of a knob from the profile; false when not profiled.
  bool estimate(std::size_t op, std::size_t k, double& loss, double& saving) const {
    const std::size_t idx = offset_[op] + k;
    if (std::isnan(single_qos_[idx])) return false;
    loss = base_qos_ - single_qos_[idx];
    saving = 1.0 - single_cost_[idx];
    return true;
  }

  // ---- operators ------------------------------------------------------------------------------

  std::optional<config_code> generate(int op) {
    switch (op) {
      case op_mutate: return mutate();
      case op_crossover: return crossover();
      case op_local: return local();
      case op_model: return model();
      default: return random_sparse();
    }
  }

  // A front point: uniformly, or next to a large hypervolume gap of the staircase.
  std::size_t pick_parent() {
    const auto& f = archive_.front();
    if (f.size() == 1 || rng_.below(2) == 0) return rng_.below(f.size());
    if (gap_version_ != archive_.version() || gap_cumulative_.size() != f.size()) {
      // Cumulative gap weights, rebuilt only when the front changed.
      gap_version_ = archive_.version();
      std::vector<double> w(f.size(), 0.0);
      w[0] += 0.25 * (f[0].qos - threshold_) * std::max(f[0].speedup - 1.0, 0.0);
      for (std::size_t i = 0; i + 1 < f.size(); ++i) {
        const double gap = (f[i + 1].qos - f[i].qos) * (f[i].speedup - f[i + 1].speedup);
        w[i] += 0.5 * gap;
        w[i + 1] += 0.5 * gap;
      }
      gap_cumulative_.resize(f.size());
      double total = 0.0;
      for (std::size_t i = 0; i < w.size(); ++i) gap_cumulative_[i] = total += w[i];
    }
    const double total = gap_cumulative_.back();
    if (!(total > 0.0)) return rng_.below(f.size());
    const double u = rng_.uniform01() * total;
    const auto it = std::upper_bound(gap_cumulative_.begin(), gap_cumulative_.end(), u);
    return std::min<std::size_t>(it - gap_cumulative_.begin(), f.size() - 1);
  }

  void mutate_op(config_code& code, std::size_t op) {
    const std::size_t k = space_->num_knobs(op);
    if (k < 2) return;
    code[op] = static_cast<knob_index>((code[op] + 1 + rng_.below(k - 1)) % k);
  }

  std::optional<config_code> mutate() {
    const std::uint32_t id = archive_.front()[pick_parent()].id;
    config_code child = codes_[id];
    // One knob move (2 in 3 draws), or 2-3. A parent whose one-knob moves gave only
    // configurations proposed before, single_fail_limit (4) times in a row, has used them up
    // (near a well-explored front, late in a long run): it gets 2-3 moves, so proposals do
    // not cost more and more rejected draws.
    const bool multi = rng_.below(3) == 0;
    last_single_ = !multi && single_fails_[id] < single_fail_limit;
    last_parent_ = id;
    const std::size_t changes = last_single_ ? 1 : 2 + rng_.below(2);
    for (std::size_t i = 0; i < changes; ++i) mutate_op(child, rng_.below(child.size()));
    return child;
  }

  // Counts the outcome of the last mutate() of a one-knob move (consecutive duplicates).
  void note_single_move(bool duplicate) {
    if (!last_single_) return;
    auto& fails = single_fails_[last_parent_];
    fails = duplicate ? static_cast<std::uint8_t>(std::min<int>(fails + 1, single_fail_limit)) : 0;
  }

  std::optional<config_code> crossover() {
    const auto& f = archive_.front();
    const std::size_t i = pick_parent();
    if (f.size() < 2) return mutate();
    const std::size_t d = 1 + rng_.below(std::min<std::size_t>(4, f.size() - 1));
    // A neighbour d steps away on either side, staying on the front.
    const bool left = (rng_.below(2) == 0 && i >= d) || i + d >= f.size();
    std::size_t j = left ? (i >= d ? i - d : 0) : i + d;
    if (j == i) j = i == 0 ? 1 : i - 1;
    const auto& a = codes_[f[i].id];
    const auto& b = codes_[f[j].id];
    config_code child = a;
    for (std::size_t op = 0; op < child.size(); ++op)
      if (rng_.below(2) == 1) child[op] = b[op];
    if (child == a || child == b) mutate_op(child, rng_.below(child.size()));
    return child;
  }

  // One knob move of @p code chosen by the profile: the best of a few random moves that
  // - up: gain speedup while staying (by estimate) feasible, most speedup per QoS lost;
  // - down: regain QoS, least speedup given up per QoS regained.
  // Returns false when no sampled move qualifies.
  bool profiled_move(config_code& code, double& qos, bool up) {
    double best = up ? -1.0 : std::numeric_limits<double>::infinity();
    std::size_t best_op = 0, best_k = 0;
    double best_loss = 0.0;
    for (std::size_t s = 0; s < move_samples; ++s) {
      const std::size_t op = rng_.below(code.size());
      const std::size_t k = rng_.below(space_->num_knobs(op));
      if (k == code[op]) continue;
      double l1, s1, l0, s0;
      if (!estimate(op, k, l1, s1) || !estimate(op, code[op], l0, s0)) continue;
      const double dl = l1 - l0, ds = s1 - s0;
      if (up) {
        if (!(ds > 0.0) || qos - dl < threshold_) continue;
        const double ratio = ds / std::max(dl, 1e-9);
        if (ratio > best) best = ratio, best_op = op, best_k = k, best_loss = dl;
      } else {
        if (!(dl < 0.0)) continue;
        const double ratio = -ds / -dl;  // speedup given up per QoS regained
        if (ratio < best) best = ratio, best_op = op, best_k = k, best_loss = dl;
      }
    }
    if (up ? best < 0.0 : !std::isfinite(best)) return false;
    code[best_op] = static_cast<knob_index>(best_k);
    qos -= best_loss;
    return true;
  }

  std::optional<config_code> local() {
    const auto& p = archive_.front()[pick_parent()];
    config_code child = codes_[p.id];
    double qos = p.qos;
    const auto kind = rng_.below(10);
    bool moved;
    if (kind < 4) {
      moved = profiled_move(child, qos, true);
    } else if (kind < 7) {
      moved = profiled_move(child, qos, false);
    } else {
      // Swap: free some QoS on one op, spend it more efficiently on another.
      moved = profiled_move(child, qos, false);
      if (moved) profiled_move(child, qos, true);
    }
    if (!moved) mutate_op(child, rng_.below(child.size()));
    return child;
  }

  std::optional<config_code> random_sparse() {
    config_code child = space_->baseline_code();
    const double density = static_cast<double>(1 + rng_.below(child.size())) /
                           static_cast<double>(child.size());
    for (std::size_t op = 0; op < child.size(); ++op)
      if (rng_.uniform01() < density)
        child[op] = static_cast<knob_index>(rng_.below(space_->num_knobs(op)));
    return child;
  }

  // The next unmeasured point of the profile model's front with the largest predicted
  // hypervolume gain over the measured front.
  std::optional<config_code> model() {
    if (!model_built_) build_model();
    if (model_since_refresh_ >= model_refresh_every || model_queue_.empty()) refresh_model_queue();
    while (!model_queue_.empty()) {
      const std::size_t i = model_queue_.back();
      model_queue_.pop_back();
      if (proposed_.contains(model_front_[i].code)) continue;
      ++model_since_refresh_;
      return model_front_[i].code;
    }
    model_exhausted_ = true;
    return std::nullopt;
  }

  void build_model() {
    model_built_ = true;
    additive_model m;
    m.base_qos = base_qos_;
    m.base_cost = 1.0;
    const std::size_t n = space_->num_ops();
    m.dqos.resize(n);
    m.dcost.resize(n);
    for (std::size_t op = 0; op < n; ++op) {
      for (std::size_t k = 0; k < space_->num_knobs(op); ++k) {
        const std::size_t idx = offset_[op] + k;
        m.dqos[op].push_back(single_qos_[idx] - base_qos_);
        m.dcost[op].push_back(single_cost_[idx] - 1.0);
      }
    }
    model_front_ = additive_front(m, threshold_, model_front_points);
  }

  void refresh_model_queue() {
    model_since_refresh_ = 0;
    std::vector<std::pair<double, std::size_t>> scored;
    for (std::size_t i = 0; i < model_front_.size(); ++i) {
      const auto& p = model_front_[i];
      if (!(p.cost > 0.0) || proposed_.contains(p.code)) continue;
      const double g = archive_.gain_of(p.qos, 1.0 / p.cost);
      if (g > 0.0) scored.push_back({g, i});
    }
    // Ascending, so the best is popped from the back; ties by index for determinism.
    std::sort(scored.begin(), scored.end());
    model_queue_.clear();
    for (const auto& [g, i] : scored) model_queue_.push_back(i);
    if (model_queue_.empty()) model_exhausted_ = true;
  }

  const knob_space* space_;
  double threshold_;
  strategy_rng rng_;
  proposed_set proposed_;
  front_archive archive_;
  std::deque<config_code> seeds_;
  std::vector<config_code> codes_;  // configurations that entered the front, by archive id
  std::vector<std::uint8_t> single_fails_;  // by archive id: one-knob moves rejected in a row
  std::uint32_t last_parent_ = 0;           // archive id of the last mutate()'s parent
  bool last_single_ = false;                // whether it made a one-knob move
  std::vector<int> pending_;        // operator of each proposal of the last batch (-1: seed)

  std::vector<double> gap_cumulative_;
  std::uint64_t gap_version_ = ~std::uint64_t{0};

  std::array<bool, op_count> enabled_{};
  std::size_t window_ = 256;
  double p_min_ = 0.05;
  std::deque<std::pair<int, double>> window_log_;
  std::array<double, op_count> sum_{}, gain_{};
  std::array<std::size_t, op_count> count_{}, uses_{};

  std::vector<std::size_t> offset_;
  std::vector<double> single_qos_, single_cost_;
  std::size_t missing_ = 0;
  double base_qos_ = std::numeric_limits<double>::quiet_NaN();

  bool model_built_ = false, model_exhausted_ = false;
  std::vector<model_point> model_front_;
  std::vector<std::size_t> model_queue_;
  std::size_t model_since_refresh_ = 0;
};

}  // namespace

std::unique_ptr<strategy> make_auto_core(const strategy_context& ctx) {
  return std::make_unique<auto_core>(ctx);
}

}  // namespace approxtune::search::detail
