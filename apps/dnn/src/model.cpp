#include "approxtune/dnn/model.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <type_traits>

#include "approxtune/dnn/error.hpp"
#include "approxtune/kernels/ops.hpp"

namespace approxtune::dnn {

namespace fs = std::filesystem;
using kernels::shape4;

const char* to_string(layer_type t) noexcept {
  switch (t) {
    case layer_type::conv: return "conv";
    case layer_type::dense: return "dense";
    case layer_type::relu: return "relu";
    case layer_type::tanh: return "tanh";
    case layer_type::max_pool: return "max_pool";
    case layer_type::avg_pool: return "avg_pool";
    case layer_type::batch_norm: return "batch_norm";
    case layer_type::add: return "add";
    case layer_type::softmax: return "softmax";
  }
  return "?";
}

namespace {

layer_type type_from_string(const std::string& s) {
  static const std::map<std::string, layer_type> m = {
      {"conv", layer_type::conv},         {"dense", layer_type::dense},
      {"relu", layer_type::relu},         {"tanh", layer_type::tanh},
      {"max_pool", layer_type::max_pool}, {"avg_pool", layer_type::avg_pool},
      {"batch_norm", layer_type::batch_norm}, {"add", layer_type::add},
      {"softmax", layer_type::softmax}};
  auto it = m.find(s);
  if (it == m.end())
    throw model_error("unknown layer type '" + s +
                      "' (known: conv, dense, relu, tanh, max_pool, avg_pool, batch_norm, add, softmax)");
  return it->second;
}

struct fnv {
  std::uint64_t h = 1469598103934665603ull;
  void bytes(const void* p, std::size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i) {
      h ^= b[i];
      h *= 1099511628211ull;
    }
  }
};

// An integer field of the architecture. json's get<int>() is a plain cast (undefined for 1e20,
// a silent wrap for 2^32 + 2), and sizes near INT_MAX overflow the shape arithmetic (h + 2 * pad):
// sizes, kernels, strides and paddings must be integers in [0, 2^24] (found by fuzzing, issue 9).
int int_at(const nlohmann::json& j, const char* key) {
  constexpr std::int64_t max = std::int64_t{1} << 24;
  const nlohmann::json& v = j.at(key);
  if (!v.is_number_integer() || (v.is_number_unsigned() ? v.get<std::uint64_t>() > std::uint64_t(max)
                                                         : v.get<std::int64_t>() < 0 || v.get<std::int64_t>() > max))
    throw model_error((j.contains("name") && j.at("name").is_string() ? "layer '" + j.at("name").get<std::string>() + "': " : std::string()) +
                      "field '" + key + "' must be an integer in [0, 16777216], not " + v.dump());
  return static_cast<int>(v.get<std::int64_t>());
}

template <class T>
T get_or(const nlohmann::json& j, const char* key, T def) {
  if constexpr (std::is_same_v<T, int>) return j.contains(key) ? int_at(j, key) : def;
  else return j.contains(key) ? j.at(key).get<T>() : def;
}

}  // namespace

double layer::flops() const {
  const shape4 in{1, in_shape.c, in_shape.h, in_shape.w};
  switch (type) {
    case layer_type::conv: return kernels::conv2d_flops(in, weight_shape, conv, kernels::exact_conv());
    case layer_type::dense: return kernels::dense_flops(in, weight_shape);
    case layer_type::max_pool:
    case layer_type::avg_pool: return kernels::pool2d_flops(in, pool, kernels::exact_pool());
    case layer_type::batch_norm: return 2.0 * static_cast<double>(out_shape.size());
    case layer_type::softmax: return 3.0 * static_cast<double>(out_shape.size());
    default: return static_cast<double>(out_shape.size());
  }
}

model model::from_json(const nlohmann::json& arch) {
  model m;
  std::string current;  // the layer being built, for an out-of-memory message
  try {
    if (arch.value("schema", std::string()) != "approxtune.dnn.model")
      throw model_error("not an approxtune model (\"schema\" must be \"approxtune.dnn.model\")");
    m.name_ = arch.at("name").get<std::string>();
    const auto& in = arch.at("input");
    m.input_ = {1, int_at(in, "channels"), int_at(in, "height"), int_at(in, "width")};
    m.classes_ = int_at(arch, "classes");
    // Sizes are checked before anything is allocated: a layer holds at most 2^28 weights and a
    // tensor of one image at most 2^28 values (1 GiB of float32 each).
    constexpr double max_elements = double(1 << 28);
    const auto check_size = [](const std::string& what, const shape4& s) {
      if (s.n < 0 || s.c < 0 || s.h < 0 || s.w < 0)
        throw model_error(what + " " + s.to_string() + " has a negative size");
      const double n = double(s.n) * double(s.c) * double(s.h) * double(s.w);
      if (n > max_elements) {
        char count[32];
        std::snprintf(count, sizeof count, "%.3g", n);
        throw model_error(what + " " + s.to_string() + " has " + count +
                          " elements; at most 2^28 (2.68e+08) are supported");
      }
    };
    check_size("input", m.input_);
    m.layers_json_ = arch.at("layers");
    for (const auto& [k, v] : arch.items())
      if (k == "accuracy" || k == "training") m.metadata_[k] = v;
    std::map<std::string, int> index;
    index["input"] = -1;
    for (const auto& lj : m.layers_json_) {
      layer l;
      const int me = static_cast<int>(m.layers_.size());
      l.name = lj.value("name", std::string(lj.at("type").get<std::string>()) + std::to_string(me));
      if (index.count(l.name)) throw model_error("duplicate layer name '" + l.name + "'");
      current = l.name;
      l.type = type_from_string(lj.at("type").get<std::string>());
      if (lj.contains("inputs")) {
        for (const auto& nm : lj.at("inputs")) {
          auto it = index.find(nm.get<std::string>());
          if (it == index.end())
            throw model_error("layer '" + l.name + "' reads '" + nm.get<std::string>() +
                              "', which is not an earlier layer");
          l.inputs.push_back(it->second);
        }
      } else {
        l.inputs.push_back(me - 1);
      }
      const std::size_t want = l.type == layer_type::add ? 2 : 1;
      if (l.inputs.size() != want)
        throw model_error("layer '" + l.name + "' needs " + std::to_string(want) + " input(s)");
      auto shape_of = [&](int i) { return i < 0 ? m.input_ : m.layers_[static_cast<std::size_t>(i)].out_shape; };
      l.in_shape = shape_of(l.inputs[0]);
      const shape4 is = l.in_shape;
      switch (l.type) {
        case layer_type::conv: {
          l.filters = int_at(lj, "filters");
          l.kernel = int_at(lj, "kernel");
          const int s = get_or(lj, "stride", 1), p = get_or(lj, "pad", 0);
          l.conv = {s, s, p, p};
          l.has_bias = get_or(lj, "bias", true);
          l.weight_shape = {l.filters, is.c, l.kernel, l.kernel};
          check_size("layer '" + l.name + "': weights", l.weight_shape);
          l.out_shape = kernels::conv2d_output_shape(is, l.weight_shape, l.conv);
          check_size("layer '" + l.name + "': output", l.out_shape);
          l.weights.assign(l.weight_shape.size(), 0.0f);
          if (l.has_bias) l.bias.assign(static_cast<std::size_t>(l.filters), 0.0f);
          break;
        }
        case layer_type::dense: {
          l.filters = int_at(lj, "units");
          l.has_bias = get_or(lj, "bias", true);
          l.weight_shape = {l.filters, static_cast<int>(is.image_size()), 1, 1};
          check_size("layer '" + l.name + "': weights", l.weight_shape);
          l.out_shape = {1, l.filters, 1, 1};
          l.weights.assign(l.weight_shape.size(), 0.0f);
          if (l.has_bias) l.bias.assign(static_cast<std::size_t>(l.filters), 0.0f);
          break;
        }
        case layer_type::max_pool:
        case layer_type::avg_pool: {
          const int w = get_or(lj, "window", 2), s = get_or(lj, "stride", w), p = get_or(lj, "pad", 0);
          l.pool = {w, w, s, s, p, p};
          l.out_shape = kernels::pool2d_output_shape(is, l.pool);
          break;
        }
        case layer_type::batch_norm: {
          l.eps = get_or(lj, "eps", 1e-5f);
          const auto c = static_cast<std::size_t>(is.c);
          l.gamma.assign(c, 1.0f);
          l.beta.assign(c, 0.0f);
          l.mean.assign(c, 0.0f);
          l.var.assign(c, 1.0f);
          l.out_shape = is;
          break;
        }
        case layer_type::add: {
          const shape4 b = shape_of(l.inputs[1]);
          if (b != is)
            throw model_error("add layer '" + l.name + "': input shapes " + is.to_string() + " and " +
                              b.to_string() + " differ");
          l.out_shape = is;
          break;
        }
        default: l.out_shape = is; break;
      }
      index[l.name] = me;
      m.layers_.push_back(std::move(l));
    }
    if (m.layers_.empty()) throw model_error("model has no layers");
    if (static_cast<int>(m.layers_.back().out_shape.image_size()) != m.classes_)
      throw model_error("the last layer produces " + m.layers_.back().out_shape.to_string() + ", not " +
                        std::to_string(m.classes_) + " class scores");
  } catch (const nlohmann::json::exception& e) {
    throw model_error(std::string("malformed model architecture") +
                      (current.empty() ? "" : " (layer '" + current + "')") + ": " + e.what());
  } catch (const model_error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw model_error("layer '" + current + "' needs more memory than there is: its sizes (filters, " +
                      "kernel, units, input shape) are too large");
  } catch (const std::length_error&) {
    throw model_error("layer '" + current + "' needs more memory than there is: its sizes (filters, " +
                      "kernel, units, input shape) are too large");
  } catch (const std::exception& e) {
    throw model_error(std::string("invalid model architecture: ") + e.what());
  }
  return m;
}

nlohmann::json model::to_json() const {
  nlohmann::json j;
  j["schema"] = "approxtune.dnn.model";
  j["version"] = 1;
  j["name"] = name_;
  j["input"] = {{"channels", input_.c}, {"height", input_.h}, {"width", input_.w}};
  j["classes"] = classes_;
  j["weights"] = name_ + ".weights";
  j["layers"] = layers_json_;
  for (const auto& [k, v] : metadata_.items()) j[k] = v;
  return j;
}

namespace {
std::vector<std::pair<std::string, std::vector<float>*>> param_list(std::vector<layer>& ls) {
  std::vector<std::pair<std::string, std::vector<float>*>> out;
  for (auto& l : ls) {
    if (l.tunable()) {
      out.emplace_back(l.name + ".weight", &l.weights);
      if (l.has_bias) out.emplace_back(l.name + ".bias", &l.bias);
    } else if (l.type == layer_type::batch_norm) {
      out.emplace_back(l.name + ".gamma", &l.gamma);
      out.emplace_back(l.name + ".beta", &l.beta);
      out.emplace_back(l.name + ".mean", &l.mean);
      out.emplace_back(l.name + ".var", &l.var);
    }
  }
  return out;
}
}  // namespace

void model::write_weights(const fs::path& path) const {
  std::vector<unsigned char> buf;
  auto put = [&](const void* p, std::size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    buf.insert(buf.end(), b, b + n);
  };
  auto& ls = const_cast<std::vector<layer>&>(layers_);
  auto params = param_list(ls);
  put("ATWT", 4);
  const std::uint32_t version = 1, count = static_cast<std::uint32_t>(params.size());
  put(&version, 4);
  put(&count, 4);
  for (const auto& [nm, v] : params) {
    const auto len = static_cast<std::uint32_t>(nm.size());
    put(&len, 4);
    put(nm.data(), nm.size());
    const auto n = static_cast<std::uint32_t>(v->size());
    put(&n, 4);
    put(v->data(), v->size() * sizeof(float));
  }
  fnv h;
  h.bytes(buf.data(), buf.size());
  put(&h.h, 8);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw model_error("cannot write weights file '" + path.string() + "'");
  out.write(reinterpret_cast<const char*>(buf.data()), static_cast<std::streamsize>(buf.size()));
  if (!out) throw model_error("error writing weights file '" + path.string() + "'");
}

void model::read_weights(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw model_error("weights file '" + path.string() + "' cannot be opened (regenerate it with scripts/train_models.sh)");
  std::vector<unsigned char> buf((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto bad = [&](const std::string& what) { throw model_error("weights file '" + path.string() + "': " + what); };
  if (buf.size() < 20 || std::memcmp(buf.data(), "ATWT", 4) != 0) bad("not an approxtune weights file");
  fnv h;
  h.bytes(buf.data(), buf.size() - 8);
  std::uint64_t stored = 0;
  std::memcpy(&stored, buf.data() + buf.size() - 8, 8);
  if (stored != h.h) bad("checksum mismatch (truncated or corrupt)");
  std::size_t pos = 4;
  auto u32 = [&]() {
    if (pos + 4 > buf.size() - 8) bad("truncated");
    std::uint32_t v = 0;
    std::memcpy(&v, buf.data() + pos, 4);
    pos += 4;
    return v;
  };
  if (u32() != 1) bad("unsupported version");
  auto params = param_list(layers_);
  const std::uint32_t count = u32();
  if (count != params.size())
    bad("holds " + std::to_string(count) + " tensors, the architecture needs " + std::to_string(params.size()));
  for (auto& [nm, v] : params) {
    const std::uint32_t len = u32();
    if (pos + len > buf.size() - 8) bad("truncated");
    const std::string got(reinterpret_cast<const char*>(buf.data() + pos), len);
    pos += len;
    if (got != nm) bad("expected tensor '" + nm + "', found '" + got + "'");
    const std::uint32_t n = u32();
    if (n != v->size())
      bad("tensor '" + nm + "' has " + std::to_string(n) + " values, the architecture needs " +
          std::to_string(v->size()));
    if (pos + std::size_t{n} * 4 > buf.size() - 8) bad("truncated");
    std::memcpy(v->data(), buf.data() + pos, std::size_t{n} * 4);
    pos += std::size_t{n} * 4;
    const auto nonfinite = std::find_if(v->begin(), v->end(), [](float x) { return !std::isfinite(x); });
    if (nonfinite != v->end())
      bad("tensor '" + nm + "' holds a non-finite value (" + std::to_string(*nonfinite) + ") at index " +
          std::to_string(nonfinite - v->begin()));
  }
  if (pos != buf.size() - 8) bad("unexpected bytes after the last tensor");
}

model model::load_files(const fs::path& arch, const fs::path& weights) {
  std::ifstream in(arch);
  if (!in) throw model_error("model architecture file '" + arch.string() + "' cannot be opened");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw model_error("model architecture file '" + arch.string() + "': " + e.what());
  }
  model m;
  try {
    m = from_json(j);
  } catch (const model_error& e) {
    throw model_error("model architecture file '" + arch.string() + "': " + e.what());
  }
  m.read_weights(weights);
  return m;
}

model model::load(const fs::path& dir, const std::string& name, bool allow_outside_dir) {
  // Lexically: absolute paths and ".." that climb out of dir are refused (files inside dir,
  // symlinks included, are the models folder's own business).
  const auto inside = [](const fs::path& rel) {
    const fs::path n = rel.lexically_normal();
    return !rel.empty() && rel.is_relative() && !rel.has_root_name() && *n.begin() != "..";
  };
  if (!allow_outside_dir && !inside(name + ".json"))
    throw model_error("model name '" + name + "' leads outside the models folder '" + dir.string() +
                      "' (allow it with --allow-outside-paths)");
  const fs::path arch = dir / (name + ".json");
  std::error_code ec;
  if (!fs::exists(arch, ec)) {
    std::string avail;
    for (const auto& n : list_models(dir)) avail += (avail.empty() ? "" : ", ") + n;
    throw model_error("no model '" + name + "' in '" + dir.string() + "' (available: " +
                      (avail.empty() ? "none" : avail) + ")");
  }
  std::ifstream in(arch);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw model_error("model architecture file '" + arch.string() + "': " + e.what());
  }
  std::string weights = name + ".weights";
  if (j.contains("weights")) {
    if (!j["weights"].is_string())
      throw model_error("model architecture file '" + arch.string() +
                        "': field 'weights' must be a string (a file name in the models folder)");
    weights = j["weights"].get<std::string>();
  }
  if (!allow_outside_dir && !inside(weights))
    throw model_error("model architecture file '" + arch.string() + "' names weights file '" + weights +
                      "', which is outside the models folder '" + dir.string() +
                      "'; approxtune does not follow it without your consent (--allow-outside-paths)");
  return load_files(arch, dir / weights);
}

void model::save(const fs::path& dir) const {
  fs::create_directories(dir);
  std::ofstream out(dir / (name_ + ".json"), std::ios::trunc);
  if (!out) throw model_error("cannot write '" + (dir / (name_ + ".json")).string() + "'");
  out << to_json().dump(2) << "\n";
  write_weights(dir / (name_ + ".weights"));
}

std::vector<int> model::tunable_layers() const {
  std::vector<int> out;
  for (std::size_t i = 0; i < layers_.size(); ++i)
    if (layers_[i].tunable()) out.push_back(static_cast<int>(i));
  return out;
}

double model::flops() const {
  double f = 0;
  for (const auto& l : layers_) f += l.flops();
  return f;
}

std::size_t model::num_params() const {
  std::size_t n = 0;
  for (const auto& l : layers_) n += l.weights.size() + l.bias.size() + l.gamma.size() + l.beta.size() + l.mean.size() + l.var.size();
  return n;
}

std::uint64_t model::content_hash() const {
  fnv h;
  const std::string a = layers_json_.dump() + "|" + name_ + "|" + input_.to_string();
  h.bytes(a.data(), a.size());
  for (const auto& l : layers_)
    for (const auto* v : {&l.weights, &l.bias, &l.gamma, &l.beta, &l.mean, &l.var})
      h.bytes(v->data(), v->size() * sizeof(float));
  return h.h;
}

std::vector<std::string> list_models(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() != ".json") continue;
    try {
      std::ifstream in(e.path());
      const auto j = nlohmann::json::parse(in);
      if (j.value("schema", std::string()) == "approxtune.dnn.model") out.push_back(e.path().stem().string());
    } catch (...) {
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

fs::path resolve_models_dir(const fs::path& given) {
  if (!given.empty()) return given;
  if (const char* env = std::getenv("APPROXTUNE_MODELS_DIR"); env && *env) return env;
  std::error_code ec;
#ifdef APPROXTUNE_DNN_SOURCE_MODELS_DIR
  if (fs::is_directory(APPROXTUNE_DNN_SOURCE_MODELS_DIR, ec)) return APPROXTUNE_DNN_SOURCE_MODELS_DIR;
#endif
#ifdef APPROXTUNE_DNN_INSTALL_MODELS_DIR
  return APPROXTUNE_DNN_INSTALL_MODELS_DIR;
#else
  return "models";
#endif
}

}  // namespace approxtune::dnn
