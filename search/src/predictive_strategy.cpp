// `predictive`: ApproxTuner's predictive tuning (Pi-2 or Pi-1 QoS, profiled or FLOP-linear
// cost) as a three-phase strategy: profiling (real), model search (in-process), validation
// (real). Being a strategy, its profiling runs in parallel on the engine, lands in the store
// (keyed by the app's content hash, the knob-space fingerprint and the split, so a stale
// profile is never served) and is replayed from there on resume. Pi-1's output tensors are
// profiled in phase 2 on the host's threads and kept in a keyed file (`output_profile`).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <map>
#include <optional>

#include <tbb/parallel_for.h>

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
      : space_(ctx.space),
        threshold_(ctx.qos_threshold),
        seed_(ctx.seed),
        proposed_(*ctx.space, ctx.history) {
    const auto& p = ctx.params;
    const char* who = predictive_strategy_name;
    qos_model_ = param_string(p, "qos_model", "pi2", who);
    if (qos_model_ != "pi2" && qos_model_ != "pi1")
      throw config_error("strategy 'predictive': unknown qos_model \"" + qos_model_ +
                         "\" (pi2, pi1)");
    if (qos_model_ == "pi1") {
      if (ctx.tuned_app == nullptr || ctx.tuned_app->outputs() == nullptr)
        throw config_error(
            "strategy 'predictive': qos_model \"pi1\" needs an app that exposes its output "
            "tensors (app::outputs())" +
            (ctx.tuned_app ? "; app '" + ctx.tuned_app->name() + "' has none" : std::string()) +
            "; use \"pi2\"");
      app_ = ctx.tuned_app;
      outputs_ = ctx.tuned_app->outputs();
      output_file_ = param_string(p, "output_profile", "", who);
      // The profiling pass's QoS runs are the output passes Pi-1 needs: let the app keep them.
      outputs_->keep_profile_outputs(true);
    }
    cost_model_ = param_string(p, "cost_model", "profiled", who);
    if (cost_model_ != "profiled" && cost_model_ != "flops")
      throw config_error("strategy 'predictive': unknown cost_model \"" + cost_model_ +
                         "\" (profiled, flops)");
    if (cost_model_ == "flops") read_flops(p);
    search_ = param_string(p, "search", "auto", who);
    if (search_ != "auto" && search_ != "nsga2" && search_ != "exact")
      throw config_error("strategy 'predictive': unknown search \"" + search_ +
                         "\" (auto, nsga2, exact)");
    if (search_ == "exact" && qos_model_ == "pi1")
      throw config_error("strategy 'predictive': search \"exact\" needs an additive QoS model "
                         "(pi2); pi1 uses \"auto\" or \"nsga2\"");
    search_params_ = p.is_object() && p.contains("search_params") ? p.at("search_params")
                                                                 : nlohmann::json::object();
    model_evaluations_ = static_cast<std::size_t>(
        param_number(p, "model_evaluations", 50000, who, 0, 1e12));
    validate_ = static_cast<std::size_t>(param_number(p, "validate", 100, who, 1, 1e9));
    margin_ = param_number(p, "qos_margin", 0.0, who, -1e300, 1e300);
    profile_ = single_op_configs(*space_);
  }

  std::string name() const override { return predictive_strategy_name; }

  ~predictive_core() override {
    if (outputs_ != nullptr) outputs_->keep_profile_outputs(false);
  }
  predictive_core(const predictive_core&) = delete;
  predictive_core& operator=(const predictive_core&) = delete;

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
    nlohmann::json r = {
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
    if (qos_model_ == "pi1") {
      // Output passes are tune-split inference runs too (no timing), on top of the engine's.
      r["phases"]["profiling"]["output_passes"] = output_passes_;
      r["phases"]["profiling"]["outputs_from_profiling"] = output_kept_;
      r["phases"]["profiling"]["output_seconds"] = output_seconds_;
      r["output_profile"] = {{"file", output_file_},
                             {"source", output_source_},
                             {"size", output_model_.size()}};
      if (!output_stale_.empty()) r["output_profile"]["stale"] = output_stale_;
    }
    return r;
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
    if (qos_model_ == "pi1") build_output_model();
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
      std::optional<output_predictor> pi1;
      if (qos_model_ == "pi1") pi1.emplace(output_model_);
      const auto predict_qos = [&](const config_code& c) {
        if (!pi1) return model_.qos(c);
        pi1->set(c);
        double q = outputs_->qos_from_outputs(pi1->outputs(), split::tune);
        // Knobs whose profiling failed keep the configuration off the predicted front.
        for (std::size_t op = 0; op < c.size(); ++op)
          if (model_.dqos[op][c[op]] <= -failed_knob_penalty) q -= failed_knob_penalty;
        return q;
      };
      while (predictions_ < model_evaluations_) {
        const auto batch = s->propose(std::min(model_batch, model_evaluations_ - predictions_));
        if (batch.empty()) break;
        obs.clear();
        for (const auto& c : batch) {
          const double q = predict_qos(c), cost = model_.cost(c);
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

  // Pi-1: the baseline's output and every profiled (op, knob)'s output delta, from the
  // `output_profile` file when its key matches, else measured in parallel (and saved).
  void build_output_model() {
    const auto t0 = std::chrono::steady_clock::now();
    const std::size_t n = space_->num_ops();
    const std::size_t size = outputs_->output_size(split::tune);
    std::vector<config_code> codes{space_->baseline_code()};
    for (std::size_t op = 0; op < n; ++op)
      for (std::size_t k = 0; k < space_->num_knobs(op); ++k) {
        if (k == space_->baseline_index(op) || !(model_.dqos[op][k] > -failed_knob_penalty))
          continue;
        config_code c = space_->baseline_code();
        c[op] = static_cast<knob_index>(k);
        codes.push_back(std::move(c));
      }
    std::vector<std::vector<float>> outs;
    const std::size_t served_before = outputs_->kept_outputs_served();
    const nlohmann::json key = {{"format", "approxtune-pi1-outputs-1"},
                                {"app", app_->name()},
                                {"content_hash", std::to_string(app_->content_hash())},
                                {"space", std::to_string(space_->fingerprint())},
                                {"split", "tune"},
                                {"output_size", size}};
    if (!output_file_.empty() && app_->content_hash() == 0)
      output_stale_ = "the app has no content hash, so a file cannot be matched to it";
    else if (!output_file_.empty())
      outs = load_outputs(key, codes, size);
    if (outs.empty()) {
      outs.assign(codes.size(), {});
      std::vector<std::string> errors(codes.size());
      tbb::parallel_for(std::size_t{0}, codes.size(), [&](std::size_t i) {
        try {
          outs[i] = outputs_->measure_outputs(codes[i], split::tune);
          if (outs[i].size() != size)
            errors[i] = "gave " + std::to_string(outs[i].size()) + " values, not " +
                        std::to_string(size);
        } catch (const std::exception& e) {
          errors[i] = e.what();
        }
      });
      const std::size_t served = outputs_->kept_outputs_served() - served_before;
      output_passes_ = codes.size() - std::min(served, codes.size());
      output_kept_ = codes.size() - output_passes_;
      output_source_ = "measured";
      if (!errors[0].empty())
        throw error("strategy 'predictive': the baseline's output tensor: " + errors[0]);
      bool all_ok = true;
      for (std::size_t i = 1; i < codes.size(); ++i)
        if (!errors[i].empty()) {
          outs[i].clear();  // that knob keeps the Pi-2 failure penalty below
          all_ok = false;
        }
      if (!output_file_.empty() && all_ok) save_outputs(key, codes, outs);
    }
    output_model_.base.assign(outs[0].begin(), outs[0].end());
    output_model_.base_code = space_->baseline_code();
    output_model_.delta.assign(n, {});
    for (std::size_t op = 0; op < n; ++op) output_model_.delta[op].resize(space_->num_knobs(op));
    for (std::size_t i = 1; i < codes.size(); ++i) {
      std::size_t op = 0;
      while (codes[i][op] == space_->baseline_index(op)) ++op;
      const knob_index k = codes[i][op];
      if (outs[i].empty()) {
        model_.dqos[op][k] = -failed_knob_penalty;
        continue;
      }
      auto& d = output_model_.delta[op][k];
      d.resize(size);
      for (std::size_t j = 0; j < size; ++j)
        d[j] = static_cast<double>(outs[i][j]) - output_model_.base[j];
    }
    outputs_->keep_profile_outputs(false);
    output_seconds_ =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

  // The file: one line of JSON (the key and the configurations, in order), then the outputs as
  // raw floats in that order. Returns empty (and says why in the report) unless it matches.
  std::vector<std::vector<float>> load_outputs(const nlohmann::json& key,
                                               const std::vector<config_code>& codes,
                                               std::size_t size) {
    std::ifstream in(output_file_, std::ios::binary);
    if (!in) {
      output_stale_ = "no file yet";
      return {};
    }
    std::string line;
    std::getline(in, line);
    const auto head = nlohmann::json::parse(line, nullptr, false);
    if (head.is_discarded() || !head.is_object() || !head.contains("key") ||
        !head.contains("configs")) {
      output_stale_ = "not an output profile file";
      return {};
    }
    for (const auto& [k, v] : key.items())
      if (!head.at("key").contains(k) || head.at("key").at(k) != v) {
        output_stale_ = k + " differs";
        return {};
      }
    if (head.at("configs") != nlohmann::json(codes)) {
      output_stale_ = "the profiled configurations differ";
      return {};
    }
    std::vector<std::vector<float>> outs(codes.size(), std::vector<float>(size));
    for (auto& o : outs)
      if (!in.read(reinterpret_cast<char*>(o.data()),
                   static_cast<std::streamsize>(size * sizeof(float)))) {
        output_stale_ = "the file is truncated";
        return {};
      }
    output_source_ = "file";
    return outs;
  }

  void save_outputs(const nlohmann::json& key, const std::vector<config_code>& codes,
                    const std::vector<std::vector<float>>& outs) const {
    const std::string tmp = output_file_ + ".tmp";
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out << nlohmann::json{{"key", key}, {"configs", codes}}.dump() << '\n';
      for (const auto& o : outs)
        out.write(reinterpret_cast<const char*>(o.data()),
                  static_cast<std::streamsize>(o.size() * sizeof(float)));
      if (!out) throw error("strategy 'predictive': cannot write output_profile '" + tmp + "'");
    }
    if (std::rename(tmp.c_str(), output_file_.c_str()) != 0)
      throw error("strategy 'predictive': cannot rename '" + tmp + "' to '" + output_file_ + "'");
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

  const app* app_ = nullptr;
  const output_app* outputs_ = nullptr;
  std::string output_file_, output_source_ = "none", output_stale_;
  output_model output_model_;
  std::size_t output_passes_ = 0;  ///< outputs computed by an extra pass
  std::size_t output_kept_ = 0;    ///< outputs the app kept from the profiling's QoS passes
  double output_seconds_ = 0.0;

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

namespace approxtune::search {

void output_model::predict(std::span<const knob_index> code, std::vector<double>& out) const {
  out.assign(base.begin(), base.end());
  for (std::size_t op = 0; op < code.size(); ++op) {
    const auto& d = delta[op][code[op]];
    for (std::size_t j = 0; j < d.size(); ++j) out[j] += d[j];
  }
}

output_predictor::output_predictor(const output_model& m)
    : m_(&m), code_(m.base_code), out_(m.base) {}

void output_predictor::move(std::size_t op, knob_index to) {
  const auto& from = m_->delta[op][code_[op]];
  const auto& add = m_->delta[op][to];
  code_[op] = to;
  ++moves_;
  if (!from.empty() && !add.empty()) {
    for (std::size_t j = 0; j < out_.size(); ++j) out_[j] += add[j] - from[j];
  } else if (!from.empty()) {
    for (std::size_t j = 0; j < out_.size(); ++j) out_[j] -= from[j];
  } else if (!add.empty()) {
    for (std::size_t j = 0; j < out_.size(); ++j) out_[j] += add[j];
  }
}

void output_predictor::refresh() {
  m_->predict(code_, out_);
  moves_ = 0;
}

void output_predictor::set(std::span<const knob_index> code) {
  std::size_t changed = 0, nonzero = 0;
  for (std::size_t op = 0; op < code.size(); ++op) {
    changed += code[op] != code_[op];
    nonzero += !m_->delta[op][code[op]].empty();
  }
  if (changed == 0) return;
  if (changed > nonzero || moves_ + changed > refresh_moves) {
    code_.assign(code.begin(), code.end());
    refresh();
    return;
  }
  for (std::size_t op = 0; op < code.size(); ++op)
    if (code[op] != code_[op]) move(op, code[op]);
}

}  // namespace approxtune::search
