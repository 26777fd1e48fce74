// `predictive`: ApproxTuner's predictive tuning (Pi-2 QoS, profiled or FLOP-linear cost) as a
// three-phase strategy: profiling (real), model search (in-process), validation (real).
// Being a strategy, its profiling runs in parallel on the engine, lands in the store (keyed by
// the app's content hash, the knob-space fingerprint and the split, so a stale profile is never
// served) and is replayed from there on resume.
#include <chrono>
#include <cmath>
#include <limits>
#include <map>

#include "approxtune/runtime/error.hpp"
#include "approxtune/search/pareto.hpp"
#include "mo_support.hpp"
#include "strategy_support.hpp"

namespace approxtune::search::detail {
namespace {

constexpr std::uint64_t predictive_salt = 0x707265640aULL;  // "pred"
constexpr std::size_t model_batch = 256;
// A knob whose profiling run failed is kept out of predicted fronts by this QoS penalty.
constexpr double failed_knob_penalty = 1e12;

class predictive_core final : public strategy {
 public:
  explicit predictive_core(const strategy_context& ctx)
      : space_(ctx.space), threshold_(ctx.qos_threshold), seed_(ctx.seed), proposed_(*ctx.space) {
    const auto& p = ctx.params;
    const char* who = predictive_strategy_name;
    qos_model_ = param_string(p, "qos_model", "pi2", who);
    if (qos_model_ == "pi1")
      throw config_error(
          "strategy 'predictive': qos_model \"pi1\" needs the app's output tensors, which "
          "strategies cannot see; use \"pi2\"");
    if (qos_model_ != "pi2")
      throw config_error("strategy 'predictive': unknown qos_model \"" + qos_model_ + "\" (pi2)");
    cost_model_ = param_string(p, "cost_model", "profiled", who);
    if (cost_model_ != "profiled" && cost_model_ != "flops")
      throw config_error("strategy 'predictive': unknown cost_model \"" + cost_model_ +
                         "\" (profiled, flops)");
    if (cost_model_ == "flops") read_flops(p);
    search_ = param_string(p, "search", "auto", who);
    if (search_ != "auto" && search_ != "nsga2" && search_ != "exact")
      throw config_error("strategy 'predictive': unknown search \"" + search_ +
                         "\" (auto, nsga2, exact)");
    search_params_ = p.is_object() && p.contains("search_params") ? p.at("search_params")
                                                                 : nlohmann::json::object();
    model_evaluations_ = static_cast<std::size_t>(
        param_number(p, "model_evaluations", 50000, who, 0, 1e12));
    validate_ = static_cast<std::size_t>(param_number(p, "validate", 100, who, 1, 1e9));
    margin_ = param_number(p, "qos_margin", 0.0, who, -1e300, 1e300);
    profile_ = single_op_configs(*space_);
  }

  std::string name() const override { return predictive_strategy_name; }

  std::vector<config_code> propose(std::size_t n) override {
    std::vector<config_code> out;
    while (out.size() < n && next_profile_ < profile_.size()) {
      auto& code = profile_[next_profile_++];
      if (proposed_.insert(code)) {
        out.push_back(code);
        ++profiling_proposals_;
      }
    }
    if (!out.empty()) return out;
    // Profiling proposals are all out; the model needs all of them observed.
    if (profiled_ < profiling_proposals_) return out;
    if (!searched_) model_search();
    while (out.size() < n && next_validation_ < validation_.size()) {
      out.push_back(validation_[next_validation_++]);
      ++validation_proposals_;
    }
    return out;
  }

  void observe(std::span<const observation> results) override {
    for (const auto& o : results) {
      const bool in_profiling = !searched_;
      auto& measured = in_profiling ? profiling_measured_ : validation_measured_;
      auto& cached = in_profiling ? profiling_cached_ : validation_cached_;
      ++(o.cached ? cached : measured);
      if (in_profiling) {
        ++profiled_;
        record_profile(o);
      }
    }
  }

  nlohmann::json save_state() const override { return {}; }  // replay_strategy saves
  void load_state(const nlohmann::json&) override {}

  nlohmann::json report() const override {
    return {
        {"qos_model", qos_model_},
        {"cost_model", cost_model_},
        {"search", search_},
        {"real_measurements", profiling_measured_ + validation_measured_},
        {"phases",
         {{"profiling",
           {{"proposals", profiling_proposals_},
            {"measured", profiling_measured_},
            {"cached", profiling_cached_}}},
          {"model_search",
           {{"predictions", predictions_},
            {"seconds", model_seconds_},
            {"predicted_front", predicted_front_size_}}},
          {"validation",
           {{"proposals", validation_proposals_},
            {"measured", validation_measured_},
            {"cached", validation_cached_}}}}}};
  }

 private:
  void read_flops(const nlohmann::json& p) {
    const std::size_t n = space_->num_ops();
    if (!p.contains("op_flops") || !p.at("op_flops").is_array() || p.at("op_flops").size() != n)
      throw config_error("strategy 'predictive': cost_model \"flops\" needs \"op_flops\": one "
                         "number per op (" + std::to_string(n) + ")");
    for (const auto& v : p.at("op_flops")) {
      if (!v.is_number() || !(v.get<double>() >= 0.0))
        throw config_error("strategy 'predictive': \"op_flops\" entries must be numbers >= 0");
      flops_.push_back(v.get<double>());
    }
    if (p.contains("knob_speedups")) {
      const auto& ks = p.at("knob_speedups");
      if (!ks.is_object())
        throw config_error(
            "strategy 'predictive': \"knob_speedups\" must map knob names to speedups");
      for (const auto& [k, v] : ks.items()) {
        if (!v.is_number() || !(v.get<double>() > 0.0))
          throw config_error("strategy 'predictive': knob_speedups[\"" + k + "\"] must be > 0");
        knob_speedups_[k] = v.get<double>();
      }
    }
  }

  void record_profile(const observation& o) {
    if (model_.dqos.empty()) {
      const std::size_t n = space_->num_ops();
      model_.dqos.resize(n);
      model_.dcost.resize(n);
      single_qos_.resize(n);
      single_cost_.resize(n);
      for (std::size_t op = 0; op < n; ++op) {
        single_qos_[op].assign(space_->num_knobs(op), std::numeric_limits<double>::quiet_NaN());
        single_cost_[op].assign(space_->num_knobs(op), std::numeric_limits<double>::quiet_NaN());
      }
    }
    const bool ok = o.ok && std::isfinite(o.qos) && std::isfinite(o.cost);
    std::size_t changed = 0, at = 0;
    for (std::size_t op = 0; op < o.code.size(); ++op) {
      if (o.code[op] != space_->baseline_index(op)) {
        ++changed;
        at = op;
      }
    }
    if (changed == 0) {
      if (ok) {
        base_qos_ = o.qos;
        base_cost_ = o.cost;
      }
    } else if (changed == 1 && ok) {
      single_qos_[at][o.code[at]] = o.qos;
      single_cost_[at][o.code[at]] = o.cost;
    }
  }

  void build_model() {
    const std::size_t n = space_->num_ops();
    if (!std::isfinite(base_qos_))
      throw error("strategy 'predictive': the baseline's profiling result is missing or failed");
    model_.base_qos = base_qos_;
    double total_flops = 0.0;
    for (double f : flops_) total_flops += f;
    model_.base_cost = cost_model_ == "flops" ? 0.0 : 1.0;
    for (std::size_t op = 0; op < n; ++op) {
      model_.dqos[op].assign(space_->num_knobs(op), 0.0);
      model_.dcost[op].assign(space_->num_knobs(op), 0.0);
      for (std::size_t k = 0; k < space_->num_knobs(op); ++k) {
        const bool base = k == space_->baseline_index(op);
        const double q = single_qos_[op][k], c = single_cost_[op][k];
        const bool known = base || (std::isfinite(q) && std::isfinite(c));
        model_.dqos[op][k] = base ? 0.0 : known ? q - base_qos_ : -failed_knob_penalty;
        if (cost_model_ == "flops") {
          const auto it = knob_speedups_.find(space_->knob_at(op, k).name());
          const double s = base || it == knob_speedups_.end() ? 1.0 : it->second;
          model_.dcost[op][k] = total_flops > 0.0 ? flops_[op] / s / total_flops : 0.0;
        } else {
          // Profiled costs are relative to the baseline already (the baseline has cost 1).
          model_.dcost[op][k] = base || !known ? 0.0 : c / base_cost_ - 1.0;
        }
      }
    }
  }

  void model_search() {
    searched_ = true;
    build_model();
    const auto t0 = std::chrono::steady_clock::now();
    front_archive predicted(threshold_ + margin_);
    std::vector<config_code> codes;
    const auto keep = [&](std::span<const knob_index> code, double qos, double cost) {
      if (!(cost > 0.0)) return;
      predicted.insert(qos, 1.0 / cost, static_cast<std::uint32_t>(codes.size()));
      if (predicted.last_kept()) codes.emplace_back(code.begin(), code.end());
    };
    if (search_ == "exact") {
      for (const auto& p : additive_front(model_, threshold_ + margin_)) {
        ++predictions_;
        keep(p.code, p.qos, p.cost);
      }
    } else {
      strategy_context inner{space_, threshold_ + margin_, seed_ ^ predictive_salt, search_params_};
      auto s = search_ == "nsga2" ? make_nsga2_core(inner) : make_auto_core(inner);
      std::vector<observation> obs;
      while (predictions_ < model_evaluations_) {
        const auto batch = s->propose(std::min(model_batch, model_evaluations_ - predictions_));
        if (batch.empty()) break;
        obs.clear();
        for (const auto& c : batch) {
          const double q = model_.qos(c), cost = model_.cost(c);
          obs.push_back({c, q, cost, cost > 0.0, false});
          keep(c, q, cost);
        }
        predictions_ += batch.size();
        s->observe(obs);
      }
    }
    model_seconds_ =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    // Validation: up to `validate` points spread along the predicted front.
    const auto& front = predicted.front();
    predicted_front_size_ = front.size();
    std::vector<double> q, sp;
    for (const auto& p : front) {
      q.push_back(p.qos);
      sp.push_back(p.speedup);
    }
    for (auto i : take_best_n(q, sp, validate_)) {
      const auto& code = codes[front[i].id];
      if (proposed_.insert(code)) validation_.push_back(code);
    }
  }

  const knob_space* space_;
  double threshold_;
  std::uint64_t seed_;
  proposed_set proposed_;
  std::string qos_model_, cost_model_, search_;
  nlohmann::json search_params_;
  std::size_t model_evaluations_ = 0, validate_ = 0;
  double margin_ = 0.0;
  std::vector<double> flops_;
  std::map<std::string, double> knob_speedups_;

  std::vector<config_code> profile_, validation_;
  std::size_t next_profile_ = 0, next_validation_ = 0;
  std::size_t profiled_ = 0;
  bool searched_ = false;
  std::vector<std::vector<double>> single_qos_, single_cost_;
  double base_qos_ = std::numeric_limits<double>::quiet_NaN(), base_cost_ = 1.0;
  additive_model model_;

  std::size_t profiling_proposals_ = 0, profiling_measured_ = 0, profiling_cached_ = 0;
  std::size_t validation_proposals_ = 0, validation_measured_ = 0, validation_cached_ = 0;
  std::size_t predictions_ = 0, predicted_front_size_ = 0;
  double model_seconds_ = 0.0;
};

}  // namespace

std::unique_ptr<strategy> make_predictive_core(const strategy_context& ctx) {
  return std::make_unique<predictive_core>(ctx);
}

}  // namespace approxtune::search::detail
