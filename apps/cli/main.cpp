// The approxtune command line: tune an app (with a durable results store, --resume and a
// config cache), show and export a run's store, list strategies and devices.
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "app_factory.hpp"
#include "distributed.hpp"
#include "dnn_commands.hpp"
#include "approxtune/runtime/error.hpp"
#include "approxtune/runtime/logging.hpp"
#include "approxtune/runtime/store.hpp"
#include "store_commands.hpp"
#include "tune_args.hpp"
#include "approxtune/search/strategy.hpp"
#include "approxtune/search/tuner.hpp"

namespace fs = std::filesystem;
using namespace approxtune;

using cli::tune_args_from_json;
using cli::tune_args_json;
using cli::tune_cli;

namespace {

std::atomic<tuner*> active_tuner{nullptr};
volatile std::sig_atomic_t interrupted = 0;

extern "C" void on_sigint(int) {
  // Only lock-free atomic stores here (async-signal-safe): the tuner stops after the
  // in-flight evaluations and still writes its outputs.
  interrupted = 1;
  if (tuner* t = active_tuner.load()) t->request_stop();
}

// The MPI session of the process (a single-process one without mpirun).
mpi::session* the_session = nullptr;

// Command-line flag of each stored option, and whether a resume may change it. Changing the
// others would make the resumed run differ from the one that was started (the replay needs the
// same seed, batch, strategy, thresholds and app).
struct stored_flag {
  const char* pointer;
  const char* flag;
  bool may_change;
};
const stored_flag stored_flags[] = {
    {"/app/app", "--app", false},
    {"/app/ops", "--ops", false},
    {"/app/knobs", "--knobs", false},
    {"/app/app_seed", "--app-seed", false},
    {"/app/eval_latency_ms", "--eval-latency-ms", true},  // timing only, not results
    {"/app/interaction", "--interaction", false},
    // dnn: folders may move (the app's content hash catches a changed model or dataset);
    // what is measured, and how, may not.
    {"/app/models_dir", "--models-dir", true},
    {"/app/data_dir", "--data-dir", true},
    {"/app/tune_images", "--tune-images", false},
    {"/app/test_images", "--test-images", false},
    {"/app/timing_images", "--timing-images", false},
    {"/app/timing_repeats", "--timing-repeats", false},
    {"/app/cost", "--cost", false},
    {"/app/device", "--device", false},
    {"/app/dnn_batch", "--dnn-batch", false},
    {"/app/prefix_cache_mb", "--prefix-cache-mb", true},  // speed only: results are bit-identical
    {"/tune/iterations", "--iterations", true},  // a larger budget continues the same search
    {"/tune/qos_loss", "--qos-loss", false},
    {"/tune/qos_min", "--qos-min", false},
    {"/tune/keep_loss", "--keep-loss", false},
    {"/tune/keep_min", "--keep-min", false},
    {"/tune/take_best", "--take-best", false},
    {"/tune/no_test", "--no-test", false},
    {"/tune/strategy", "--strategy", false},
    {"/tune/strategy_params", "--strategy-params", false},
    {"/tune/seed", "--seed", false},
    {"/tune/batch", "--batch", false},
    {"/tune/devices", "--devices", true},  // the batch is fixed at the start, so results are not
    {"/tune/eval_timeout", "--eval-timeout", true},
};

// Files a previous run may have left in its output folder: the only ones --overwrite replaces
// and --resume / --new-run accept, and only when their content shows approxtune wrote them
// (written_by_approxtune). A folder is an approxtune run folder when it is empty or holds
// nothing else.
const std::set<std::string> own_files = {"configs.json", "configs.txt", "tradeoff.svg",
                                         "results.db", "results.db-wal", "results.db-shm"};

// approxtune's own leftovers of a process killed while writing: atomic_write's temp files
// (".configs.json.tmp<pid>.<n>") and the writability probe. Removed before a run continues.
bool is_leftover(const std::string& name) {
  if (name == ".approxtune-write-test") return true;
  for (const auto& own : own_files)
    if (name.rfind("." + own + ".tmp", 0) == 0) return true;
  return false;
}

// Whether @p file, named like one of own_files, is approxtune's by content: the store by its
// SQLite header and application_id, configs.json by its schema field, configs.txt by its HPVM
// opening (a number, then "+++++"), tradeoff.svg by its legend. The store's -wal and -shm
// companions go by name (SQLite checks them against the store). An empty file is a leftover of
// a run killed while creating it.
bool written_by_approxtune(const fs::path& file, const std::string& name) {
  std::error_code ec;
  if (!fs::is_regular_file(fs::symlink_status(file, ec))) return false;
  const auto size = fs::file_size(file, ec);
  if (ec) return false;
  if (size == 0 || name == "results.db-wal" || name == "results.db-shm") return true;
  std::ifstream in(file, std::ios::binary);
  if (name == "results.db") {
    unsigned char h[72] = {};
    in.read(reinterpret_cast<char*>(h), sizeof h);
    if (in.gcount() != static_cast<std::streamsize>(sizeof h) || std::memcmp(h, "SQLite format 3", 16) != 0)
      return false;
    const std::uint32_t id = (std::uint32_t{h[68]} << 24) | (std::uint32_t{h[69]} << 16) |
                             (std::uint32_t{h[70]} << 8) | std::uint32_t{h[71]};
    if (id == static_cast<std::uint32_t>(store_application_id)) return true;
    // In WAL mode the header's application_id reaches the file at the first checkpoint: until
    // then (a live run, or one killed early) SQLite itself, reading the WAL too, tells.
    try {
      store_reader reader(file);
      return true;
    } catch (const std::exception&) {
      return false;
    }
  }
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (name == "configs.json") {
    const auto j = nlohmann::json::parse(text, nullptr, false);
    return j.is_object() && j.contains("schema") && j["schema"] == "approxtune.configs";
  }
  if (name == "configs.txt") {
    const auto nl = text.find('\n');
    if (nl == std::string::npos || text.compare(nl + 1, 5, "+++++") != 0) return false;
    const std::string first = text.substr(0, nl);
    char* end = nullptr;
    std::strtod(first.c_str(), &end);
    return end != first.c_str() && *end == '\0';
  }
  if (name == "tradeoff.svg")
    return text.rfind("<svg", 0) == 0 && text.find("Kept configs") != std::string::npos;
  return false;
}

enum class dir_mode { fresh, overwrite, resume, new_run };

/** What prepare_out_dir found. */
struct out_dir_state {
  bool has_store = false;  ///< --out holds a results store
  bool created = false;    ///< --out did not exist and was created
};

// Checks --out against the chosen mode: a regular file, a folder with files approxtune did not
// write, or (without a mode flag) a non-empty folder are refused; nothing is removed before every
// check passed.
out_dir_state prepare_out_dir(const fs::path& dir, dir_mode mode) {
  std::error_code ec;
  out_dir_state st;
  bool& has_store = st.has_store;
  std::vector<fs::path> leftovers;
  if (fs::exists(fs::symlink_status(dir, ec))) {
    if (!fs::is_directory(dir, ec))
      throw config_error("--out '" + dir.string() +
                         "' exists and is not a folder; refusing to replace it (give a new or "
                         "empty folder, or an earlier run's folder)");
    if (mode == dir_mode::fresh && fs::exists(store_file(dir), ec) && store_writer_active(store_file(dir)))
      throw config_error("--out '" + dir.string() +
                         "' is being written by another approxtune process (see 'approxtune show " +
                         dir.string() + "'); choose another folder");
    for (const auto& e : fs::directory_iterator(dir)) {
      const std::string name = e.path().filename().string();
      if (mode == dir_mode::fresh)
        throw config_error("--out '" + dir.string() + "' is not empty (it has '" + name +
                           "'); choose a new folder, or pass --resume to continue the run stored "
                           "there, --new-run to start another run in its store (reusing its "
                           "results), or --overwrite to replace it");
      if (is_leftover(name)) {
        leftovers.push_back(e.path());
        continue;
      }
      if (!own_files.count(name))
        throw config_error("--out '" + dir.string() + "' holds '" + name +
                           "', which approxtune did not write; refusing to write there");
      if (!written_by_approxtune(e.path(), name))
        throw config_error("--out '" + dir.string() + "' holds a '" + name +
                           "' that approxtune did not write (its content is not approxtune's); "
                           "refusing to write there");
      if (name == "results.db") has_store = true;
    }
    // Never pull a temp file from under a live run (its own check refuses this one later).
    if (!leftovers.empty() && !store_writer_active(store_file(dir)))
      for (const auto& p : leftovers) fs::remove(p, ec);
    if (has_store && mode == dir_mode::overwrite) {
      if (store_writer_active(store_file(dir)))
        throw config_error("--out '" + dir.string() +
                           "' is being written by another approxtune process; not overwriting it");
      for (const auto& name : own_files) fs::remove(dir / name, ec);
      has_store = false;
    }
  } else {
    fs::create_directories(dir, ec);
    if (ec) throw config_error("cannot create --out '" + dir.string() + "': " + ec.message());
    st.created = true;
  }
  // Probe writability now rather than after hours of tuning.
  const fs::path probe = dir / ".approxtune-write-test";
  {
    std::FILE* f = std::fopen(probe.c_str(), "w");
    if (f == nullptr) {
      if (st.created) fs::remove(dir, ec);
      throw config_error("--out '" + dir.string() + "' is not writable");
    }
    std::fclose(f);
  }
  fs::remove(probe, ec);
  return st;
}

// The batch size the run will use: fixed when the run starts (default 2 x the slots of the
// chosen devices) and stored, so a resume on other devices proposes the same batches.
std::size_t resolve_batch(const tune_cli& c) {
  if (c.batch > 0) return c.batch;
  std::size_t slots = 0;
  for (const auto& d : parse_devices(c.devices, discover_devices())) slots += static_cast<std::size_t>(d.slots);
  return 2 * std::max<std::size_t>(slots, 1);
}

// For --resume: takes the stored value of every option not given on the command line, and
// refuses options given with a value that would make it a different run.
void merge_stored_options(const CLI::App& cmd, const run_record& run, const fs::path& file,
                          tune_cli& c) {
  const nlohmann::json requested = tune_args_json(c);
  nlohmann::json merged = run.info.options;
  std::string refused;
  for (const auto& f : stored_flags) {
    const nlohmann::json::json_pointer ptr(f.pointer);
    if (cmd.get_option(f.flag)->count() == 0) continue;
    const auto& want = requested.at(ptr);
    const nlohmann::json had = merged.contains(ptr) ? merged.at(ptr) : nlohmann::json(nullptr);
    if (want != had && !f.may_change)
      refused += std::string(refused.empty() ? "" : "; ") + f.flag + " differs (stored run: " +
                 had.dump() + ", requested: " + want.dump() + ")";
    merged[ptr] = want;
  }
  if (!refused.empty())
    throw config_error("cannot resume run " + std::to_string(run.id) + " of '" + file.string() +
                       "': " + refused +
                       ". Leave the option out to use the stored value, or start a new run "
                       "(--new-run, or another folder)");
  // Folders named in the store are followed only with the user's consent: the flag given
  // again, or --allow-outside-paths (the store may come from someone else).
  const bool allow_outside = c.app.allow_outside_paths;
  for (const auto& [pointer, flag] : {std::pair{"/app/models_dir", "--models-dir"},
                                      std::pair{"/app/data_dir", "--data-dir"}}) {
    const nlohmann::json::json_pointer ptr(pointer);
    const CLI::Option* given = cmd.get_option_no_throw(flag);
    if (allow_outside || (given != nullptr && given->count() > 0) || !merged.contains(ptr)) continue;
    const auto& v = merged.at(ptr);
    if (v.is_string() && !v.get<std::string>().empty())
      throw config_error("run " + std::to_string(run.id) + " of '" + file.string() +
                         "' was started with " + flag + " '" + v.get<std::string>() +
                         "' (stored in the results store); approxtune does not follow a folder "
                         "named in a file without your consent: give " + flag + " '" +
                         v.get<std::string>() + "' again, or pass --allow-outside-paths");
  }
  try {
    tune_args_from_json(merged, c);
  } catch (const store_error& e) {
    throw store_error("run " + std::to_string(run.id) + " of '" + file.string() + "': " + e.what());
  }
  c.app.allow_outside_paths = allow_outside;
}

// Checks that need no app and no store, so a bad command line leaves nothing on disk.
void validate_tune_args(const tune_cli& c) {
  if (c.qos_loss.has_value() == c.qos_min.has_value())
    throw config_error("give exactly one of --qos-loss (relative to the baseline) and --qos-min (absolute)");
  if (c.keep_loss && !c.qos_loss) throw config_error("--keep-loss goes with --qos-loss (use --keep-min with --qos-min)");
  if (c.keep_min && !c.qos_min) throw config_error("--keep-min goes with --qos-min (use --keep-loss with --qos-loss)");
  // NaN and inf pass CLI11's number checks; a loss below 0 asks for better than the baseline,
  // which is what --qos-min / --keep-min are for.
  const auto threshold = [](const std::optional<double>& v, const char* flag, bool loss) {
    if (!v) return;
    std::ostringstream given;
    given << *v;
    if (!std::isfinite(*v))
      throw config_error(std::string(flag) + " must be a finite number (got " + given.str() + ")");
    if (loss && *v < 0.0)
      throw config_error(std::string(flag) + " " + given.str() +
                         ": a QoS loss must be >= 0 (use --qos-min / --keep-min for an absolute "
                         "threshold)");
  };
  threshold(c.qos_loss, "--qos-loss", true);
  threshold(c.keep_loss, "--keep-loss", true);
  threshold(c.qos_min, "--qos-min", false);
  threshold(c.keep_min, "--keep-min", false);
  if (c.eval_timeout && !(std::isfinite(*c.eval_timeout) && *c.eval_timeout > 0.0))
    throw config_error("--eval-timeout must be a finite number of seconds > 0");
  const auto names = search::strategy_names();
  if (std::find(names.begin(), names.end(), c.strategy) == names.end()) {
    std::string known;
    for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
    throw config_error("unknown search strategy '" + c.strategy + "'; registered: " + known);
  }
  if (!c.strategy_params.empty()) {
    const auto j = nlohmann::json::parse(c.strategy_params, nullptr, false);
    if (j.is_discarded() || !j.is_object())
      throw config_error("--strategy-params must be a JSON object, e.g. '{\"validate\": 50}'");
  }
}

int run_tune(tune_cli c, const CLI::App& cmd) {
  const int modes = int(c.resume) + int(c.new_run) + int(c.overwrite);
  if (modes > 1) throw config_error("--resume, --new-run and --overwrite exclude each other");
  if (!c.resume) validate_tune_args(c);
  const fs::path out(c.out);
  const fs::path file = store_file(out);
  const dir_mode mode = c.resume ? dir_mode::resume
                        : c.new_run ? dir_mode::new_run
                        : c.overwrite ? dir_mode::overwrite
                                      : dir_mode::fresh;
  const out_dir_state out_state = prepare_out_dir(out, mode);
  const bool has_store = out_state.has_store;
  // A run that fails before writing anything leaves no folder behind that it created.
  struct remove_if_empty {
    const fs::path& dir;
    bool armed;
    ~remove_if_empty() {
      std::error_code ec;
      if (armed && fs::is_empty(dir, ec) && !ec) fs::remove(dir, ec);
    }
  } remove_created{out, out_state.created};
  auto log = approxtune::logger();

  std::optional<run_record> resumed;
  if (mode == dir_mode::resume || mode == dir_mode::new_run) {
    if (!has_store && mode == dir_mode::new_run)
      throw config_error("--new-run: --out '" + out.string() + "' holds no results store");
    if (has_store) {
      if (store_writer_active(file))
        throw config_error("--out '" + out.string() +
                           "' is being written by another approxtune process (see 'approxtune "
                           "show " + out.string() + "')");
      store_reader reader(file);
      if (mode == dir_mode::resume) {
        resumed = reader.latest_run();
        if (resumed) merge_stored_options(cmd, *resumed, file, c);
      }
    }
    if (mode == dir_mode::resume && !resumed)
      log->warn("--resume: '{}' holds no run yet; starting one", out.string());
  }

  validate_tune_args(c);
  auto a = cli::make_app(c.app, c.seed);
  // The strategy checks its parameters when it is made: do it now, before the store exists,
  // so a bad --strategy-params writes nothing.
  (void)search::make_strategy(
      c.strategy, {&a->space(), 0.0, c.seed,
                   c.strategy_params.empty() ? nlohmann::json::object()
                                             : nlohmann::json::parse(c.strategy_params),
                   a.get()});
  // Workers build the same app from the options rank 0 settled on (stored ones on resume).
  mpi::broadcast_text(*the_session, tune_args_json(c).dump());

  tune_options o;
  o.max_iter = c.iterations;
  o.relative = c.qos_loss.has_value();
  o.qos_tuner_threshold = o.relative ? *c.qos_loss : *c.qos_min;
  if (c.keep_loss) o.qos_keep_threshold = *c.keep_loss;
  if (c.keep_min) o.qos_keep_threshold = *c.keep_min;
  o.take_best_n = c.take_best;
  o.test_configs = !c.no_test;
  o.strategy = c.strategy;
  if (!c.strategy_params.empty()) o.strategy_params = nlohmann::json::parse(c.strategy_params);
  o.seed = c.seed;
  o.batch_size = c.batch;
  o.devices = c.devices;
  o.eval_timeout_s = c.eval_timeout;
  o.progress = true;
  cli::attach_workers(*the_session, o, c.mpi);
  if (!resumed) {
    // Default batch: 2 x every slot of the run, remote ones included; stored with the run.
    const bool own_slots = o.local_slots;
    if (c.batch == 0)
      c.batch = (own_slots ? resolve_batch(c) : 0) + 2 * o.remote_slots.size();
    c.batch = std::max<std::size_t>(c.batch, 1);
  }
  o.batch_size = c.batch;
  struct workers_shutdown {
    ~workers_shutdown() {
      try {
        mpi::shutdown_workers(*the_session);
      } catch (...) {
      }
    }
  } shutdown_at_exit;

  run_info info;
  info.app_name = a->name();
  info.app_hash = a->content_hash();
  info.space_hash = a->space().fingerprint();
  info.space = describe_space(a->space());
  info.options = tune_args_json(c);
  info.seed = c.seed;
  info.strategy = c.strategy;
  info.devices = c.devices;
  info.budget = c.iterations;
  info.relative = o.relative;
  info.tuner_threshold = o.qos_tuner_threshold;
  info.keep_threshold = o.qos_keep_threshold.value_or(o.qos_tuner_threshold);

  if (resumed) {
    // Compare in today's form of the options (a field added since the run started takes its
    // default on both sides).
    tune_cli stored_form;
    tune_args_from_json(resumed->info.options, stored_form);
    resumed->info.options = tune_args_json(stored_form);
    // Options were merged above; what is left is the app itself (e.g. a model file changed).
    std::vector<std::string> may_change;
    for (const auto& f : stored_flags)
      if (f.may_change) may_change.emplace_back(f.pointer);
    const auto diffs = compare_runs(resumed->info, info, may_change);
    if (!diffs.empty()) {
      std::string m;
      for (const auto& d : diffs)
        m += (m.empty() ? "" : "; ") + d.field + " differs (stored run: " + d.stored +
             ", now: " + d.requested + ")";
      throw config_error("cannot resume run " + std::to_string(resumed->id) + " of '" +
                         file.string() + "': " + m);
    }
  }

  tuner t(*a);  // before the store: the store's error handler refers to it
  results_store store(file);
  std::int64_t run_id;
  if (resumed) {
    run_id = resumed->id;
    store.resume_run(run_id);
  } else {
    run_id = store.begin_run(info);
  }
  std::unique_ptr<store_cache> cache;
  {
    store_reader reader(file);
    const auto rec = reader.run(run_id);
    cache = std::make_unique<store_cache>(reader, *rec, !c.no_cache, &store);
  }
  if (resumed)
    log->warn("resuming run {} of '{}': {} of its results are replayed from the store{}", run_id,
              file.string(), cache->loaded_this_run(),
              cache->loaded_other_runs() > 0
                  ? ", " + std::to_string(cache->loaded_other_runs()) + " more from earlier runs"
                  : std::string());
  else if (cache->loaded_other_runs() > 0)
    log->info("config cache: {} results of earlier runs of this app in '{}'",
              cache->loaded_other_runs(), file.string());
  o.cache = cache.get();
  // The cache only needs this run's test-split results (the baseline and the front are tested
  // once each): the tuner serves a tune-split configuration it measured in this process from its
  // own results buffer before it asks the cache, so caching those too would keep a second copy
  // of every result (about 110 bytes each, 40 % of a long run's memory).
  o.on_commit = [&](std::span<const evaluation> es) {
    for (const auto& e : es)
      if (e.on == split::test) cache->add({&e, 1});
    store.record(es);
  };

  // A failing store stops the search: tuning on without persisting would risk hours of work.
  store.on_error([&t](const std::string&) { t.request_stop(); });
  active_tuner.store(&t);
  std::signal(SIGINT, on_sigint);
  std::signal(SIGTERM, on_sigint);
  try {
    t.tune(o);
  } catch (const std::exception& e) {
    active_tuner.store(nullptr);
    try {
      store.end_run(run_status::failed, e.what());
    } catch (const std::exception& se) {
      log->error("{}", se.what());
    }
    throw;
  }
  active_tuner.store(nullptr);
  // Everything measured is on disk before any output is written.
  std::string store_failure;
  try {
    store.flush();
  } catch (const store_error& e) {
    store_failure = e.what();
  }
  t.write_outputs(out);
  const auto& s = t.summary();
  if (store_failure.empty()) {
    const run_status st = !s.error.empty() ? run_status::failed
                          : s.cancelled    ? run_status::interrupted
                                           : run_status::finished;
    try {
      store.end_run(st, s.error);
    } catch (const store_error& e) {
      store_failure = e.what();
    }
  }

  std::printf("app %s: %zu ops, 10^%.1f configurations, strategy %s, seed %llu\n", a->name().c_str(),
              a->space().num_ops(), a->space().log10_size(), c.strategy.c_str(),
              static_cast<unsigned long long>(c.seed));
  std::printf("baseline qos: %.4f (tune)", t.baseline_tune_qos());
  if (t.baseline_test_qos()) std::printf(", %.4f (test)", *t.baseline_test_qos());
  std::printf("\nthreshold: qos >= %.4f (tune), >= %.4f (test)\n", t.tune_keep_threshold(),
              t.test_keep_threshold());
  std::printf("evaluations: %zu (%zu failed, %zu duplicates served from cache, %zu from the store) in %.2f s%s\n",
              s.evaluations, s.failed, s.cache_hits, s.store_hits, s.seconds,
              s.cancelled ? " [interrupted]" : "");
  if (the_session->distributed())
    std::printf("evaluations per rank: %s\n", cli::evaluations_per_rank(s).c_str());
  std::printf("kept: %zu, best: %zu", s.kept, s.best_prefilter);
  if (!c.no_test) std::printf(", passing the test split: %zu", s.best);
  std::printf("\nbest speedup within the threshold: %.3fx (tune)", s.best_speedup_tune);
  if (s.best_speedup_test) std::printf(", %.3fx (test)", *s.best_speedup_test);
  // With --cost model every speedup is a FLOP ratio, not a measurement: say so where it is read.
  if (c.app.app.rfind("dnn", 0) == 0 && c.app.cost == "model")
    std::printf(" by the FLOP cost model (approxtune dnn-report times them)");
  if (!s.strategy_report.empty()) std::printf("\nstrategy report: %s", s.strategy_report.dump().c_str());
  std::printf("\nwrote %s/configs.json, configs.txt, tradeoff.svg; results in %s (run %lld)\n",
              out.string().c_str(), file.string().c_str(), static_cast<long long>(run_id));
  if (!store_failure.empty()) {
    std::fprintf(stderr, "approxtune: error: %s (tuning stopped; the outputs were written from "
                         "the results so far)\n", store_failure.c_str());
    return 1;
  }
  if (!s.error.empty()) {
    std::fprintf(stderr, "approxtune: error: %s (the results so far were written)\n", s.error.c_str());
    return 1;
  }
  return interrupted ? 130 : 0;
}

// A worker rank: build the app rank 0 describes, then serve its evaluations.
int run_worker(const tune_cli& mine) {
  const std::string text = mpi::broadcast_text(*the_session, "");
  tune_cli c;
  tune_args_from_json(nlohmann::json::parse(text), c);
  c.app.allow_outside_paths = mine.app.allow_outside_paths;  // consent is per process, not sent
  auto a = cli::make_app(c.app, c.seed);
  return cli::serve_worker(*the_session, *a, mine.devices, mine.mpi);
}

}  // namespace

int main(int argc, char** argv) {
  // MPI first (it may rewrite argv); a single-process session without an MPI launcher.
  std::unique_ptr<mpi::session> session;
  try {
    session = std::make_unique<mpi::session>(&argc, &argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "approxtune: error: %s\n", e.what());
    return 1;
  }
  the_session = session.get();
  CLI::App cli{"approxtune: parallel, device-aware approximation tuning"};
  cli.set_version_flag("--version", std::string(APPROXTUNE_VERSION));
  cli.require_subcommand(1);
  int verbosity = 0;
  bool quiet = false;
  cli.add_flag("-v,--verbose", verbosity, "More log output (-vv for debug)");
  cli.add_flag("-q,--quiet", quiet, "Only warnings and errors");

  tune_cli tc;
  auto* tune = cli.add_subcommand("tune", "Tune an app and write configs.json, configs.txt, tradeoff.svg");
  cli::add_app_options(tune, tc.app);
  tune->add_option("--iterations,-n", tc.iterations, "Budget of unique evaluations (baseline included)")->capture_default_str()->check(CLI::Range(std::size_t{1}, std::size_t{1} << 40));
  auto* loss = tune->add_option("--qos-loss", tc.qos_loss, "Tuner threshold as a QoS loss relative to the baseline");
  auto* qmin = tune->add_option("--qos-min", tc.qos_min, "Tuner threshold as an absolute QoS");
  loss->excludes(qmin);
  tune->add_option("--keep-loss", tc.keep_loss, "Keep threshold as a loss (default: --qos-loss)");
  tune->add_option("--keep-min", tc.keep_min, "Keep threshold as an absolute QoS (default: --qos-min)");
  tune->add_option("--take-best", tc.take_best, "Keep N configs near the front instead of exactly the front")->check(CLI::Range(std::size_t{1}, std::size_t{1} << 40));
  tune->add_flag("--no-test", tc.no_test, "Skip the test-split phase");
  tune->add_option("--strategy", tc.strategy, "Search strategy (see 'approxtune strategies')")->capture_default_str();
  tune->add_option("--strategy-params", tc.strategy_params,
                   "Strategy options as a JSON object, e.g. '{\"validate\": 50}' (see the strategy's docs)");
  tune->add_option("--seed", tc.seed, "Seed of the search (and of the synthetic app)")->capture_default_str();
  tune->add_option("--batch", tc.batch, "Candidates per round (default 2 x slots); results depend on it, not on the slot count");
  tune->add_option("--devices", tc.devices, "Devices and slots, e.g. cpu:2 or cuda:0:2,cuda:1:2 (default: all)");
  tune->add_option("--eval-timeout", tc.eval_timeout, "Per-evaluation timeout in seconds")->check(CLI::PositiveNumber);
  tune->add_option("--out,-o", tc.out, "Output folder")->required();
  tune->add_flag("--overwrite", tc.overwrite, "Replace a previous run in --out (its outputs and results store)");
  tune->add_flag("--resume", tc.resume,
                 "Continue the run stored in --out after a crash or kill (options left out take "
                 "the stored values)");
  tune->add_flag("--new-run", tc.new_run,
                 "Start another run in --out's results store (its earlier results serve the cache)");
  tune->add_option("--mpi-worker-timeout", tc.mpi.worker_timeout_s,
                   "Under mpirun: a worker rank silent this long (seconds) ends the job")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  tune->add_option("--mpi-prefetch", tc.mpi.prefetch,
                   "Under mpirun: candidates in flight per worker slot (2 hides the message "
                   "round trip; 1 gives a slow rank the least work)")
      ->capture_default_str()
      ->check(CLI::Range(1, 16));
  tune->add_flag("--coordinator-only", tc.mpi.coordinator_only,
                 "Under mpirun: rank 0 runs the search and the store but evaluates nothing");
  tune->add_flag("--no-cache", tc.no_cache,
                 "Measure every configuration again instead of reusing earlier runs' results "
                 "(a resumed run still replays its own)");

  cli::show_args show_a;
  auto* show = cli::add_show_command(cli, show_a);
  cli::export_args export_a;
  auto* exp = cli::add_export_command(cli, export_a);
  auto run_dnn_command = cli::add_dnn_commands(cli);

  auto* strategies = cli.add_subcommand("strategies", "List the search strategies");
  auto* devices = cli.add_subcommand("devices", "List the devices approxtune can evaluate on");

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e);
  }

  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  auto log = std::make_shared<spdlog::logger>("approxtune", sink);
  log->set_level(quiet ? spdlog::level::warn
                       : verbosity >= 2 ? spdlog::level::debug
                                        : verbosity == 1 ? spdlog::level::info : spdlog::level::warn);
  log->set_pattern("[%H:%M:%S] [%^%l%$] %v");
  set_logger(log);

  try {
    if (*tune && session->rank() > 0) {
      set_logger(log);
      return run_worker(tc);
    }
    if (*tune) return run_tune(tc, *tune);
    if (*show) return cli::run_show(show_a);
    if (*exp) return cli::run_export(export_a);
    if (auto rc = run_dnn_command()) return *rc;
    if (*strategies) {
      for (const auto& n : search::strategy_names()) std::printf("%s\n", n.c_str());
      return 0;
    }
    if (*devices) {
      for (const auto& d : discover_devices()) {
        std::printf("%-8s %-4s %s, default slots %d", d.id.c_str(), d.kind.c_str(), d.name.c_str(),
                    d.default_slots);
        if (d.kind == "gpu")
          std::printf(", %.1f GiB, compute %d.%d", static_cast<double>(d.memory_bytes) / (1 << 30),
                      d.compute_major, d.compute_minor);
        std::printf("\n");
      }
      return 0;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "approxtune: error: %s%s\n",
                 session->distributed() ? ("rank " + std::to_string(session->rank()) + ": ").c_str() : "",
                 e.what());
    // Other ranks may be waiting on this one: end the whole job (everything rank 0 committed
    // is already in the store).
    if (session->distributed()) session->abort(1);
    return 1;
  }
  return 0;
}
