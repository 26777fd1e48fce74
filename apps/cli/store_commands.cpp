#include "store_commands.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>

#include "approxtune/runtime/error.hpp"
#include "approxtune/runtime/outputs.hpp"
#include "approxtune/runtime/store.hpp"
#include "approxtune/search/pareto.hpp"

namespace fs = std::filesystem;

namespace approxtune::cli {

namespace {

template <class T>
nlohmann::json opt(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string utc(double t) {
  const auto secs = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string duration(double s) {
  char buf[48];
  if (s < 120)
    std::snprintf(buf, sizeof buf, "%.1f s", s);
  else if (s < 7200)
    std::snprintf(buf, sizeof buf, "%.1f min", s / 60);
  else
    std::snprintf(buf, sizeof buf, "%.1f h", s / 3600);
  return buf;
}

// Everything `show` and `export` say about a run, computed from its stored rows.
struct run_view {
  run_record run;
  run_progress progress;
  run_points pts;
  bool writer_active = false;
  std::optional<double> base_qos, base_cost;
  config_code base_code;
  double tuner_abs = 0.0, keep_abs = 0.0;
  std::vector<std::size_t> front;   // indices into pts: highest speedup first
  std::optional<std::size_t> best;  // highest speedup with qos >= the tuner threshold

  double speedup(std::size_t i) const { return *base_cost / pts.cost[i]; }
};

run_view load_view(store_reader& reader, std::optional<std::int64_t> run_id, bool writer_active) {
  run_view v;
  auto r = run_id ? reader.run(*run_id) : reader.latest_run();
  if (!r)
    throw store_error(run_id ? "results store '" + reader.file().string() + "' has no run " +
                                   std::to_string(*run_id)
                             : "results store '" + reader.file().string() + "' has no run yet");
  v.run = std::move(*r);
  v.writer_active = writer_active;
  v.progress = reader.progress(v.run.id);
  v.pts = reader.points(v.run.id);
  if (v.pts.baseline) {
    const std::size_t b = *v.pts.baseline;
    v.base_qos = v.pts.qos[b];
    v.base_cost = v.pts.cost[b];
    v.base_code = reader.evaluations(std::span(&v.pts.ids[b], 1))[0].code;
  }
  const auto& in = v.run.info;
  if (in.relative && v.base_qos) {
    v.tuner_abs = *v.base_qos - in.tuner_threshold;
    v.keep_abs = *v.base_qos - in.keep_threshold;
  } else {
    v.tuner_abs = in.tuner_threshold;
    v.keep_abs = in.keep_threshold;
  }
  if (!v.base_cost || !(*v.base_cost > 0.0)) return v;
  // Pareto front of the kept configs (tune split, ok, qos >= keep threshold).
  std::vector<std::size_t> kept;
  std::vector<double> kq, ks;
  for (std::size_t i = 0; i < v.pts.ids.size(); ++i) {
    if (!v.pts.ok[i]) continue;
    const double s = v.speedup(i);
    if (v.pts.qos[i] >= v.tuner_abs && (!v.best || s > v.speedup(*v.best))) v.best = i;
    if (v.pts.qos[i] >= v.keep_abs) {
      kept.push_back(i);
      kq.push_back(v.pts.qos[i]);
      ks.push_back(s);
    }
  }
  for (auto i : search::pareto_front(kq, ks)) v.front.push_back(kept[i]);
  return v;
}

// "op=knob" for the ops where @p code differs from the baseline; "baseline" when none does.
std::string short_knobs(const nlohmann::json& space, const config_code& code,
                        const config_code& base) {
  std::string out;
  for (std::size_t i = 0; i < code.size(); ++i) {
    if (i < base.size() && code[i] == base[i]) continue;
    if (!out.empty()) out += ' ';
    out += space[i].at("op").get<std::string>() + "=" +
           space[i].at("knobs")[code[i]].get<std::string>();
  }
  return out.empty() ? "baseline" : out;
}

nlohmann::json run_json(const run_record& r) {
  return {{"id", r.id},
          {"app", r.info.app_name},
          {"app_hash", r.info.app_hash},
          {"space_hash", r.info.space_hash},
          {"ops", r.info.space.size()},
          {"options", r.info.options},
          {"seed", r.info.seed},
          {"strategy", r.info.strategy},
          {"devices", r.info.devices},
          {"budget", r.info.budget},
          {"relative", r.info.relative},
          {"tuner_threshold", r.info.tuner_threshold},
          {"keep_threshold", r.info.keep_threshold},
          {"version", r.version},
          {"status", to_string(r.status)},
          {"started_at", r.started_at},
          {"updated_at", r.updated_at},
          {"ended_at", opt(r.ended_at)},
          {"resumes", r.resumes},
          {"message", r.message}};
}

void print_view(store_reader& reader, const run_view& v, const show_args& a) {
  const auto& r = v.run;
  const auto& in = r.info;
  const double now = unix_now();
  const auto& p = v.progress;
  std::vector<stored_evaluation> front_rows;
  const std::size_t shown = a.json ? v.front.size() : std::min(v.front.size(), a.front_rows);
  {
    std::vector<std::int64_t> ids;
    for (std::size_t k = 0; k < shown; ++k) ids.push_back(v.pts.ids[v.front[k]]);
    front_rows = reader.evaluations(ids);
  }
  if (a.json) {
    nlohmann::json j;
    j["store"] = reader.file().string();
    j["run"] = run_json(r);
    j["writer_active"] = v.writer_active;
    j["progress"] = {{"tune_evaluations", p.tune_evaluations},
                     {"test_evaluations", p.test_evaluations},
                     {"failed", p.failed},
                     {"from_earlier_runs", p.cached},
                     {"first_at", p.first_at},
                     {"last_at", p.last_at}};
    j["baseline"] = {{"qos", opt(v.base_qos)}, {"cost", opt(v.base_cost)}};
    j["thresholds"] = {{"tuner", v.tuner_abs}, {"keep", v.keep_abs}};
    j["best_speedup"] = v.best ? nlohmann::json(v.speedup(*v.best)) : nlohmann::json(nullptr);
    auto fr = nlohmann::json::array();
    for (std::size_t k = 0; k < front_rows.size(); ++k) {
      const auto i = v.front[k];
      fr.push_back({{"id", v.pts.ids[i]},
                    {"qos", v.pts.qos[i]},
                    {"speedup", v.speedup(i)},
                    {"knobs", decode_with(in.space, front_rows[k].code)}});
    }
    j["front"] = std::move(fr);
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  std::size_t knobs = 0;
  for (const auto& o : in.space) knobs += o.at("knobs").size();
  std::printf("run %lld of %s: app %s (%zu ops, %zu knobs), strategy %s, seed %llu, devices %s\n",
              static_cast<long long>(r.id), reader.file().string().c_str(), in.app_name.c_str(),
              in.space.size(), knobs, in.strategy.c_str(), static_cast<unsigned long long>(in.seed),
              in.devices.empty() ? "all" : in.devices.c_str());
  std::string status = to_string(r.status);
  if (r.status == run_status::running)
    status += v.writer_active
                  ? " (writer active)"
                  : " (no process is writing it: it was killed, or stopped on a store error; "
                    "continue it with 'approxtune tune --out DIR --resume')";
  std::printf("status: %s; started %s, last write %s ago", status.c_str(),
              utc(r.started_at).c_str(), duration(std::max(0.0, now - r.updated_at)).c_str());
  if (r.resumes > 0) std::printf(", resumed %d time%s", r.resumes, r.resumes == 1 ? "" : "s");
  std::printf("\n");
  if (!r.message.empty()) std::printf("message: %s\n", r.message.c_str());
  std::printf("progress: %zu/%zu tune evaluations (%.1f%%), %zu failed, %zu test evaluations",
              p.tune_evaluations, in.budget,
              in.budget > 0
                  ? 100.0 * static_cast<double>(p.tune_evaluations) / static_cast<double>(in.budget)
                  : 0.0,
              p.failed, p.test_evaluations);
  if (p.cached > 0) std::printf(", %zu served from earlier runs", p.cached);
  if (p.last_at > p.first_at)
    std::printf("; %.1f/s", static_cast<double>(p.tune_evaluations + p.test_evaluations) /
                                (p.last_at - p.first_at));
  std::printf("\n");
  if (!v.base_qos) {
    std::printf("baseline: not measured yet\n");
    return;
  }
  std::printf("baseline: qos %.4f, cost %.6g\n", *v.base_qos, *v.base_cost);
  std::printf("threshold: qos >= %.4f", v.tuner_abs);
  if (in.relative) std::printf(" (loss %g)", in.tuner_threshold);
  if (v.keep_abs != v.tuner_abs) std::printf(", keeping qos >= %.4f", v.keep_abs);
  std::printf("\n");
  if (v.best)
    std::printf("best speedup within the threshold: %.3fx (qos %.4f)\n", v.speedup(*v.best),
                v.pts.qos[*v.best]);
  else
    std::printf("best speedup within the threshold: none yet\n");
  std::printf("front: %zu configs (highest speedup first%s)\n", v.front.size(),
              shown < v.front.size() ? (", first " + std::to_string(shown)).c_str() : "");
  if (shown > 0) std::printf("  %9s  %10s  %s\n", "speedup", "qos", "knobs (ops not at baseline)");
  for (std::size_t k = 0; k < front_rows.size(); ++k) {
    const auto i = v.front[k];
    std::printf("  %8.3fx  %10.4f  %s\n", v.speedup(i), v.pts.qos[i],
                short_knobs(in.space, front_rows[k].code, v.base_code).c_str());
  }
}

// Test-split QoS per config hash (the rows of the run's test phase), for exports.
std::unordered_map<std::uint64_t, std::vector<stored_evaluation>> test_rows(store_reader& reader,
                                                                            std::int64_t run) {
  std::unordered_map<std::uint64_t, std::vector<stored_evaluation>> out;
  reader.for_each(run, [&](const stored_evaluation& e) {
    if (e.on == split::test) out[e.hash].push_back(e);
    return true;
  });
  return out;
}

std::optional<double> test_qos_of(
    const std::unordered_map<std::uint64_t, std::vector<stored_evaluation>>& tests,
    const stored_evaluation& e) {
  auto it = tests.find(e.hash);
  if (it == tests.end()) return std::nullopt;
  for (const auto& t : it->second)
    if (t.code == e.code && t.status == eval_status::ok) return t.qos;
  return std::nullopt;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string number(double v) {
  if (std::isnan(v)) return "";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace

nlohmann::json app_args_to_json(const app_args& a) {
  return {{"app", a.app},
          {"ops", a.ops},
          {"knobs", a.knobs},
          {"app_seed", opt(a.app_seed)},
          {"eval_latency_ms", a.eval_latency_ms},
          {"interaction", a.interaction},
          {"models_dir", a.models_dir},
          {"data_dir", a.data_dir},
          {"tune_images", a.tune_images},
          {"test_images", a.test_images},
          {"timing_images", a.timing_images},
          {"timing_repeats", a.timing_repeats},
          {"cost", a.cost},
          {"device", a.device},
          {"dnn_batch", a.dnn_batch},
          {"prefix_cache_mb", a.prefix_cache_mb}};
}

app_args app_args_from_json(const nlohmann::json& j) {
  app_args a;
  if (!j.is_object()) throw store_error("the app options stored with the run are not a JSON object");
  // A store may have been edited by hand: a field of the wrong type is named.
  const auto field = [&j](const char* key, auto& out) { stored_field(j, key, out, "app option"); };
  field("app", a.app);
  field("ops", a.ops);
  field("knobs", a.knobs);
  if (j.contains("app_seed") && !j.at("app_seed").is_null()) {
    std::uint64_t seed = 0;
    field("app_seed", seed);
    a.app_seed = seed;
  }
  field("eval_latency_ms", a.eval_latency_ms);
  field("interaction", a.interaction);
  field("models_dir", a.models_dir);
  field("data_dir", a.data_dir);
  field("tune_images", a.tune_images);
  field("test_images", a.test_images);
  field("timing_images", a.timing_images);
  field("timing_repeats", a.timing_repeats);
  field("cost", a.cost);
  field("device", a.device);
  field("dnn_batch", a.dnn_batch);
  field("prefix_cache_mb", a.prefix_cache_mb);
  return a;
}

app_args stored_app_args(const nlohmann::json& options) {
  if (!options.is_object()) throw store_error("the options stored with the run are not a JSON object");
  return app_args_from_json(options.value("app", nlohmann::json::object()));
}

CLI::App* add_show_command(CLI::App& cli, show_args& a) {
  auto* c =
      cli.add_subcommand("show", "Progress, best speedup and front of a run (live or finished)");
  c->add_option("dir", a.dir, "Run folder (holding results.db)")->required();
  c->add_option("--run", a.run, "Run id (default: the latest run of the store)");
  c->add_flag("--json", a.json, "Machine-readable output");
  c->add_option("--watch", a.watch_s, "Refresh every N seconds while the run is being written")
      ->check(CLI::NonNegativeNumber);
  c->add_option("--front", a.front_rows, "Front rows to print")->capture_default_str();
  return c;
}

CLI::App* add_export_command(CLI::App& cli, export_args& a) {
  auto* c = cli.add_subcommand("export", "Export a run's evaluations or front from its store");
  c->add_option("dir", a.dir, "Run folder (holding results.db)")->required();
  c->add_option("--format", a.format, "json, csv or hpvm")
      ->check(CLI::IsMember({"json", "csv", "hpvm"}))
      ->capture_default_str();
  c->add_option("--what", a.what,
                "all (every evaluation) or front (the Pareto front within the keep threshold); "
                "default: all for json/csv, front for hpvm")
      ->check(CLI::IsMember({"all", "front"}));
  c->add_option("--run", a.run, "Run id (default: the latest run of the store)");
  c->add_option("--output,-o", a.output, "Output file (default: standard output)");
  c->add_flag("--allow-outside-paths", a.allow_outside_paths,
              "hpvm: rebuild the run's app from the --models-dir/--data-dir stored with it");
  return c;
}

int run_show(const show_args& a) {
  const fs::path file = store_file(a.dir);
  for (;;) {
    // Probe the writer lock before opening: a reader never takes it, so this never blocks.
    const bool active = store_writer_active(file);
    {
      store_reader reader(file);
      const run_view v = load_view(reader, a.run, active);
      print_view(reader, v, a);
      if (a.watch_s <= 0.0 || v.run.status != run_status::running || !active) return 0;
    }
    std::fflush(stdout);
    std::this_thread::sleep_for(std::chrono::duration<double>(a.watch_s));
    std::printf("\n");
  }
}

int run_export(const export_args& a) {
  const fs::path file = store_file(a.dir);
  store_reader reader(file);
  const run_view v = load_view(reader, a.run, false);
  const auto& in = v.run.info;
  const std::string what = !a.what.empty() ? a.what : a.format == "hpvm" ? "front" : "all";
  if (a.format == "hpvm" && what != "front")
    throw config_error("--format hpvm exports the front only (HPVM configurations)");

  std::ofstream file_out;
  std::ostream* out = &std::cout;
  const bool to_file = !a.output.empty() && a.output != "-";
  std::string buffer_text;  // hpvm is small: written atomically
  if (to_file && a.format != "hpvm") {
    file_out.open(a.output, std::ios::binary);
    if (!file_out) throw config_error("cannot write the export file '" + a.output + "'");
    out = &file_out;
  }
  const auto tests = test_rows(reader, v.run.id);

  auto write_row = [&](const stored_evaluation& e, bool first) {
    const bool ok = e.status == eval_status::ok;
    const double rel = ok && v.base_cost ? e.cost / *v.base_cost : std::nan("");
    const knob_map knobs = decode_with(in.space, e.code);
    if (a.format == "json") {
      nlohmann::json j = {
          {"id", e.id},
          {"split", to_string(e.on)},
          {"status", ok ? "ok" : "failed"},
          {"knobs", knobs},
          {"qos", ok ? nlohmann::json(e.qos) : nlohmann::json(nullptr)},
          {"cost", ok ? nlohmann::json(e.cost) : nlohmann::json(nullptr)},
          {"relative_cost", ok && v.base_cost ? nlohmann::json(rel) : nlohmann::json(nullptr)},
          {"speedup", ok && v.base_cost ? nlohmann::json(1.0 / rel) : nlohmann::json(nullptr)},
          {"reason", e.reason},
          {"device", e.device},
          {"slot", e.slot},
          {"from_earlier_run", e.cached},
          {"at", e.at}};
      if (e.on == split::tune) j["test_qos"] = opt(test_qos_of(tests, e));
      *out << (first ? "\n    " : ",\n    ") << j.dump();
    } else {
      *out << e.id << ',' << to_string(e.on) << ',' << (ok ? "ok" : "failed") << ','
           << number(ok ? e.qos : std::nan("")) << ',' << number(ok ? e.cost : std::nan("")) << ','
           << number(rel) << ',' << number(1.0 / rel) << ',' << csv_field(e.device) << ',' << e.slot
           << ',' << (e.cached ? 1 : 0) << ',' << number(e.at) << ',' << csv_field(e.reason);
      for (const auto& o : in.space)
        *out << ',' << csv_field(knobs.at(o.at("op").get<std::string>()));
      *out << '\n';
    }
  };

  std::vector<std::int64_t> front_ids;
  for (auto i : v.front) front_ids.push_back(v.pts.ids[i]);

  if (a.format == "hpvm") {
    // Rebuild the app from the stored options: HPVM lines are the app's business.
    auto args = stored_app_args(in.options);
    // Folders named in the store are followed only with the user's consent.
    for (const auto& [flag, dir] : {std::pair{"--models-dir", args.models_dir}, std::pair{"--data-dir", args.data_dir}})
      if (!dir.empty() && !a.allow_outside_paths)
        throw config_error("run " + std::to_string(v.run.id) + " of '" + file.string() +
                           "' was started with " + flag + " '" + dir +
                           "' (stored in the results store); approxtune does not follow a folder "
                           "named in a file without your consent: pass --allow-outside-paths");
    args.allow_outside_paths = a.allow_outside_paths;
    auto app = make_app(args, in.seed);
    if (app->space().fingerprint() != in.space_hash)
      throw store_error("the app rebuilt from the options stored in '" + file.string() +
                        "' has a different knob space than the stored run; cannot write HPVM "
                        "configurations");
    tuning_report rep;
    rep.app_name = in.app_name;
    rep.relative = in.relative;
    rep.tuner_threshold_given = in.tuner_threshold;
    rep.keep_threshold_given = in.keep_threshold;
    rep.tuner_threshold = v.tuner_abs;
    rep.tune_keep_threshold = rep.test_keep_threshold = v.keep_abs;
    if (!v.base_qos) throw store_error("the run in '" + file.string() + "' has no baseline yet");
    rep.baseline_tune_qos = *v.base_qos;
    rep.baseline_cost = *v.base_cost;
    stored_evaluation base;
    base.code = v.base_code;
    base.hash = hash_config(v.base_code);
    rep.baseline_test_qos = test_qos_of(tests, base);
    if (in.relative && rep.baseline_test_qos)
      rep.test_keep_threshold = *rep.baseline_test_qos - in.keep_threshold;
    std::vector<config> configs;
    for (const auto& e : reader.evaluations(front_ids))
      configs.push_back(config{decode_with(in.space, e.code), e.qos, e.cost / *v.base_cost,
                               test_qos_of(tests, e)});
    const std::string text = hpvm_configs(
        rep, configs, [&](const knob_map& k) { return app->hpvm_lines(app->encode(k)); });
    if (to_file)
      atomic_write(a.output, text);
    else
      std::cout << text;
    return 0;
  }

  if (a.format == "json") {
    nlohmann::json head = {{"schema", "approxtune.store-export"},
                           {"version", 1},
                           {"store", file.string()},
                           {"run", run_json(v.run)},
                           {"baseline", {{"qos", opt(v.base_qos)}, {"cost", opt(v.base_cost)}}},
                           {"thresholds", {{"tuner", v.tuner_abs}, {"keep", v.keep_abs}}},
                           {"what", what}};
    std::string h = head.dump(2);
    h.pop_back();  // the closing brace: the evaluations follow, streamed
    while (!h.empty() && h.back() == '\n') h.pop_back();
    *out << h << ",\n  \"evaluations\": [";
  } else {
    *out << "id,split,status,qos,cost,relative_cost,speedup,device,slot,from_earlier_run,at,reason";
    for (const auto& o : in.space) *out << ',' << csv_field(o.at("op").get<std::string>());
    *out << '\n';
  }
  bool first = true;
  if (what == "front") {
    for (const auto& e : reader.evaluations(front_ids)) {
      write_row(e, first);
      first = false;
    }
  } else {
    reader.for_each(v.run.id, [&](const stored_evaluation& e) {
      write_row(e, first);
      first = false;
      return true;
    });
  }
  if (a.format == "json") *out << (first ? "]\n}\n" : "\n  ]\n}\n");
  out->flush();
  if (!*out)
    throw config_error("writing the export failed" +
                       (to_file ? " ('" + a.output + "')" : std::string()));
  return 0;
}

}  // namespace approxtune::cli
