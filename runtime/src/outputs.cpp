#include "approxtune/runtime/outputs.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <random>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "approxtune/runtime/error.hpp"

namespace approxtune {

namespace fs = std::filesystem;
using nlohmann::json;

void atomic_write(const fs::path& file, const std::string& content) {
  const fs::path dir = file.has_parent_path() ? file.parent_path() : fs::path(".");
  std::error_code ec;
  fs::create_directories(dir, ec);
  // Unique temp name in the same folder so rename() is atomic on POSIX file systems.
  std::random_device rd;
  const fs::path tmp = dir / ("." + file.filename().string() + ".tmp" + std::to_string(::getpid()) +
                              "." + std::to_string(rd()));
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw error("cannot write '" + file.string() + "': cannot create a file in '" +
                          dir.string() + "'");
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.flush();
    if (!out) {
      out.close();
      fs::remove(tmp, ec);
      throw error("cannot write '" + file.string() + "' (disk full?)");
    }
  }
  fs::rename(tmp, file, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw error("cannot write '" + file.string() + "': rename failed");
  }
}

namespace {

json opt_json(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

json config_json(const config& c) {
  return {{"knobs", c.knobs},
          {"qos", c.qos},
          {"test_qos", opt_json(c.test_qos)},
          {"cost", c.cost},
          {"speedup", c.speedup()}};
}

}  // namespace

std::string configs_json(const tuning_report& r, const std::vector<config>& configs) {
  json j;
  j["schema"] = "approxtune.configs";
  j["version"] = 1;
  j["app"] = r.app_name;
  j["thresholds"] = {{"relative", r.relative},
                     {"tuner", {{"given", r.tuner_threshold_given}, {"absolute", r.tuner_threshold}}},
                     {"keep",
                      {{"given", r.keep_threshold_given},
                       {"tune_absolute", r.tune_keep_threshold},
                       {"test_absolute", r.test_keep_threshold}}}};
  j["baseline"] = {{"tune_qos", r.baseline_tune_qos},
                   {"test_qos", opt_json(r.baseline_test_qos)},
                   {"cost", r.baseline_cost}};
  j["configs"] = json::array();
  for (const auto& c : configs) j["configs"].push_back(config_json(c));
  return j.dump(2) + "\n";
}

tuning_report read_configs_json(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw config_error("cannot open '" + file.string() + "'");
  const std::string where = "'" + file.string() + "'";
  json j;
  // JSON keeps the last of duplicate keys silently; a file giving one op two knobs is refused.
  std::vector<std::set<std::string>> keys;
  const json::parser_callback_t no_duplicates = [&](int, json::parse_event_t ev, json& v) {
    if (ev == json::parse_event_t::object_start) keys.emplace_back();
    if (ev == json::parse_event_t::object_end && !keys.empty()) keys.pop_back();
    if (ev == json::parse_event_t::key && !keys.empty() && !keys.back().insert(v.get<std::string>()).second)
      throw config_error(where + ": key '" + v.get<std::string>() + "' appears twice in one object");
    return true;
  };
  try {
    j = json::parse(in, no_duplicates);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for numbers like 1e999
    throw config_error(where + " is not valid JSON: " + e.what());
  }
  auto need = [&](const json& obj, const char* key, const std::string& path) -> const json& {
    if (!obj.is_object() || !obj.contains(key))
      throw config_error(where + ": missing field '" + path + key + "'");
    return obj.at(key);
  };
  auto num = [&](const json& obj, const char* key, const std::string& path) {
    const json& v = need(obj, key, path);
    if (!v.is_number()) throw config_error(where + ": field '" + path + key + "' must be a number");
    const double d = v.get<double>();
    if (!std::isfinite(d)) throw config_error(where + ": field '" + path + key + "' is not finite");
    return d;
  };
  auto opt_num = [&](const json& obj, const char* key, const std::string& path) -> std::optional<double> {
    const json& v = need(obj, key, path);
    if (v.is_null()) return std::nullopt;
    return num(obj, key, path);
  };
  // Compared as JSON: value("schema", "") would throw json's type_error for a non-string schema.
  if (!j.is_object() || !j.contains("schema") || j.at("schema") != "approxtune.configs")
    throw config_error(where + " is not an approxtune configs file (schema field missing or wrong)");
  const json& ver = need(j, "version", "");
  if (!ver.is_number_integer() || ver.get<int>() != 1)
    throw config_error(where + ": unsupported configs schema version " + ver.dump() + " (expected 1)");
  tuning_report r;
  const json& app = need(j, "app", "");
  if (!app.is_string()) throw config_error(where + ": field 'app' must be a string");
  r.app_name = app.get<std::string>();
  const json& th = need(j, "thresholds", "");
  const json& rel = need(th, "relative", "thresholds.");
  if (!rel.is_boolean()) throw config_error(where + ": field 'thresholds.relative' must be true or false");
  r.relative = rel.get<bool>();
  r.tuner_threshold_given = num(need(th, "tuner", "thresholds."), "given", "thresholds.tuner.");
  r.tuner_threshold = num(th.at("tuner"), "absolute", "thresholds.tuner.");
  const json& keep = need(th, "keep", "thresholds.");
  r.keep_threshold_given = num(keep, "given", "thresholds.keep.");
  r.tune_keep_threshold = num(keep, "tune_absolute", "thresholds.keep.");
  r.test_keep_threshold = num(keep, "test_absolute", "thresholds.keep.");
  const json& base = need(j, "baseline", "");
  r.baseline_tune_qos = num(base, "tune_qos", "baseline.");
  r.baseline_test_qos = opt_num(base, "test_qos", "baseline.");
  r.baseline_cost = num(base, "cost", "baseline.");
  const json& cs = need(j, "configs", "");
  if (!cs.is_array()) throw config_error(where + ": field 'configs' must be an array");
  for (std::size_t i = 0; i < cs.size(); ++i) {
    const std::string path = "configs[" + std::to_string(i) + "].";
    const json& cj = cs[i];
    config c;
    const json& knobs = need(cj, "knobs", path);
    if (!knobs.is_object()) throw config_error(where + ": field '" + path + "knobs' must be an object");
    for (auto it = knobs.begin(); it != knobs.end(); ++it) {
      if (!it.value().is_string())
        throw config_error(where + ": knob of op '" + it.key() + "' in " + path + "knobs must be a string");
      c.knobs.emplace(it.key(), it.value().get<std::string>());
    }
    c.qos = num(cj, "qos", path);
    c.test_qos = opt_num(cj, "test_qos", path);
    c.cost = num(cj, "cost", path);
    if (!(c.cost > 0.0)) throw config_error(where + ": field '" + path + "cost' must be > 0");
    r.best.push_back(std::move(c));
  }
  return r;
}

std::string hpvm_configs(const tuning_report& r, const std::vector<config>& configs,
                         const std::function<std::vector<std::string>(const knob_map&)>& lines) {
  std::ostringstream os;
  os << std::setprecision(6);
  os << r.baseline_cost << "\n";
  auto block = [&](std::size_t i, const config& c) {
    os << "+++++\n";
    os << "conf" << i << " " << c.speedup() << " 0 " << c.qos << " " << (r.baseline_tune_qos - c.qos)
       << "\n";
    for (const auto& l : lines(c.knobs)) os << l << "\n";
    os << "-----\n";
  };
  config base;  // all-baseline: an empty (abbreviated) knob map
  base.qos = r.baseline_tune_qos;
  base.cost = 1.0;
  block(1, base);
  std::vector<const config*> sorted;
  for (const auto& c : configs) sorted.push_back(&c);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const config* a, const config* b) { return a->speedup() < b->speedup(); });
  std::size_t i = 2;
  for (const auto* c : sorted) block(i++, *c);
  return os.str();
}

// ---- tradeoff.svg --------------------------------------------------------------------------
// Hand-written SVG: Debian has no C++ plotting library (no matplot++), and gnuplot would add a
// run-time dependency on an external program for two scatter plots.
namespace {

struct series {
  std::string label, color;
  std::vector<std::pair<double, double>> pts;  // (x = QoS loss, y = speedup)
};

struct vline {
  double x;
  std::string label, color;
};

std::vector<double> nice_ticks(double lo, double hi, int target = 6) {
  if (!(hi > lo)) hi = lo + 1.0;
  const double raw = (hi - lo) / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  std::vector<double> t;
  for (double v = std::ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    t.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
  return t;
}

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<') o += "&lt;";
    else if (c == '>') o += "&gt;";
    else if (c == '&') o += "&amp;";
    else o += c;
  }
  return o;
}

void panel(std::ostringstream& os, double ox, double oy, double w, double h, const std::string& title,
           const std::string& xlabel, const std::vector<series>& ss, const std::vector<vline>& lines,
           bool connect) {
  const double ml = 64, mr = 16, mt = 34, mb = 52;
  const double pw = w - ml - mr, ph = h - mt - mb;
  double xmin = 0.0, xmax = 0.0, ymin = 1.0, ymax = 1.0;
  bool any = false;
  for (const auto& s : ss)
    for (auto [x, y] : s.pts) {
      xmin = std::min(xmin, x);
      xmax = std::max(xmax, x);
      ymax = std::max(ymax, y);
      ymin = std::min(ymin, y);
      any = true;
    }
  for (const auto& l : lines) {
    xmin = std::min(xmin, l.x);
    xmax = std::max(xmax, l.x);
  }
  const double xpad = (xmax - xmin) * 0.05 + 1e-9, ypad = (ymax - ymin) * 0.05 + 0.02;
  xmin -= xpad;
  xmax += xpad;
  ymin = std::max(0.0, ymin - ypad);
  ymax += ypad;
  auto X = [&](double x) { return ox + ml + (x - xmin) / (xmax - xmin) * pw; };
  auto Y = [&](double y) { return oy + mt + ph - (y - ymin) / (ymax - ymin) * ph; };
  os << "<text x='" << ox + w / 2 << "' y='" << oy + 20
     << "' text-anchor='middle' font-size='15' font-weight='bold'>" << esc(title) << "</text>\n";
  os << "<rect x='" << ox + ml << "' y='" << oy + mt << "' width='" << pw << "' height='" << ph
     << "' fill='white' stroke='#333'/>\n";
  for (double t : nice_ticks(xmin, xmax)) {
    os << "<line x1='" << X(t) << "' y1='" << oy + mt << "' x2='" << X(t) << "' y2='" << oy + mt + ph
       << "' stroke='#e5e5e5'/>\n";
    os << "<text x='" << X(t) << "' y='" << oy + mt + ph + 16 << "' text-anchor='middle' font-size='11'>"
       << t << "</text>\n";
  }
  for (double t : nice_ticks(ymin, ymax)) {
    os << "<line x1='" << ox + ml << "' y1='" << Y(t) << "' x2='" << ox + ml + pw << "' y2='" << Y(t)
       << "' stroke='#e5e5e5'/>\n";
    os << "<text x='" << ox + ml - 6 << "' y='" << Y(t) + 4 << "' text-anchor='end' font-size='11'>" << t
       << "</text>\n";
  }
  os << "<text x='" << ox + ml + pw / 2 << "' y='" << oy + h - 12
     << "' text-anchor='middle' font-size='13'>" << esc(xlabel) << "</text>\n";
  os << "<text transform='translate(" << ox + 18 << "," << oy + mt + ph / 2
     << ") rotate(-90)' text-anchor='middle' font-size='13'>Speedup (x)</text>\n";
  for (const auto& l : lines) {
    os << "<line x1='" << X(l.x) << "' y1='" << oy + mt << "' x2='" << X(l.x) << "' y2='" << oy + mt + ph
       << "' stroke='" << l.color << "' stroke-dasharray='6,4' stroke-width='1.5'/>\n";
    os << "<text transform='translate(" << X(l.x) - 4 << "," << oy + mt + ph / 2
       << ") rotate(-90)' text-anchor='middle' font-size='11' fill='" << l.color << "'>" << esc(l.label)
       << "</text>\n";
  }
  for (const auto& s : ss) {
    auto pts = s.pts;
    if (connect) {
      std::sort(pts.begin(), pts.end());
      if (pts.size() > 1) {
        os << "<polyline fill='none' stroke='" << s.color << "' stroke-width='1' points='";
        for (auto [x, y] : pts) os << X(x) << "," << Y(y) << " ";
        os << "'/>\n";
      }
    }
    for (auto [x, y] : pts)
      os << "<circle cx='" << X(x) << "' cy='" << Y(y) << "' r='3' fill='" << s.color
         << "' fill-opacity='0.7'/>\n";
  }
  double ly = oy + mt + 10;
  os << "<rect x='" << ox + ml + pw - 140 << "' y='" << oy + mt + 1 << "' width='139' height='"
     << 18 * ss.size() + 4 << "' fill='white' fill-opacity='0.85'/>\n";
  for (const auto& s : ss) {
    os << "<circle cx='" << ox + ml + pw - 130 << "' cy='" << ly << "' r='4' fill='" << s.color << "'/>\n";
    os << "<text x='" << ox + ml + pw - 120 << "' y='" << ly + 4 << "' font-size='12'>" << esc(s.label)
       << " (" << s.pts.size() << ")</text>\n";
    ly += 18;
  }
  if (!any)
    os << "<text x='" << ox + ml + pw / 2 << "' y='" << oy + mt + ph / 2
       << "' text-anchor='middle' font-size='13' fill='#888'>no configurations</text>\n";
}

}  // namespace

std::string tradeoff_svg(const tuning_report& r) {
  std::ostringstream os;
  os << std::setprecision(5);
  const double W = 1000, H = 480;
  os << "<svg xmlns='http://www.w3.org/2000/svg' width='" << W << "' height='" << H
     << "' viewBox='0 0 " << W << " " << H << "' font-family='sans-serif'>\n";
  os << "<rect width='100%' height='100%' fill='white'/>\n";
  const double bt = r.baseline_tune_qos;
  // Very large runs: draw at most ~2 x max_plotted_kept kept points (evenly strided) to keep
  // the file usable.
  series kept{"Kept configs", "#1f77b4", {}}, best{"Best configs", "#ff7f0e", {}};
  const std::size_t stride = std::max<std::size_t>(1, r.kept.size() / max_plotted_kept);
  for (std::size_t i = 0; i < r.kept.size(); i += stride)
    kept.pts.emplace_back(bt - r.kept[i].qos, r.kept[i].speedup());
  for (const auto& c : r.best_prefilter) best.pts.emplace_back(bt - c.qos, c.speedup());
  const double keep_loss = bt - r.tune_keep_threshold;
  panel(os, 0, 0, W / 2, H, "Kept and best configs (" + r.app_name + ")", "QoS loss (tune split)",
        {kept, best},
        {{0.0, "baseline", "#2ca02c"}, {keep_loss, "threshold " + std::to_string(keep_loss).substr(0, 5), "#d62728"}},
        false);
  series tune{"Tune-set QoS loss", "#1f77b4", {}}, test{"Test-set QoS loss", "#ff7f0e", {}};
  for (const auto& c : r.best_prefilter) {
    if (!c.test_qos || !r.baseline_test_qos) continue;
    tune.pts.emplace_back(bt - c.qos, c.speedup());
    test.pts.emplace_back(*r.baseline_test_qos - *c.test_qos, c.speedup());
  }
  panel(os, W / 2, 0, W / 2, H,
        tune.pts.empty() ? "Test phase (not run)" : "Best configs: tune vs test split", "QoS loss",
        {tune, test}, {{keep_loss, "threshold " + std::to_string(keep_loss).substr(0, 5), "#d62728"}},
        true);
  os << "</svg>\n";
  return os.str();
}

}  // namespace approxtune
