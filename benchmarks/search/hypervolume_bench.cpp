// Hypervolume ratio against the exact (DP) front of the synthetic app, per strategy, size,
// evaluation budget and interaction strength: the table of issue 7. Each cell is the median
// [min, max] over the seeds of hv(front of the first N unique tune-split evaluations of one run)
// / hv(exact front), in the (QoS loss <= budget, speedup >= 1) plane with reference point
// (budget, 1). Runs the real tuner (engine, cache, Pareto selection) on the zero-latency app.
//
// Usage: search_hypervolume_bench [--seeds 3] [--sizes 10x8,30x10,60x12]
//          [--strategies random,opentuner-default,nsga2,auto,predictive]  (also: auto-no-model)
//          [--budgets 1000,5000,10000] [--interactions 0,1] [--loss-budget 3] [--batch 16]
//          [--devices cpu:1] [--verbose 1]  (strategy reports on stderr)
//        search_hypervolume_bench --mode compare [--sizes ...] [--interactions ...] [--seeds 3]
//          [--compare-loss 1] [--latency-ms 5] [--compare-evals 5000] [--devices cpu:2]
//   (predictive vs empirical: best test speedup at <= 1 point loss, measurements, wall time)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "approxtune/apps/synthetic.hpp"
#include "approxtune/runtime/logging.hpp"
#include "approxtune/search/tuner.hpp"

using namespace approxtune;

namespace {

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

struct cell {
  std::vector<double> ratios;
};

std::string summarise(std::vector<double> v) {
  if (v.empty()) return "-";
  std::sort(v.begin(), v.end());
  const double med = v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f [%.3f, %.3f]", med, v.front(), v.back());
  return buf;
}

// Predictive vs empirical tuning on the synthetic app with a per-measurement latency: best
// test-split speedup at <= `loss` points of QoS loss, real tune-split measurements, wall time.
int compare(const std::vector<std::string>& sizes, const std::vector<double>& interactions,
            std::size_t seeds, double loss, double latency_ms, std::size_t evals,
            const std::string& devices, std::size_t batch) {
  std::printf("| size | interaction | strategy | tune-split measurements | best test speedup "
              "(median [min, max]) | wall s (median) |\n|---|---|---|---|---|---|\n");
  for (const auto& size : sizes) {
    const auto x = size.find('x');
    const std::size_t ops = std::stoul(size.substr(0, x)), knobs = std::stoul(size.substr(x + 1));
    for (double inter : interactions) {
      for (const std::string strat : {"opentuner-default", "auto", "predictive"}) {
        std::vector<double> speedups, measured, secs;
        for (std::size_t seed = 0; seed < seeds; ++seed) {
          apps::synthetic_options o;
          o.ops = ops;
          o.knobs = knobs;
          o.seed = 1000 + seed;
          o.interaction = inter;
          o.eval_latency_ms = latency_ms;
          apps::synthetic_app a(o);
          tuner t(a);
          tune_options opt;
          opt.strategy = strat;
          opt.max_iter = evals;
          opt.relative = true;
          opt.qos_tuner_threshold = loss;
          opt.test_configs = true;
          opt.seed = seed;
          opt.batch_size = batch;
          opt.devices = devices;
          opt.logger = approxtune::logger();
          const auto t0 = std::chrono::steady_clock::now();
          t.tune(opt);
          secs.push_back(
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
          speedups.push_back(t.summary().best_speedup_test.value_or(1.0));
          measured.push_back(static_cast<double>(t.summary().evaluations));
        }
        std::sort(measured.begin(), measured.end());
        std::sort(secs.begin(), secs.end());
        std::printf("| %s | %g | %s | %.0f | %s | %.1f |\n", size.c_str(), inter, strat.c_str(),
                    measured[measured.size() / 2], summarise(speedups).c_str(),
                    secs[secs.size() / 2]);
        std::fflush(stdout);
      }
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t seeds = 3, batch = 16;
  std::vector<std::string> sizes = {"10x8", "30x10", "60x12"};
  std::vector<std::string> strategies = {"random", "opentuner-default", "nsga2", "auto",
                                         "predictive"};
  std::vector<std::size_t> budgets = {1000, 5000, 10000};
  std::vector<double> interactions = {0.0, 1.0};
  double loss_budget = 3.0;
  std::string devices = "cpu:1";
  std::string mode = "hypervolume";
  bool verbose = false;
  double compare_loss = 1.0, latency_ms = 5.0;
  std::size_t compare_evals = 5000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i], val = argv[i + 1];
    if (key == "--seeds") seeds = std::stoul(val);
    else if (key == "--sizes") sizes = split_list(val);
    else if (key == "--strategies") strategies = split_list(val);
    else if (key == "--budgets") {
      budgets.clear();
      for (const auto& b : split_list(val)) budgets.push_back(std::stoul(b));
    } else if (key == "--interactions") {
      interactions.clear();
      for (const auto& x : split_list(val)) interactions.push_back(std::stod(x));
    } else if (key == "--loss-budget") loss_budget = std::stod(val);
    else if (key == "--batch") batch = std::stoul(val);
    else if (key == "--devices") devices = val;
    else if (key == "--mode") mode = val;
    else if (key == "--verbose") verbose = val == "1";
    else if (key == "--compare-loss") compare_loss = std::stod(val);
    else if (key == "--latency-ms") latency_ms = std::stod(val);
    else if (key == "--compare-evals") compare_evals = std::stoul(val);
    else {
      std::fprintf(stderr, "unknown option %s\n", key.c_str());
      return 2;
    }
  }
  const std::size_t max_budget = *std::max_element(budgets.begin(), budgets.end());
  auto quiet = approxtune::logger();
  quiet->set_level(spdlog::level::warn);
  if (mode == "compare")
    return compare(sizes, interactions, seeds, compare_loss, latency_ms, compare_evals, devices,
                   batch);

  std::printf("| size | interaction | strategy |");
  for (auto b : budgets) std::printf(" hv ratio @%zu |", b);
  std::printf(" evals used | s/run |\n|---|---|---|");
  for (std::size_t i = 0; i < budgets.size(); ++i) std::printf("---|");
  std::printf("---|---|\n");
  for (const auto& size : sizes) {
    const auto x = size.find('x');
    const std::size_t ops = std::stoul(size.substr(0, x)), knobs = std::stoul(size.substr(x + 1));
    for (double inter : interactions) {
      for (const auto& strat : strategies) {
        std::vector<cell> cells(budgets.size());
        std::vector<double> used, secs;
        for (std::size_t seed = 0; seed < seeds; ++seed) {
          apps::synthetic_options o;
          o.ops = ops;
          o.knobs = knobs;
          o.seed = 1000 + seed;
          o.interaction = inter;
          apps::synthetic_app a(o);
          const double exact_hv = apps::hypervolume(a.exact_front(100.0 - loss_budget), 100.0,
                                                    loss_budget);
          tuner t(a);
          tune_options opt;
          opt.strategy = strat;
          if (strat == "auto-no-model") {
            // Ablation: the ensemble without its profile-model operator.
            opt.strategy = "auto";
            opt.strategy_params = {{"operators", {"mutate", "crossover", "local", "random"}}};
          }
          opt.max_iter = max_budget;
          opt.relative = true;
          opt.qos_tuner_threshold = loss_budget;
          opt.test_configs = false;
          opt.seed = seed;
          opt.batch_size = batch;
          opt.devices = devices;
          opt.logger = quiet;
          const auto t0 = std::chrono::steady_clock::now();
          t.tune(opt);
          secs.push_back(
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
          if (verbose)
            std::fprintf(stderr, "%s %s i=%g seed %zu: %s\n", size.c_str(), strat.c_str(), inter,
                         seed, t.summary().strategy_report.dump().c_str());
          const auto& buf = t.results();
          used.push_back(static_cast<double>(buf.size()));
          for (std::size_t bi = 0; bi < budgets.size(); ++bi) {
            std::vector<apps::front_point> pts;
            buf.scan([&](std::size_t row, const result_view& v) {
              if (row < budgets[bi] && v.qos >= 100.0 - loss_budget && v.cost > 0.0)
                pts.push_back({v.qos, 1.0 / v.cost});
            });
            cells[bi].ratios.push_back(apps::hypervolume(pts, 100.0, loss_budget) / exact_hv);
          }
        }
        std::printf("| %s | %g | %s |", size.c_str(), inter, strat.c_str());
        for (const auto& c : cells) std::printf(" %s |", summarise(c.ratios).c_str());
        std::sort(used.begin(), used.end());
        std::sort(secs.begin(), secs.end());
        std::printf(" %.0f | %.2f |\n", used[used.size() / 2], secs[secs.size() / 2]);
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
