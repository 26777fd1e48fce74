#include "mo_support.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iterator>
#include <limits>

#include "approxtune/runtime/error.hpp"
#include "strategy_support.hpp"

namespace approxtune::search::detail {

double front_archive::gain_of(double qos, double speedup) const {
  if (!(qos >= threshold_) || !(speedup > 1.0)) return 0.0;
  // Above the staircase S(x) = max speedup of points with qos >= x (1 past the last point), the
  // new box [threshold, qos] x [1, speedup] adds the area where S(x) < speedup. Points whose
  // speedup reaches the new one (a prefix: speedup decreases along the front) shadow it up to
  // their qos, so the sweep starts after them.
  auto it = std::partition_point(front_.begin(), front_.end(),
                                 [speedup](const mo_point& p) { return p.speedup >= speedup; });
  double x = it == front_.begin() ? threshold_ : std::max(threshold_, std::prev(it)->qos);
  double area = 0.0;
  for (; it != front_.end() && x < qos; ++it) {
    const double right = std::min(it->qos, qos);
    if (right > x) area += (right - x) * (speedup - std::max(it->speedup, 1.0));
    x = std::max(x, right);
  }
  if (x < qos) area += (qos - x) * (speedup - 1.0);
  return area;
}

double front_archive::insert(double qos, double speedup, std::uint32_t id) {
  last_kept_ = false;
  if (!(qos >= threshold_) || !std::isfinite(speedup)) return 0.0;
  // First point with qos >= the new one: the best speedup among those that could dominate it.
  auto it = std::lower_bound(front_.begin(), front_.end(), qos,
                             [](const mo_point& p, double q) { return p.qos < q; });
  if (it != front_.end() && it->speedup >= speedup) return 0.0;  // dominated (or a copy)
  const double gain = gain_of(qos, speedup);
  // Dominated by the new point: qos <= new and speedup <= new, i.e. just before `it` (and `it`
  // itself when its qos equals the new one, since its speedup is lower).
  auto end = it;
  if (end != front_.end() && end->qos == qos) ++end;
  auto begin = it;
  while (begin != front_.begin() && std::prev(begin)->speedup <= speedup) --begin;
  const auto pos = front_.erase(begin, end);
  front_.insert(pos, mo_point{qos, speedup, id});
  hv_ += gain;
  last_kept_ = true;
  ++version_;
  return gain;
}

std::vector<model_point> additive_front(const additive_model& model, double min_qos,
                                        std::size_t max_points) {
  const std::size_t n = model.dqos.size();
  if (n == 0) return {};
  // Loss = base_qos - qos, so a prefix is pruned only when even the most helpful remaining
  // knobs (negative losses) could not bring it back under the budget.
  const double budget = model.base_qos - min_qos;
  std::vector<double> slack(n + 1, 0.0);
  for (std::size_t op = n; op-- > 0;) {
    double best = 0.0;
    for (double d : model.dqos[op]) best = std::max(best, d);
    slack[op] = slack[op + 1] + best;
  }
  struct node {
    double loss, cost;
    std::uint32_t parent;
    knob_index knob;
  };
  std::vector<std::vector<node>> layers(n);
  std::vector<node> cand;
  for (std::size_t op = 0; op < n; ++op) {
    cand.clear();
    const auto& dq = model.dqos[op];
    const auto& dc = model.dcost[op];
    if (op == 0) {
      for (std::size_t k = 0; k < dq.size(); ++k)
        cand.push_back({-dq[k], dc[k], 0, static_cast<knob_index>(k)});
    } else {
      const auto& prev = layers[op - 1];
      for (std::uint32_t p = 0; p < prev.size(); ++p)
        for (std::size_t k = 0; k < dq.size(); ++k)
          cand.push_back(
              {prev[p].loss - dq[k], prev[p].cost + dc[k], p, static_cast<knob_index>(k)});
    }
    const double limit = budget + slack[op + 1];
    std::erase_if(cand, [limit](const node& v) { return !(v.loss <= limit); });
    std::sort(cand.begin(), cand.end(), [](const node& a, const node& b) {
      return a.loss != b.loss ? a.loss < b.loss : a.cost < b.cost;
    });
    auto& layer = layers[op];
    double best_cost = std::numeric_limits<double>::infinity();
    for (const auto& v : cand) {
      if (v.cost < best_cost) {
        layer.push_back(v);
        best_cost = v.cost;
      }
    }
    if (layer.size() > max_points && max_points >= 2) {
      // Keep the lowest-cost point of each of max_points equal loss buckets (the last of each
      // bucket, since cost decreases along the layer).
      const double lo = layer.front().loss, hi = layer.back().loss;
      const double width = (hi - lo) / static_cast<double>(max_points);
      std::vector<node> thin;
      for (std::size_t i = 0; i < layer.size(); ++i) {
        const bool last = i + 1 == layer.size();
        const auto bucket = [&](double l) {
          return width > 0.0 ? static_cast<std::size_t>((l - lo) / width) : 0;
        };
        if (last || bucket(layer[i + 1].loss) != bucket(layer[i].loss) || i == 0)
          thin.push_back(layer[i]);
      }
      layer.swap(thin);
    }
  }
  std::vector<model_point> out;
  const auto& last = layers[n - 1];
  for (std::uint32_t i = 0; i < last.size(); ++i) {
    if (!(last[i].loss <= budget)) continue;
    model_point p;
    p.qos = model.base_qos - last[i].loss;
    p.cost = model.base_cost + last[i].cost;
    p.code.resize(n);
    std::uint32_t at = i;
    for (std::size_t op = n; op-- > 0;) {
      p.code[op] = layers[op][at].knob;
      at = layers[op][at].parent;
    }
    out.push_back(std::move(p));
  }
  std::reverse(out.begin(), out.end());  // increasing qos
  return out;
}

replay_strategy::replay_strategy(const strategy_context& ctx, core_factory factory)
    : ctx_(ctx), factory_(factory), core_(factory(ctx)) {}

void replay_strategy::append_round(record_spill& to, const round& r) {
  std::byte rec[round_bytes];
  const std::uint64_t asked = r.asked, got = r.got, n = r.observations;
  std::memcpy(rec, &asked, 8);
  std::memcpy(rec + 8, &got, 8);
  rec[16] = static_cast<std::byte>(r.observed ? 1 : 0);
  std::memcpy(rec + 17, &n, 8);
  to.append(rec);
}

void replay_strategy::append_obs(record_spill& to, const obs_record& o) {
  std::byte rec[obs_bytes];
  std::memcpy(rec, &o.qos, 8);
  std::memcpy(rec + 8, &o.cost, 8);
  rec[16] = static_cast<std::byte>(o.ok ? 1 : 0);
  rec[17] = static_cast<std::byte>(o.cached ? 1 : 0);
  to.append(rec);
}

replay_strategy::obs_record replay_strategy::obs_at(std::size_t i) const {
  std::byte rec[obs_bytes];
  obs_.read(i, rec);
  obs_record o;
  std::memcpy(&o.qos, rec, 8);
  std::memcpy(&o.cost, rec + 8, 8);
  o.ok = rec[16] != std::byte{0};
  o.cached = rec[17] != std::byte{0};
  return o;
}

void replay_strategy::for_each_round(
    const std::function<void(const round&, std::size_t first_obs)>& visit) const {
  std::size_t first = 0;
  rounds_.scan([&](std::size_t, const std::byte* block, std::size_t count) {
    for (std::size_t k = 0; k < count; ++k) {
      const std::byte* rec = block + round_bytes * k;
      std::uint64_t asked, got, n;
      std::memcpy(&asked, rec, 8);
      std::memcpy(&got, rec + 8, 8);
      std::memcpy(&n, rec + 17, 8);
      round r{asked, got, rec[16] != std::byte{0}, n};
      visit(r, first);
      first += n;
    }
  });
  if (last_) visit(*last_, first);
}

std::vector<config_code> replay_strategy::propose(std::size_t n) {
  auto out = core_->propose(n);
  if (last_) append_round(rounds_, *last_);
  last_ = round{n, out.size(), false, 0};
  return out;
}

void replay_strategy::observe(std::span<const observation> results) {
  core_->observe(results);
  if (!last_) return;
  last_->observed = true;
  for (const auto& o : results) {
    append_obs(obs_, {o.qos, o.cost, o.ok, o.cached});
    ++last_->observations;
  }
}

namespace {

// NaN (failed evaluations) is not JSON: it is written as null and read back as NaN.
nlohmann::json number_or_null(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}
double number_from(const nlohmann::json& j) {
  return j.is_null() ? std::numeric_limits<double>::quiet_NaN() : j.get<double>();
}

}  // namespace

nlohmann::json replay_strategy::save_state() const {
  nlohmann::json rounds = nlohmann::json::array();
  for_each_round([&](const round& r, std::size_t first) {
    nlohmann::json obs = nlohmann::json::array();
    for (std::size_t i = 0; i < r.observations; ++i) {
      const auto o = obs_at(first + i);
      obs.push_back({number_or_null(o.qos), number_or_null(o.cost), o.ok ? 1 : 0, o.cached ? 1 : 0});
    }
    rounds.push_back({{"asked", r.asked}, {"got", r.got}, {"observed", r.observed}, {"obs", obs}});
  });
  return {{"strategy", name()},
          {"seed", ctx_.seed},
          {"qos_threshold", ctx_.qos_threshold},
          {"params", ctx_.params},
          {"rounds", rounds}};
}

void replay_strategy::load_state(const nlohmann::json& state) {
  const std::string who = name();
  if (!state.is_object() || state.value("strategy", std::string()) != who)
    throw config_error("load_state: not a saved state of the '" + who + "' strategy");
  try {
    strategy_context ctx = ctx_;
    ctx.seed = state.at("seed").get<std::uint64_t>();
    ctx.qos_threshold = state.at("qos_threshold").get<double>();
    ctx.params = state.at("params");
    // The replay re-proposes the saved rounds: a tuner's history (what this tuner has seen
    // since) would make them look proposed already. The loaded core keeps its own set.
    ctx.history = nullptr;
    auto core = factory_(ctx);
    record_spill rounds_log{round_bytes}, obs_log{obs_bytes};
    std::optional<round> last;
    std::vector<observation> obs;
    for (const auto& jr : state.at("rounds")) {
      if (last) append_round(rounds_log, *last);
      round r;
      r.asked = jr.at("asked").get<std::size_t>();
      r.got = jr.at("got").get<std::size_t>();
      r.observed = jr.at("observed").get<bool>();
      const auto proposals = core->propose(r.asked);
      if (proposals.size() != r.got)
        throw config_error("load_state of '" + who + "': the replay diverged from the saved run");
      const auto& jobs = jr.at("obs");
      if (jobs.size() > proposals.size())
        throw config_error("load_state of '" + who + "': more observations than proposals");
      obs.clear();
      for (std::size_t i = 0; i < jobs.size(); ++i) {
        const auto& o = jobs[i];
        const obs_record rec{number_from(o.at(0)), number_from(o.at(1)),
                             o.at(2).get<std::uint8_t>() != 0, o.at(3).get<std::uint8_t>() != 0};
        append_obs(obs_log, rec);
        ++r.observations;
        obs.push_back({proposals[i], rec.qos, rec.cost, rec.ok, rec.cached});
      }
      if (r.observed) core->observe(obs);
      last = r;
    }
    ctx_ = std::move(ctx);
    core_ = std::move(core);
    rounds_ = std::move(rounds_log);
    obs_ = std::move(obs_log);
    last_ = last;
  } catch (const nlohmann::json::exception& e) {
    throw config_error("load_state of '" + who + "': " + e.what());
  }
}

double param_number(const nlohmann::json& params, const char* key, double fallback,
                    const char* strategy, double min_value, double max_value) {
  if (!params.is_object() || !params.contains(key)) return fallback;
  const auto& v = params.at(key);
  if (!v.is_number() || !(v.get<double>() >= min_value) || !(v.get<double>() <= max_value))
    throw config_error(std::string("strategy '") + strategy + "': param \"" + key +
                       "\" must be a number in [" + std::to_string(min_value) + ", " +
                       std::to_string(max_value) + "], got " + v.dump());
  return v.get<double>();
}

bool param_bool(const nlohmann::json& params, const char* key, bool fallback,
                const char* strategy) {
  if (!params.is_object() || !params.contains(key)) return fallback;
  const auto& v = params.at(key);
  if (!v.is_boolean())
    throw config_error(std::string("strategy '") + strategy + "': param \"" + key +
                       "\" must be true or false, got " + v.dump());
  return v.get<bool>();
}

std::string param_string(const nlohmann::json& params, const char* key, const char* fallback,
                         const char* strategy) {
  if (!params.is_object() || !params.contains(key)) return fallback;
  const auto& v = params.at(key);
  if (!v.is_string())
    throw config_error(std::string("strategy '") + strategy + "': param \"" + key +
                       "\" must be a string, got " + v.dump());
  return v.get<std::string>();
}

std::vector<config_code> single_op_configs(const knob_space& space) {
  std::vector<config_code> out{space.baseline_code()};
  for (std::size_t op = 0; op < space.num_ops(); ++op) {
    for (std::size_t k = 0; k < space.num_knobs(op); ++k) {
      if (k == space.baseline_index(op)) continue;
      auto code = space.baseline_code();
      code[op] = static_cast<knob_index>(k);
      out.push_back(std::move(code));
    }
  }
  return out;
}

std::unique_ptr<strategy> make_nsga2_strategy(const strategy_context& ctx) {
  check_context(ctx, nsga2_strategy_name);
  return std::make_unique<replay_strategy>(ctx, &make_nsga2_core);
}

std::unique_ptr<strategy> make_auto_strategy(const strategy_context& ctx) {
  check_context(ctx, auto_strategy_name);
  return std::make_unique<replay_strategy>(ctx, &make_auto_core);
}

std::unique_ptr<strategy> make_predictive_strategy(const strategy_context& ctx) {
  check_context(ctx, predictive_strategy_name);
  return std::make_unique<replay_strategy>(ctx, &make_predictive_core);
}

}  // namespace approxtune::search::detail
