// `opentuner-default`: a re-creation of what ApproxTuner got from OpenTuner on its all-enum
// space. OpenTuner's default technique, AUCBanditMetaTechniqueA, is an AUC bandit over
//   DifferentialEvolutionAlt, UniformGreedyMutation, NormalGreedyMutation(mutation_rate=0.3)
//   and RandomNelderMead,
// driven by ThresholdAccuracyMinimizeTime(qos threshold). Each piece below names the OpenTuner
// code it mirrors. One global RNG drives everything, as OpenTuner used Python's `random`.
#include <algorithm>
#include <array>
#include <cmath>
#include <deque>
#include <limits>
#include <optional>
#include <unordered_map>
#include <utility>

#include "approxtune/runtime/error.hpp"
#include "approxtune/search/strategies.hpp"
#include "strategy_support.hpp"

namespace approxtune::search::detail {
namespace {

constexpr std::uint64_t opentuner_salt = 0x6f70656e74756e65ULL;  // "opentune"

struct result_rec {
  bool ok = false;
  double qos = 0.0;
  double cost = 0.0;
};

// ThresholdAccuracyMinimizeTime.result_compare: order by (-min(accuracy, target), time).
// Failed results (OpenTuner's non-OK states) sort after every successful one.
bool better(const result_rec& a, const result_rec& b, double threshold) {
  if (!a.ok) return false;
  if (!b.ok) return true;
  const double qa = std::min(a.qos, threshold), qb = std::min(b.qos, threshold);
  if (qa != qb) return qa > qb;
  return a.cost < b.cost;
}

enum technique : int {
  differential_evolution = 0,  // DifferentialEvolutionAlt
  uniform_greedy = 1,          // UniformGreedyMutation
  normal_greedy = 2,           // NormalGreedyMutation(mutation_rate=0.3)
  random_restart = 3,          // RandomNelderMead (random proposals on an enum space)
  num_techniques = 4,
  no_technique = -1,  // a random fallback proposal: no bandit credit
};

// bandittechniques.AUCBanditQueue: a sliding window over the last `window` uses of any
// technique. A technique's exploitation term is the area under the curve of its "produced a new
// global best" history inside the window (recent uses weigh more), normalised to [0, 1]; its
// exploration term is sqrt(2 log2(len(history)) / uses), infinite when unused.
class auc_bandit {
 public:
  auc_bandit(std::size_t window, double exploration) : window_(window), c_(exploration) {}

  // ordered_keys(): shuffle (random tie-breaking), stable sort by score, best first.
  std::array<int, num_techniques> order(strategy_rng& rng) const {
    std::vector<int> keys{0, 1, 2, 3};
    rng.shuffle(keys);
    std::stable_sort(keys.begin(), keys.end(),
                     [this](int a, int b) { return score(a) < score(b); });
    std::array<int, num_techniques> out{};
    std::copy(keys.rbegin(), keys.rend(), out.begin());
    return out;
  }

  // on_result(): push, and pop the oldest use once the window is full. auc_sum holds the sum of
  // the (1-based) positions of the successes among the key's uses in the window; popping the
  // oldest use shifts every position down by one, i.e. subtracts the success count (auc_decay).
  void on_result(int key, bool new_best) {
    history_.emplace_back(key, new_best);
    ++uses_[key];
    if (new_best) {
      auc_sum_[key] += uses_[key];
      ++auc_decay_[key];
    }
    if (history_.size() > window_) {
      const auto [old_key, old_value] = history_.front();
      history_.pop_front();
      auc_sum_[old_key] -= auc_decay_[old_key];
      if (old_value) --auc_decay_[old_key];
      --uses_[old_key];
    }
  }

  nlohmann::json to_json() const {
    nlohmann::json history = nlohmann::json::array();
    for (const auto& [k, v] : history_) history.push_back({k, v});
    return {
        {"history", history}, {"uses", uses_}, {"auc_sum", auc_sum_}, {"auc_decay", auc_decay_}};
  }

  void from_json(const nlohmann::json& j) {
    history_.clear();
    for (const auto& h : j.at("history")) {
      const int k = h.at(0).get<int>();
      if (k < 0 || k >= num_techniques) throw config_error("strategy state: bad bandit key");
      history_.emplace_back(k, h.at(1).get<bool>());
    }
    uses_ = j.at("uses").get<std::array<std::uint64_t, num_techniques>>();
    auc_sum_ = j.at("auc_sum").get<std::array<std::uint64_t, num_techniques>>();
    auc_decay_ = j.at("auc_decay").get<std::array<std::uint64_t, num_techniques>>();
  }

 private:
  double score(int key) const {
    const auto uses = static_cast<double>(uses_[key]);
    if (uses_[key] == 0) return std::numeric_limits<double>::infinity();
    const double exploitation = static_cast<double>(auc_sum_[key]) / (uses * (uses + 1.0) / 2.0);
    const double exploration =
        std::sqrt(2.0 * std::log2(static_cast<double>(history_.size())) / uses);
    return exploitation + c_ * exploration;
  }

  std::size_t window_;
  double c_;
  std::deque<std::pair<int, bool>> history_;
  std::array<std::uint64_t, num_techniques> uses_{}, auc_sum_{}, auc_decay_{};
};

// differentialevolution.PopulationMember; time.time() stamps become a counter.
struct de_member {
  config_code code;
  bool submitted = false;
  std::uint64_t timestamp = 0;
  std::optional<config_code> candidate;  // candidate_replacement, awaiting its result
};

struct opentuner_params {
  std::size_t window = 500;
  double exploration = 0.05;
  std::size_t population_size = 30;
  double crossover_rate = 0.2;
  double uniform_mutation_rate = 0.1;
  double normal_mutation_rate = 0.3;
  std::size_t duplicate_attempts = 32;

  static opentuner_params from(const nlohmann::json& j) {
    opentuner_params p;
    try {
      p.window = j.value("window", p.window);
      p.exploration = j.value("exploration", p.exploration);
      p.population_size = j.value("population_size", p.population_size);
      p.crossover_rate = j.value("crossover_rate", p.crossover_rate);
      p.uniform_mutation_rate = j.value("uniform_mutation_rate", p.uniform_mutation_rate);
      p.normal_mutation_rate = j.value("normal_mutation_rate", p.normal_mutation_rate);
      p.duplicate_attempts = j.value("duplicate_attempts", p.duplicate_attempts);
    } catch (const nlohmann::json::exception& e) {
      throw config_error(std::string("strategy 'opentuner-default': bad params: ") + e.what());
    }
    if (p.window == 0) throw config_error("strategy 'opentuner-default': window must be > 0");
    // Differential evolution needs the parent plus three distinct donors.
    if (p.population_size < 4) {
      throw config_error("strategy 'opentuner-default': population_size must be >= 4");
    }
    if (p.duplicate_attempts == 0) {
      throw config_error("strategy 'opentuner-default': duplicate_attempts must be > 0");
    }
    return p;
  }
};

class opentuner_strategy final : public strategy {
 public:
  explicit opentuner_strategy(const strategy_context& ctx)
      : space_(ctx.space),
        threshold_(ctx.qos_threshold),
        params_(opentuner_params::from(ctx.params)),
        rng_(ctx.seed, opentuner_salt),
        proposed_(*ctx.space, ctx.history),
        bandit_(params_.window, params_.exploration) {}

  std::string name() const override { return opentuner_default_strategy_name; }

  // MetaSearchTechnique.desired_result(), once per slot: ask the techniques in bandit order and
  // take the first proposal. A proposal of an already-proposed configuration is what OpenTuner's
  // driver answered from its database; here it is answered at once (its result is known or
  // pending) and the bandit asked again, up to duplicate_attempts times, before a random unseen
  // configuration is proposed instead: no loop can spin on duplicates.
  std::vector<config_code> propose(std::size_t n) override {
    std::vector<config_code> out;
    out.reserve(n);
    while (out.size() < n && !proposed_.exhausted()) {
      std::optional<config_code> chosen;
      int owner = no_technique;
      for (std::size_t attempt = 0; attempt < params_.duplicate_attempts && !chosen; ++attempt) {
        std::optional<config_code> code;
        int by = no_technique;
        for (int t : bandit_.order(rng_)) {
          code = ask(t);
          if (code) {
            by = t;
            break;
          }
          // on_technique_no_desired_result: no proposal counts as no new best.
          bandit_.on_result(t, false);
        }
        if (!code) break;  // no technique has a proposal
        if (!proposed_.contains(*code)) {
          chosen = std::move(code);
          owner = by;
        } else {
          answer_duplicate(by, *code);
        }
      }
      if (!chosen) {
        chosen = proposed_.draw_unseen(rng_);
        owner = no_technique;
        if (!chosen || proposed_.contains(*chosen)) break;
      }
      proposed_.insert(*chosen);
      pending_.push_back({*chosen, owner});
      out.push_back(std::move(*chosen));
    }
    return out;
  }

  // Results in proposal order: credit goes to the technique that proposed each one (OpenTuner's
  // on_technique_result callback with result.was_new_best).
  void observe(std::span<const observation> results) override {
    for (const observation& o : results) {
      if (pending_.empty() ||
          !std::equal(o.code.begin(), o.code.end(), pending_.front().code.begin(),
                      pending_.front().code.end())) {
        throw config_error(
            "strategy 'opentuner-default': observation does not match the next pending "
            "proposal (observations must come back in proposal order)");
      }
      const pending_proposal p = std::move(pending_.front());
      pending_.pop_front();
      result_rec rec;
      rec.ok = o.ok && std::isfinite(o.qos) && std::isfinite(o.cost);
      if (rec.ok) {
        rec.qos = o.qos;
        rec.cost = o.cost;
      }
      record(p.code, rec, p.owner);
    }
  }

  nlohmann::json save_state() const override {
    nlohmann::json results = nlohmann::json::array();
    for (const auto& [code, rec] : results_) results.push_back(rec_to_json(code, rec));
    nlohmann::json pending = nlohmann::json::array();
    for (const auto& p : pending_) pending.push_back({{"code", p.code}, {"owner", p.owner}});
    nlohmann::json population = nlohmann::json::array();
    for (const auto& m : population_) {
      nlohmann::json jm;
      jm["code"] = m.code;
      jm["submitted"] = m.submitted;
      jm["timestamp"] = m.timestamp;
      jm["candidate"] = m.candidate ? nlohmann::json(*m.candidate) : nlohmann::json();
      population.push_back(std::move(jm));
    }
    return {{"strategy", name()},
            {"rng", rng_.save()},
            {"proposed", proposed_.to_json()},
            {"results", results},
            {"pending", pending},
            {"best", best_ ? nlohmann::json(*best_) : nlohmann::json()},
            {"bandit", bandit_.to_json()},
            {"population", population},
            {"clock", clock_}};
  }

  void load_state(const nlohmann::json& state) override {
    if (!state.is_object() || state.value("strategy", std::string()) != name()) {
      throw config_error("load_state: not a saved state of the 'opentuner-default' strategy");
    }
    // All or nothing: a state rejected halfway must not leave this strategy half-loaded.
    auto loaded = *this;
    loaded.load_fields(state);
    *this = std::move(loaded);
  }

 private:
  void load_fields(const nlohmann::json& state) {
    try {
      rng_.load(state.at("rng").get<std::string>());
      proposed_.from_json(state.at("proposed"));
      results_.clear();
      result_index_.clear();
      for (const auto& r : state.at("results")) {
        const auto [code, rec] = rec_from_json(r);
        result_index_.emplace(code, results_.size());
        results_.emplace_back(code, rec);
      }
      pending_.clear();
      for (const auto& p : state.at("pending")) {
        const int owner = p.at("owner").get<int>();
        if (owner < no_technique || owner >= num_techniques) {
          throw config_error("strategy state: pending proposal has an unknown technique");
        }
        pending_.push_back({code_from_json(p.at("code"), *space_, "pending proposal"), owner});
      }
      best_.reset();
      if (!state.at("best").is_null()) {
        best_ = state.at("best").get<std::size_t>();
        if (*best_ >= results_.size()) throw config_error("strategy state: best out of range");
      }
      bandit_.from_json(state.at("bandit"));
      population_.clear();
      for (const auto& jm : state.at("population")) {
        de_member m;
        m.code = code_from_json(jm.at("code"), *space_, "population member");
        m.submitted = jm.at("submitted").get<bool>();
        m.timestamp = jm.at("timestamp").get<std::uint64_t>();
        if (!jm.at("candidate").is_null()) {
          m.candidate = code_from_json(jm.at("candidate"), *space_, "population candidate");
        }
        population_.push_back(std::move(m));
      }
      clock_ = state.at("clock").get<std::uint64_t>();
    } catch (const nlohmann::json::exception& e) {
      throw config_error(std::string("load_state of 'opentuner-default': ") + e.what());
    }
  }

  struct pending_proposal {
    config_code code;
    int owner;
  };

  nlohmann::json rec_to_json(const config_code& code, const result_rec& rec) const {
    // Failed results carry no numbers (JSON has no NaN).
    return {{"code", code},
            {"ok", rec.ok},
            {"qos", rec.ok ? nlohmann::json(rec.qos) : nlohmann::json()},
            {"cost", rec.ok ? nlohmann::json(rec.cost) : nlohmann::json()}};
  }

  std::pair<config_code, result_rec> rec_from_json(const nlohmann::json& j) const {
    result_rec rec;
    rec.ok = j.at("ok").get<bool>();
    if (rec.ok) {
      rec.qos = j.at("qos").get<double>();
      rec.cost = j.at("cost").get<double>();
    }
    return {code_from_json(j.at("code"), *space_, "result"), rec};
  }

  const result_rec* known_result(const config_code& code) const {
    const auto it = result_index_.find(code);
    return it == result_index_.end() ? nullptr : &results_[it->second].second;
  }

  const config_code* best_code() const { return best_ ? &results_[*best_].first : nullptr; }

  // SearchDriver: a result is a new best when it beats the best so far under the objective.
  void record(const config_code& code, const result_rec& rec, int owner) {
    bool new_best = false;
    if (!known_result(code)) {
      result_index_.emplace(code, results_.size());
      results_.emplace_back(code, rec);
      if (rec.ok && (!best_ || better(rec, results_[*best_].second, threshold_))) {
        best_ = results_.size() - 1;
        new_best = true;
      }
    }
    de_on_result(code, rec);
    if (owner != no_technique) bandit_.on_result(owner, new_best);
  }

  // A duplicate is never a new best; a known result also goes to the technique right away, a
  // pending one reaches it when its own observation arrives.
  void answer_duplicate(int owner, const config_code& code) {
    if (const result_rec* rec = known_result(code)) de_on_result(code, *rec);
    bandit_.on_result(owner, false);
  }

  std::optional<config_code> ask(int t) {
    switch (t) {
      case differential_evolution:
        return de_propose();
      case uniform_greedy:
        return greedy_mutation(params_.uniform_mutation_rate);
      case normal_greedy:
        // NormalMutationMixin mutates enum (non-primitive) parameters with op1_randomize, so
        // it differs from the uniform one only by its rate.
        return greedy_mutation(params_.normal_mutation_rate);
      case random_restart:
        // RandomNelderMead: its simplex moves on enum parameters are op4_set_linear /
        // op1_randomize calls, which re-draw the value: random configurations.
        return random_config(*space_, rng_);
      default:
        return std::nullopt;
    }
  }

  // evolutionarytechniques.EvolutionaryTechnique with GreedySelectionMixin: the parent is the
  // global best (a random configuration before any result). mutation(): shuffle the parameters,
  // randomize the first (must_mutate_count = 1) and every other one with probability `rate`;
  // op1_randomize may redraw the same value. Up to 10 rounds accumulate on the same copy until
  // it differs from the parent; otherwise no proposal (OpenTuner returned None).
  std::optional<config_code> greedy_mutation(double rate) {
    // selection(): crossover_rate is 0, but the draw is made.
    [[maybe_unused]] const bool crossover = rng_.uniform01() < 0.0;
    const config_code parent = best_code() ? *best_code() : random_config(*space_, rng_);
    config_code cfg = parent;
    std::vector<std::size_t> params(space_->num_ops());
    for (int round = 0; round < 10; ++round) {
      for (std::size_t k = 0; k < params.size(); ++k) params[k] = k;
      rng_.shuffle(params);
      for (std::size_t i = 0; i < params.size(); ++i) {
        if (i < 1 || rng_.uniform01() < rate) {
          cfg[params[i]] = static_cast<knob_index>(rng_.below(space_->num_knobs(params[i])));
        }
      }
      if (cfg != parent) return cfg;
    }
    return std::nullopt;
  }

  // differentialevolution.DifferentialEvolution(cr=0.2) = DifferentialEvolutionAlt:
  // population_size random members, each submitted once (without waiting for results); then the
  // oldest member without a pending candidate_replacement gets a trial and moves to the back of
  // the line: x1, x2, x3 drawn from the other members plus the global best
  // (information_sharing = 1); over the shuffled parameters, the first (n_cross = 1) and each
  // other with probability cr take op4_set_linear(x1, x2, x3, 1, F, -F), which for an enum
  // (ComplexParameter) copies x1's value and re-draws it when x2 and x3 differ. Up to
  // duplicate_retries = 5 trials while the trial already has a result. The trial replaces the
  // member when its result is better.
  std::optional<config_code> de_propose() {
    if (population_.empty()) {
      population_.resize(params_.population_size);
      for (auto& m : population_) {
        m.code = random_config(*space_, rng_);
        m.timestamp = clock_++;
      }
    }
    for (auto& m : population_) {
      if (!m.submitted) {
        m.submitted = true;
        return m.code;
      }
    }
    de_member* oldest = nullptr;
    for (auto& m : population_) {
      if (!m.candidate && (!oldest || m.timestamp < oldest->timestamp)) oldest = &m;
    }
    if (!oldest) return std::nullopt;  // every member has a replacement pending
    config_code trial;
    for (int retry = 0; retry < 5; ++retry) {
      trial = de_trial(*oldest);
      if (!known_result(trial)) break;
    }
    oldest->timestamp = clock_++;
    oldest->candidate = trial;
    return trial;
  }

  config_code de_trial(const de_member& parent) {
    std::vector<const config_code*> donors;
    donors.reserve(population_.size() + 1);
    for (const auto& m : population_) {
      if (&m != &parent) donors.push_back(&m.code);
    }
    if (best_code()) donors.push_back(best_code());
    rng_.shuffle(donors);
    const config_code &x1 = *donors[0], &x2 = *donors[1], &x3 = *donors[2];
    // The differential weight F = U(0.5, 1) is drawn to keep OpenTuner's random stream; it only
    // scales numeric parameters.
    [[maybe_unused]] const double use_f = rng_.uniform01() / 2.0 + 0.5;
    config_code cfg = parent.code;
    std::vector<std::size_t> params(space_->num_ops());
    for (std::size_t k = 0; k < params.size(); ++k) params[k] = k;
    rng_.shuffle(params);
    for (std::size_t i = 0; i < params.size(); ++i) {
      if (i < 1 || rng_.uniform01() < params_.crossover_rate) {
        const std::size_t k = params[i];
        cfg[k] = x2[k] == x3[k] ? x1[k] : static_cast<knob_index>(rng_.below(space_->num_knobs(k)));
      }
    }
    return cfg;
  }

  // DifferentialEvolution.handle_requested_result: objective.lt(candidate, member). A member
  // whose own result is not back yet (large batches) counts as failed, i.e. worst.
  void de_on_result(const config_code& code, const result_rec& rec) {
    for (auto& m : population_) {
      if (!m.candidate || *m.candidate != code) continue;
      const result_rec* current = known_result(m.code);
      if (better(rec, current ? *current : result_rec{}, threshold_)) m.code = code;
      m.candidate.reset();
    }
  }

  const knob_space* space_;
  double threshold_;
  opentuner_params params_;
  strategy_rng rng_;
  proposed_set proposed_;
  std::vector<std::pair<config_code, result_rec>> results_;  // in observation order
  std::unordered_map<config_code, std::size_t, code_hash> result_index_;
  std::deque<pending_proposal> pending_;
  std::optional<std::size_t> best_;  // index into results_
  auc_bandit bandit_;
  std::vector<de_member> population_;
  std::uint64_t clock_ = 0;
};

}  // namespace

std::unique_ptr<strategy> make_opentuner_strategy(const strategy_context& ctx) {
  check_context(ctx, opentuner_default_strategy_name);
  return std::make_unique<opentuner_strategy>(ctx);
}

}  // namespace approxtune::search::detail
