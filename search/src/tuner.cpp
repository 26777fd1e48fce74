#include "approxtune/search/tuner.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "approxtune/runtime/error.hpp"
#include "approxtune/runtime/logging.hpp"
#include "approxtune/runtime/progress.hpp"
#include "approxtune/search/pareto.hpp"
#include "approxtune/search/strategy.hpp"

namespace approxtune {

namespace {

void validate(const tune_options& o) {
  auto finite = [](double v, const char* what) {
    if (!std::isfinite(v)) throw config_error(std::string(what) + " must be a finite number");
  };
  finite(o.qos_tuner_threshold, "the QoS tuner threshold");
  if (o.qos_keep_threshold) finite(*o.qos_keep_threshold, "the QoS keep threshold");
  if (o.max_iter == 0) throw config_error("max_iter (--iterations) must be at least 1");
  if (o.take_best_n && *o.take_best_n == 0) throw config_error("take_best_n must be at least 1");
  if (o.eval_timeout_s && !(*o.eval_timeout_s > 0.0))
    throw config_error("the evaluation timeout must be > 0 seconds");
}

config make_config(const knob_space& space, std::span<const knob_index> code, double qos,
                   double cost, std::optional<double> test_qos) {
  config c;
  c.knobs = space.decode(code);
  c.qos = qos;
  c.cost = cost;
  c.test_qos = test_qos;
  return c;
}

config to_config(const knob_space& space, const results_buffer& buf, std::size_t row) {
  const result_row r = buf.row(row);
  return make_config(space, r.code, r.qos, r.cost, buf.test_qos(row));
}

// Evaluates @p codes on split @p s: results found in @p cache are served from it (marked
// cached), the rest are measured on the engine; results in the order of @p codes. Measured
// ones are passed to on_commit. Returns the number served from the cache.
std::size_t evaluate_through_cache(engine& eng, evaluation_cache* cache,
                                   const std::vector<config_code>& codes, split s,
                                   std::vector<evaluation>& out,
                                   const std::function<void(std::span<const evaluation>)>& on_commit) {
  out.assign(codes.size(), evaluation{});
  std::vector<config_code> to_measure;
  std::vector<std::size_t> measure_at;
  std::size_t hits = 0;
  for (std::size_t i = 0; i < codes.size(); ++i) {
    const auto h = hash_config(codes[i]);
    std::optional<cached_result> c = cache ? cache->lookup(codes[i], h, s) : std::nullopt;
    if (!c) {
      to_measure.push_back(codes[i]);
      measure_at.push_back(i);
      continue;
    }
    auto& e = out[i];
    e.code = codes[i];
    e.hash = h;
    e.on = s;
    e.qos = c->qos;
    e.cost = c->cost;
    e.status = c->status;
    e.reason = c->reason;
    e.device = "cache";
    e.cached = true;
    ++hits;
  }
  if (!to_measure.empty()) {
    auto measured = eng.evaluate(to_measure, s);
    std::size_t committed = measured.size();
    for (std::size_t i = 0; i < measured.size(); ++i)
      if (measured[i].status == eval_status::skipped) {
        committed = i;
        break;
      }
    if (on_commit && committed > 0) on_commit(std::span(measured.data(), committed));
    for (std::size_t i = 0; i < measured.size(); ++i) out[measure_at[i]] = std::move(measured[i]);
  }
  return hits;
}

// The strategy's never-repeat set, read from the results buffer's `proposed` marks.
class buffer_history final : public search::proposal_history {
 public:
  explicit buffer_history(const results_buffer& b) : b_(b) {}
  // By hash alone (see proposal_history): verifying the code would read it back from the
  // buffer's spill file, and near a well-explored front most queries are hits.
  bool proposed(std::span<const knob_index>, std::uint64_t hash) const override {
    return b_.proposed_hash(hash);
  }
  std::size_t proposed_count() const override { return b_.proposed_count(); }
  void for_each_proposed(const std::function<void(std::span<const knob_index>)>& visit) const override {
    // Rows are in commit order; a row marked later (a cached proposal of an older row, e.g. the
    // baseline) is visited at its row's place: the set is what matters, not this order.
    b_.scan([&](std::size_t row, const result_view& v) {
      if (b_.proposed(row)) visit(v.code);
    });
  }

 private:
  const results_buffer& b_;
};

}  // namespace

tuner::tuner(const app& a) : app_(a) {}

void tuner::decode_rows(std::vector<config>& out, bool kept_only) const {
  out.clear();
  buffer_.scan([&](std::size_t row, const result_view& v) {
    if (v.status != eval_status::ok) return;
    if (kept_only && !(v.qos >= report_.tune_keep_threshold)) return;
    out.push_back(make_config(app_.space(), v.code, v.qos, v.cost, buffer_.test_qos(row)));
  });
}

const std::vector<config>& tuner::all_configs() const {
  if (!all_decoded_) {
    decode_rows(all_, false);
    all_decoded_ = true;
  }
  return all_;
}

const std::vector<config>& tuner::kept_configs() const {
  if (!kept_decoded_) {
    decode_rows(kept_, true);
    kept_decoded_ = true;
  }
  return kept_;
}

void tuner::request_stop() noexcept {
  stop_.store(true);
  stop_callers_.fetch_add(1);  // before the load: `tune` then waits for us (seq_cst)
  if (engine* e = engine_.load()) e->request_stop();
  stop_callers_.fetch_sub(1);
}

const std::vector<config>& tuner::tune(const tune_options& opt) {
  validate(opt);
  auto log = opt.logger ? opt.logger : approxtune::logger();
  const auto t0 = std::chrono::steady_clock::now();
  const knob_space& space = app_.space();
  tuned_ = false;
  stop_.store(false);
  summary_ = {};
  report_ = {};
  all_.clear();
  all_.shrink_to_fit();
  all_decoded_ = false;
  kept_.clear();
  kept_.shrink_to_fit();
  kept_decoded_ = false;
  buffer_.reset(space.num_ops());
  report_.app_name = app_.name();
  report_.relative = opt.relative;

  log->info("tuning app '{}': {} ops, {} unique knobs, baseline knob '{}', 10^{:.1f} configs",
            app_.name(), space.num_ops(), space.unique_knobs().size(), space.baseline().name(),
            space.log10_size());

  engine_options eo;
  eo.devices = parse_devices(opt.devices, discover_devices());
  eo.timeout_s = opt.eval_timeout_s;
  eo.local_slots = opt.local_slots;
  eo.remote = opt.remote_slots;
  eo.logger = log;
  engine eng(app_, eo);
  engine_.store(&eng);
  // Before `eng` is destroyed: no new request_stop() can reach it, and one that already loaded
  // it (another thread, e.g. the store's error handler) has finished with it.
  struct engine_reset {
    std::atomic<engine*>& e;
    std::atomic<int>& callers;
    ~engine_reset() {
      e.store(nullptr);
      while (callers.load() != 0) std::this_thread::yield();
    }
  } reset_engine{engine_, stop_callers_};
  if (stop_.load()) eng.request_stop();

  // 1. The baseline, always first: its cost makes every other cost relative.
  const config_code base = space.baseline_code();
  std::vector<evaluation> base_eval;
  summary_.store_hits += evaluate_through_cache(eng, opt.cache, {base}, split::tune, base_eval, opt.on_commit);
  if (!base_eval[0].ok())
    throw error("the baseline configuration could not be measured: " + base_eval[0].reason);
  const double base_cost = base_eval[0].cost;
  report_.baseline_cost = base_cost;
  report_.baseline_tune_qos = base_eval[0].qos;
  buffer_.append(base, base_eval[0].hash, base_eval[0].qos, 1.0, eval_status::ok);
  summary_.evaluations = 1;

  // 2. Thresholds. The baseline's test QoS is measured whenever it is needed (relative
  // thresholds or a test phase); it does not count against the tune budget.
  if (opt.relative || opt.test_configs) {
    std::vector<evaluation> t;
    summary_.store_hits += evaluate_through_cache(eng, opt.cache, {base}, split::test, t, opt.on_commit);
    if (!t[0].ok()) throw error("the baseline could not be measured on the test split: " + t[0].reason);
    report_.baseline_test_qos = t[0].qos;
    ++summary_.test_evaluations;
  }
  const double keep_given = opt.qos_keep_threshold.value_or(opt.qos_tuner_threshold);
  report_.tuner_threshold_given = opt.qos_tuner_threshold;
  report_.keep_threshold_given = keep_given;
  if (opt.relative) {
    report_.tuner_threshold = report_.baseline_tune_qos - opt.qos_tuner_threshold;
    report_.tune_keep_threshold = report_.baseline_tune_qos - keep_given;
    report_.test_keep_threshold = *report_.baseline_test_qos - keep_given;
    log->info("relative thresholds: baseline QoS {:.4f} (tune) / {:.4f} (test)",
              report_.baseline_tune_qos, *report_.baseline_test_qos);
  } else {
    report_.tuner_threshold = opt.qos_tuner_threshold;
    report_.tune_keep_threshold = report_.test_keep_threshold = keep_given;
  }
  log->info("tuner threshold: qos >= {:.4f}; keeping qos >= {:.4f} (tune), {:.4f} (test)",
            report_.tuner_threshold, report_.tune_keep_threshold, report_.test_keep_threshold);

  // 3. Search: propose a batch, serve duplicates from the cache, evaluate the rest on the
  // engine, commit, observe in proposal order.
  buffer_history history(buffer_);
  search::strategy_context ctx{&space, report_.tuner_threshold, opt.seed, opt.strategy_params, &app_,
                               &history};
  auto strat = search::make_strategy(opt.strategy, ctx);
  const std::size_t batch = opt.batch_size > 0 ? opt.batch_size : 2 * eng.num_slots();
  progress_reporter bar(opt.max_iter, opt.progress);
  bar.update(summary_.evaluations, 1.0);
  double best_speedup = 1.0;
  std::size_t stalled_rounds = 0;
  constexpr std::size_t max_stalled_rounds = 200;
  std::vector<search::observation> obs;
  std::vector<config_code> fresh;
  std::vector<std::int64_t> row_of;  // per proposal: buffer row, or -(1 + index in fresh)
  while (summary_.evaluations < opt.max_iter && !stop_.load()) {
    const std::size_t remaining = opt.max_iter - summary_.evaluations;
    auto proposals = strat->propose(std::min(batch, remaining));
    if (proposals.empty()) {
      summary_.exhausted = true;
      log->info("strategy '{}' has no new configuration to propose", opt.strategy);
      break;
    }
    fresh.clear();
    row_of.clear();
    std::unordered_map<std::uint64_t, std::size_t> in_batch;  // hash -> index in fresh
    for (const auto& p : proposals) {
      if (!space.valid(p)) throw error("strategy '" + opt.strategy + "' proposed an invalid config");
      const auto h = hash_config(p);
      if (auto row = buffer_.find(p, h)) {
        buffer_.mark_proposed(*row);
        row_of.push_back(static_cast<std::int64_t>(*row));
        ++summary_.cache_hits;
        continue;
      }
      auto it = in_batch.find(h);
      if (it != in_batch.end() && fresh[it->second] == p) {
        row_of.push_back(-1 - static_cast<std::int64_t>(it->second));
        ++summary_.cache_hits;
        continue;
      }
      in_batch.emplace(h, fresh.size());
      row_of.push_back(-1 - static_cast<std::int64_t>(fresh.size()));
      fresh.push_back(p);
    }
    std::vector<evaluation> results;
    summary_.store_hits +=
        evaluate_through_cache(eng, opt.cache, fresh, split::tune, results, opt.on_commit);
    // A skipped candidate (stop request, or no slot left) was not measured: from the first
    // one on, nothing of this round is committed or observed, so a later resume measures it.
    std::size_t measured = results.size();
    for (std::size_t i = 0; i < results.size(); ++i)
      if (results[i].status == eval_status::skipped) {
        measured = i;
        break;
      }
    std::vector<std::size_t> fresh_row(results.size(), SIZE_MAX);
    std::size_t appended = 0;
    try {
      for (; appended < measured; ++appended) {
        auto& r = results[appended];
        const double rel = r.ok() ? r.cost / base_cost : std::nan("");
        fresh_row[appended] = buffer_.append(r.code, r.hash, r.ok() ? r.qos : std::nan(""), rel,
                                             r.status, r.reason);
        buffer_.mark_proposed(fresh_row[appended]);
        if (r.ok() && r.qos >= report_.tuner_threshold) best_speedup = std::max(best_speedup, 1.0 / rel);
      }
    } catch (const error& e) {
      // The buffer could not grow (its spill file: a full disk, no temporary folder). The
      // rows before stay readable, and on_commit already has this batch: stop, and select
      // from what the buffer holds, as when every slot is retired.
      summary_.evaluations += appended;
      summary_.error = e.what();
      log->error("{}; stopping with the {} results buffered so far", summary_.error, buffer_.size());
      break;
    }
    summary_.evaluations += measured;
    obs.clear();
    // Cached rows are read back from the buffer (maybe from its spill file) into `old_rows`,
    // which owns the codes the observations point to until observe() returns.
    std::vector<result_row> old_rows;
    old_rows.reserve(proposals.size());
    for (std::size_t i = 0; i < proposals.size(); ++i) {
      if (row_of[i] >= 0) {
        old_rows.push_back(buffer_.row(static_cast<std::size_t>(row_of[i])));
        const auto& o = old_rows.back();
        obs.push_back({o.code, o.qos, o.cost, o.status == eval_status::ok, true});
        continue;
      }
      const auto fi = static_cast<std::size_t>(-1 - row_of[i]);
      if (fresh_row[fi] == SIZE_MAX) break;  // skipped: stop observing here
      const auto& r = results[fi];
      if (r.ok())
        obs.push_back({r.code, r.qos, r.cost / base_cost, true, false});
      else
        obs.push_back({r.code, std::nan(""), std::nan(""), false, false});
    }
    strat->observe(obs);
    bar.update(summary_.evaluations, best_speedup);
    stalled_rounds = fresh.empty() ? stalled_rounds + 1 : 0;
    if (stalled_rounds >= max_stalled_rounds) {
      summary_.exhausted = true;
      log->warn("strategy '{}' proposed only already-measured configs for {} rounds; stopping",
                opt.strategy, max_stalled_rounds);
      break;
    }
    if (auto f = eng.fatal()) {
      summary_.error = *f;
      break;
    }
    if (eng.stop_requested()) break;
    if (eng.live_slots() == 0) {
      std::string last;
      for (const auto& r : results)
        if (r.status == eval_status::failed) last = r.reason;
      summary_.error = "every evaluation slot was retired after repeated failures (last: " + last + ")";
      log->error("{}; stopping with the {} results measured so far", summary_.error,
                 summary_.evaluations);
      break;
    }
  }
  summary_.cancelled = stop_.load() && summary_.error.empty();
  summary_.strategy_report = strat->report();
  bar.finish();

  // 4. Kept and best configurations (rows are in evaluation order: stable and reproducible).
  // The rows are scanned in blocks of 2^16 kept ones: the front of the rows so far and the next
  // block is the front of both (a point off the front of a subset is off the whole front), so
  // memory stays bounded whatever the run's length. take_best_n needs every kept point at once.
  std::size_t kept_count = 0;
  double best_kept_speedup = 1.0;
  std::vector<std::size_t> cand_rows;
  std::vector<double> kq, ks;
  constexpr std::size_t front_block = std::size_t{1} << 16;
  auto reduce_to_front = [&] {
    std::vector<std::size_t> rows;
    std::vector<double> q, sp;
    for (auto i : search::pareto_front(kq, ks)) {
      rows.push_back(cand_rows[i]);
      q.push_back(kq[i]);
      sp.push_back(ks[i]);
    }
    // pareto_front lists them by increasing qos; keep row order, so ties between identical
    // points still go to the lowest row, as they would over the whole buffer at once.
    std::vector<std::size_t> order(rows.size());
    for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
    std::sort(order.begin(), order.end(), [&](auto a, auto b) { return rows[a] < rows[b]; });
    cand_rows.clear();
    kq.clear();
    ks.clear();
    for (auto k : order) {
      cand_rows.push_back(rows[k]);
      kq.push_back(q[k]);
      ks.push_back(sp[k]);
    }
  };
  buffer_.scan([&](std::size_t row, const result_view& v) {
    if (v.status != eval_status::ok || !(v.qos >= report_.tune_keep_threshold)) return;
    ++kept_count;
    best_kept_speedup = std::max(best_kept_speedup, 1.0 / v.cost);
    cand_rows.push_back(row);
    kq.push_back(v.qos);
    ks.push_back(1.0 / v.cost);
    if (!opt.take_best_n && cand_rows.size() >= front_block + (front_block >> 2)) reduce_to_front();
  });
  std::vector<std::size_t> pick = opt.take_best_n ? search::take_best_n(kq, ks, *opt.take_best_n)
                                                  : search::pareto_front(kq, ks);
  std::vector<std::size_t> best_rows;
  for (auto i : pick) best_rows.push_back(cand_rows[i]);
  cand_rows = {};
  kq = {};
  ks = {};

  // 5. Test phase: best configs on the test split, dropping those under the test threshold.
  std::vector<std::size_t> final_rows = best_rows;
  if (opt.test_configs && !best_rows.empty() && !stop_.load() && !eng.stop_requested() &&
      eng.live_slots() > 0) {
    std::vector<config_code> codes;
    for (auto r : best_rows) codes.push_back(buffer_.code(r));
    std::vector<evaluation> tres;
    summary_.store_hits += evaluate_through_cache(eng, opt.cache, codes, split::test, tres, opt.on_commit);
    summary_.test_evaluations += tres.size();
    final_rows.clear();
    double change = 0.0;
    std::size_t tested = 0;
    for (std::size_t i = 0; i < best_rows.size(); ++i) {
      if (!tres[i].ok()) {
        log->warn("test-split measurement failed: {}", tres[i].reason);
        continue;
      }
      buffer_.set_test_qos(best_rows[i], tres[i].qos);
      change += std::abs(tres[i].qos - buffer_.qos(best_rows[i]));
      ++tested;
      if (tres[i].qos >= report_.test_keep_threshold) final_rows.push_back(best_rows[i]);
    }
    summary_.mean_abs_test_change = tested > 0 ? change / static_cast<double>(tested) : 0.0;
    log->info("test phase: {} of {} best configs pass; QoS changed by {:.4f} on average (mean |tune - test|)",
              final_rows.size(), best_rows.size(), summary_.mean_abs_test_change);
  }

  // Kept configs can be most of a long run: the report holds the points the plot draws (all of
  // them up to 100,000, else every k-th, at most 100,000), without knobs; kept_configs()
  // decodes them all from the buffer when asked.
  const std::size_t stride = std::max<std::size_t>(1, kept_count / max_plotted_kept);
  report_.kept_total = kept_count;
  std::size_t kept_seen = 0;
  buffer_.scan([&](std::size_t row, const result_view& v) {
    if (v.status != eval_status::ok || !(v.qos >= report_.tune_keep_threshold)) return;
    if (kept_seen++ % stride != 0) return;
    config c;
    c.qos = v.qos;
    c.cost = v.cost;
    c.test_qos = buffer_.test_qos(row);
    report_.kept.push_back(std::move(c));
  });
  for (auto r : best_rows) report_.best_prefilter.push_back(to_config(space, buffer_, r));
  for (auto r : final_rows) report_.best.push_back(to_config(space, buffer_, r));

  summary_.failed = buffer_.failed_count();
  summary_.kept = kept_count;
  summary_.best_prefilter = best_rows.size();
  summary_.best = final_rows.size();
  summary_.best_speedup_tune = best_kept_speedup;
  if (opt.test_configs) {
    double b = 1.0;
    for (auto r : final_rows) b = std::max(b, buffer_.speedup(r));
    summary_.best_speedup_test = b;
  }
  summary_.slots = eng.stats();
  summary_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  log->info("tuning finished: {} evaluations ({} failed, {} cache hits), {} kept, {} best, {} after test",
            summary_.evaluations, summary_.failed, summary_.cache_hits, summary_.kept,
            summary_.best_prefilter, summary_.best);
  tuned_ = true;
  return report_.best;
}

void tuner::dump_configs(const std::filesystem::path& file, bool best_only) const {
  if (!tuned_) throw error("no tuning session has been run; call tune() first");
  atomic_write(file, configs_json(report_, best_only ? report_.best : kept_configs()));
}

void tuner::write_outputs(const std::filesystem::path& dir) const {
  if (!tuned_) throw error("no tuning session has been run; call tune() first");
  std::filesystem::create_directories(dir);
  dump_configs(dir / "configs.json");
  const knob_space& space = app_.space();
  atomic_write(dir / "configs.txt",
               hpvm_configs(report_, report_.best, [&](const knob_map& k) {
                 return app_.hpvm_lines(space.encode(k));
               }));
  atomic_write(dir / "tradeoff.svg", tradeoff_svg(report_));
}

}  // namespace approxtune
