#include "approxtune/dnn/dnn_app.hpp"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <new>
#include <set>
#include <type_traits>

#include "approxtune/dnn/error.hpp"
#include "approxtune/dnn/gpu_network.hpp"
#include "approxtune/knobs/catalogue.hpp"
#include "approxtune/knobs/mapping.hpp"
#include "approxtune/runtime/logging.hpp"

namespace approxtune::dnn {

namespace kn = approxtune::knobs;

namespace {

kn::device_kind device_of(const std::string& d) {
  if (d == "cpu") return kn::device_kind::cpu;
  if (d == "gpu") return kn::device_kind::gpu;
  throw config_error("dnn: unknown device '" + d + "' (cpu or gpu)");
}

// How many of the @p rows images from @p first on have their label as the first maximum of
// their @p k values: the top-1 hits of every accuracy the app computes (network::predict takes
// the same first maximum).
template <class T>
std::size_t top1_hits(const T* values, std::size_t rows, std::size_t k, const std::vector<int>& labels,
                      std::size_t first) {
  std::size_t ok = 0;
  for (std::size_t i = 0; i < rows; ++i) {
    const T* row = values + i * k;
    ok += static_cast<int>(std::max_element(row, row + k) - row) == labels[first + i];
  }
  return ok;
}

knob to_runtime_knob(const kn::knob_info& k) { return knob(k.name, k.devices, k.baseline_priority); }

// Median over `repeats` of the wall time of `run(net)`, divided by the time of `run(*base)`
// just before it when `base` is given (paired timing), shared by the CPU and GPU evaluators.
template <class Net, class Run>
double median_cost(Net& net, Net* base, int repeats, Run run) {
  auto timed = [&](Net& n) {
    const auto t0 = std::chrono::steady_clock::now();
    run(n);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  std::vector<double> times;
  for (int r = 0; r < repeats; ++r) {
    const double tb = base != nullptr ? timed(*base) : 1.0;
    times.push_back(timed(net) / tb);
  }
  auto mid = times.begin() + static_cast<std::ptrdiff_t>(times.size() / 2);
  std::nth_element(times.begin(), mid, times.end());
  return *mid;
}

}  // namespace

std::vector<op_knobs> dnn_ops(const model& m, const std::string& device, std::vector<int>* op_layers) {
  const kn::device_kind dev = device_of(device);
  const auto& cat = kn::knob_catalogue::reference();
  std::vector<op_knobs> ops;
  for (const int li : m.tunable_layers()) {
    const layer& l = m.layers()[static_cast<std::size_t>(li)];
    op_knobs ok{l.name, {}};
    const kn::op_kind kind = l.type == layer_type::conv ? kn::op_kind::conv : kn::op_kind::dense;
    for (const kn::knob_info* k : cat.knobs_for(kind, dev)) {
      if (kind == kn::op_kind::conv) {
        // Leave out variants that cannot run on this layer (e.g. perforating a 1-row output).
        try {
          const auto v = kn::conv_variant_for(*k, dev);
          (void)kernels::conv2d_flops(l.in_shape, l.weight_shape, l.conv, v);
          if ((v.kind == kernels::conv_kind::perforated_rows || v.kind == kernels::conv_kind::perforated_cols) &&
              kernels::perforation_computed_extent(l.out_shape, v) == 0)
            continue;
        } catch (const std::exception&) {
          continue;
        }
      }
      ok.knobs.push_back(to_runtime_knob(*k));
    }
    ops.push_back(std::move(ok));
    if (op_layers) op_layers->push_back(li);
  }
  if (ops.empty()) throw model_error("model '" + m.name() + "' has no conv or dense layer to tune");
  return ops;
}

dnn_app::dnn_app(std::vector<op_knobs> ops, std::string device, std::shared_ptr<const model> m,
                 std::shared_ptr<const fashion_mnist> data, dnn_options o, std::vector<int> op_layers)
    : app(std::move(ops), std::move(device)),
      model_(std::move(m)),
      data_(std::move(data)),
      options_(std::move(o)),
      op_layers_(std::move(op_layers)) {}

std::unique_ptr<dnn_app> dnn_app::create(std::shared_ptr<const model> m, std::shared_ptr<const fashion_mnist> data,
                                         const dnn_options& o) {
  if (o.device == "gpu" && !gpu_engine_built())
    throw config_error("dnn: --device gpu needs a build with CUDA (this one has none); use --device cpu");
  if (o.device == "gpu" && !gpu_available())
    throw config_error("dnn: --device gpu: no usable CUDA device; use --device cpu");
  if (o.timing_repeats < 1) throw config_error("dnn: --timing-repeats must be >= 1");
  if (o.batch < 1) throw config_error("dnn: --dnn-batch must be >= 1");
  if (o.tune_images > data->tune.size() || o.test_images > data->test.size())
    throw config_error("dnn: --tune-images/--test-images exceed the 5,000 images of a split");
  std::vector<int> layers;
  auto ops = dnn_ops(*m, o.device, &layers);
  return std::unique_ptr<dnn_app>(new dnn_app(std::move(ops), o.device, std::move(m), std::move(data), o,
                                              std::move(layers)));
}

std::unique_ptr<dnn_app> dnn_app::create(const dnn_options& o) {
  if (o.model.empty()) throw config_error("dnn: no model given (use --app dnn:<model>, see `approxtune models`)");
  const auto dir = resolve_models_dir(o.models_dir);
  auto m = std::make_shared<const model>(model::load(dir, o.model, o.allow_outside_paths));
  auto d = std::make_shared<const fashion_mnist>(fashion_mnist::load(o.data_dir, false));
  return create(std::move(m), std::move(d), o);
}

layer_variant dnn_app::variant_for(std::size_t op, const std::string& knob_name) const {
  const auto& cat = kn::knob_catalogue::reference();
  const kn::device_kind dev = device_of(options_.device);
  const layer& l = model_->layers().at(static_cast<std::size_t>(op_layers_.at(op)));
  layer_variant v;
  const kn::knob_info& k = cat.at(knob_name);
  if (l.type == layer_type::conv) v.conv = kn::conv_variant_for(k, dev);
  else v.dense = kn::dense_variant_for(k, dev);
  return v;
}

void dnn_app::apply(network& net, const config_code& code) const {
  if (!space().valid(code)) throw config_error("dnn: invalid configuration code for " + name());
  for (std::size_t op = 0; op < code.size(); ++op)
    net.set_variant(static_cast<std::size_t>(op_layers_[op]), variant_for(op, space().knob_at(op, code[op]).name()));
}

std::size_t dnn_app::split_images(split s) const {
  const auto& d = s == split::tune ? data_->tune : data_->test;
  const std::size_t want = s == split::tune ? options_.tune_images : options_.test_images;
  return want == 0 ? d.size() : std::min(want, d.size());
}

const labeled_images& dnn_app::split_data(split s) const { return s == split::tune ? data_->tune : data_->test; }

// What differs between a CPU and a GPU slot: the network type, how it takes a configuration and
// the split's images, and how it runs them. The measuring protocol itself (dnn_evaluator_of) is
// the same on both.
struct cpu_net_ops {
  using net_type = network;
  static std::unique_ptr<network> make(const dnn_app& a, const slot_info&) {
    return std::make_unique<network>(a.shared_model(), a.options().batch);
  }
  static void configure(const dnn_app& a, network& n, const config_code& code) { a.apply(n, code); }
  static void prepare(network&, const labeled_images&) {}
  static double accuracy(network& n, const labeled_images& d, std::size_t count) { return n.accuracy(d, count); }
  static double flops(const dnn_app&, const network& n, const config_code&) { return n.flops(); }
  static std::size_t warm_images(const network& n, std::size_t timed) {
    return std::min<std::size_t>(timed, static_cast<std::size_t>(n.max_batch()));
  }
  static void run(network& n, const labeled_images& d, std::size_t count) { n.run(d.images, count); }
};

// A GPU slot: images are uploaded once per split and stay on the device.
struct gpu_net_ops {
  using net_type = gpu_network;
  static std::unique_ptr<gpu_network> make(const dnn_app& a, const slot_info& slot) {
    return std::make_unique<gpu_network>(a.shared_model(), a.options().batch, slot.stream);
  }
  static void configure(const dnn_app& a, gpu_network& n, const config_code& code) {
    for (std::size_t op = 0; op < code.size(); ++op)
      n.set_variant(static_cast<std::size_t>(a.layer_of_op(op)), a.variant_for(op, a.space().knob_at(op, code[op]).name()));
  }
  static void prepare(gpu_network& n, const labeled_images& d) {
    if (n.uploaded() != &d) n.upload(d);
  }
  static double accuracy(gpu_network& n, const labeled_images&, std::size_t count) { return n.accuracy(count); }
  static double flops(const dnn_app& a, const gpu_network&, const config_code& code) {
    network flops_only(a.shared_model(), 1);  // the FLOP count is the layers' arithmetic, device-independent
    a.apply(flops_only, code);
    return flops_only.flops();
  }
  static std::size_t warm_images(const gpu_network&, std::size_t timed) { return std::min<std::size_t>(timed, 100); }
  static void run(gpu_network& n, const labeled_images&, std::size_t count) { n.run(count); }
};

/**
 * @brief One slot's evaluator: its own network (buffers, workspace; the weights are shared) and,
 * with paired timing, the exact network it is timed against.
 */
template <class Ops>
class dnn_evaluator_of : public evaluator {
  using net_type = typename Ops::net_type;

 public:
  dnn_evaluator_of(const dnn_app& a, const slot_info& slot)
      : app_(a), net_(Ops::make(a, slot)), timing_lock_(slot.timing_lock), mutex_(a.device_mutex(slot.device_id)) {
    if (a.options().paired_timing) base_ = Ops::make(a, slot);
  }

  bool manages_timing() const override { return true; }

  measurement measure(const config_code& code, split s) override {
    Ops::configure(app_, *net_, code);
    const labeled_images& d = app_.split_data(s);
    Ops::prepare(*net_, d);
    if (base_) Ops::prepare(*base_, d);
    const std::size_t n = app_.split_images(s);
    measurement m;
    {
      std::shared_lock<std::shared_mutex> shared(mutex_);
      m.qos = qos_pass(code, s, d, n);
    }
    if (app_.options().cost == cost_mode::model) {
      m.cost = Ops::flops(app_, *net_, code);
      return m;
    }
    // Paired timing measures relative to the exact network, which is 1 relative to itself:
    // timing it would only add noise to the reference every speedup is divided by.
    if (base_ && code == app_.space().baseline_code()) {
      m.cost = 1.0;
      return m;
    }
    const std::size_t tn = app_.options().timing_images == 0 ? n : std::min(app_.options().timing_images, d.size());
    std::unique_lock<std::mutex> device_lock;
    if (timing_lock_) device_lock = std::unique_lock<std::mutex>(*timing_lock_);
    std::unique_lock<std::shared_mutex> exclusive(mutex_);
    const std::size_t warm = Ops::warm_images(*net_, tn);
    Ops::run(*net_, d, warm);
    if (base_) Ops::run(*base_, d, warm);
    m.cost = median_cost(*net_, base_.get(), app_.options().timing_repeats,
                         [&](net_type& net) { Ops::run(net, d, tn); });
    return m;
  }

 private:
  // The accuracy pass of the configured network. On the CPU, it starts at the first approximated
  // layer when the exact activations before it are kept (dnn_options::prefix_cache_mb), and a
  // profile configuration's pass keeps its output while Pi-1 asks for it (keep_profile_outputs).
  double qos_pass(const config_code& code, split s, const labeled_images& d, std::size_t n) {
    if constexpr (std::is_same_v<Ops, cpu_net_ops>) {
      (void)d;
      (void)n;
      if (app_.keeps_output_of(code, s)) {
        std::vector<float> out = app_.forward_outputs(*net_, code, s);
        const double qos = app_.qos_of_outputs(out, s);
        app_.keep_output(code, s, std::move(out));
        return qos;
      }
      return app_.cpu_accuracy(*net_, code, s);
    } else {
      return Ops::accuracy(*net_, d, n);
    }
  }

  const dnn_app& app_;
  std::unique_ptr<net_type> net_;
  std::unique_ptr<net_type> base_;  ///< the exact network, for paired timing
  std::mutex* timing_lock_;
  std::shared_mutex& mutex_;
};

using cpu_evaluator = dnn_evaluator_of<cpu_net_ops>;
using gpu_evaluator = dnn_evaluator_of<gpu_net_ops>;

std::shared_mutex& dnn_app::device_mutex(const std::string& device_id) const {
  std::lock_guard<std::mutex> g(device_mutexes_lock_);
  auto& p = device_mutexes_[device_id];
  if (!p) p = std::make_unique<std::shared_mutex>();
  return *p;
}

std::unique_ptr<evaluator> dnn_app::make_evaluator(const slot_info& slot) const {
  if (slot.device_kind != options_.device)
    throw config_error("dnn: the app was set up for --device " + options_.device + " (its knobs) but the engine gave it a " +
                       slot.device_kind + " slot (" + slot.device_id + "); pass --devices to match");
  if (slot.device_kind == "gpu") return std::make_unique<gpu_evaluator>(*this, slot);
  return std::make_unique<cpu_evaluator>(*this, slot);
}

measurement dnn_app::measure(const config_code& code, split s) const {
  slot_info slot;
  if (options_.device == "gpu") {
    slot.device_id = "cuda:0";
    slot.device_kind = "gpu";
    return gpu_evaluator(*this, slot).measure(code, s);
  }
  cpu_evaluator e(*this, slot);
  return e.measure(code, s);
}

std::size_t dnn_app::output_size(split s) const {
  return split_images(s) * static_cast<std::size_t>(model_->layers().back().out_shape.image_size());
}

bool dnn_app::keeps_output_of(const config_code& code, split s) const {
  if (s != split::tune || !keep_outputs_.load()) return false;
  const config_code& base = space().baseline_code();
  std::size_t off = 0;
  for (std::size_t op = 0; op < code.size(); ++op) off += code[op] != base[op];
  return off <= 1;
}

void dnn_app::keep_output(const config_code& code, split s, std::vector<float> out) const {
  std::lock_guard<std::mutex> g(kept_lock_);
  if (keep_outputs_.load()) kept_[{code, s}] = std::move(out);
}

void dnn_app::keep_profile_outputs(bool on) const {
  std::lock_guard<std::mutex> g(kept_lock_);
  keep_outputs_.store(on);
  if (!on) kept_.clear();
}

double dnn_app::qos_of_outputs(const std::vector<float>& out, split s) const {
  const std::size_t n = split_images(s);
  if (n == 0) return 0.0;
  return 100.0 * static_cast<double>(top1_hits(out.data(), n, out.size() / n, split_data(s).labels, 0)) /
         static_cast<double>(n);
}

std::vector<float> dnn_app::measure_outputs(const config_code& code, split s) const {
  if (options_.device != "cpu")
    throw config_error("dnn: output tensors (Pi-1) are measured on the cpu device only");
  {
    std::lock_guard<std::mutex> g(kept_lock_);
    if (auto it = kept_.find({code, s}); it != kept_.end()) {
      std::vector<float> out = std::move(it->second);
      kept_.erase(it);
      ++kept_served_;
      return out;
    }
  }
  network net(model_, options_.batch);
  apply(net, code);
  std::shared_lock<std::shared_mutex> shared(device_mutex("cpu"));
  return forward_outputs(net, code, s);
}

// Reusing the exact prefix is what none of the libraries does for us: it is specific to how a
// configuration changes a network (some layers' kernels, in place). Every layer before a
// configuration's first approximated op runs the exact kernel on the exact input, so its output
// is the exact network's, bit for bit; the pass takes those from memory instead.
std::shared_ptr<const dnn_app::exact_prefix> dnn_app::prefix_for(split s) const {
  // The tune split only: the search measures hundreds of configurations there, the test phase a
  // handful, for which keeping the test split's activations (memory and one more pass) would
  // not pay.
  if (s != split::tune) return nullptr;
  std::lock_guard<std::mutex> g(prefix_lock_);
  if (prefix_built_) return prefix_;
  prefix_built_ = true;
  const std::size_t total = split_images(s);
  const auto& layers = model_->layers();
  const std::size_t budget = options_.prefix_cache_mb * (std::size_t{1} << 20);
  if (budget == 0 || total == 0) return nullptr;
  // The layers before `start` whose outputs a pass from `start` reads.
  auto needed = [&](int start) {
    std::set<int> need;
    for (std::size_t i = static_cast<std::size_t>(start); i < layers.size(); ++i)
      for (const int in : layers[i].inputs)
        if (in >= 0 && in < start) need.insert(in);
    return need;
  };
  auto bytes = [&](const std::set<int>& ls) {
    std::size_t b = 0;
    for (const int l : ls) b += total * layers[static_cast<std::size_t>(l)].out_shape.image_size() * sizeof(float);
    return b;
  };
  auto p = std::make_shared<exact_prefix>();
  p->start_of_op.assign(op_layers_.size(), -1);
  std::set<int> keep;
  // From the last op back: the latest starts save the most and need the smallest activations.
  for (std::size_t op = op_layers_.size(); op-- > 0;) {
    if (op_layers_[op] == 0) break;
    std::set<int> with = keep;
    const auto need = needed(op_layers_[op]);
    with.insert(need.begin(), need.end());
    if (bytes(with) > budget) break;
    keep = std::move(with);
    p->start_of_op[op] = op_layers_[op];
  }
  if (keep.empty()) return nullptr;
  const labeled_images& d = split_data(s);
  const kernels::shape4 is = d.images.shape();
  try {
    for (const int l : keep) {
      kernels::shape4 sh = layers[static_cast<std::size_t>(l)].out_shape;
      sh.n = static_cast<int>(total);
      p->outputs.emplace(l, kernels::tensor(sh));
    }
  } catch (const std::bad_alloc&) {
    // Only a speed-up: without the memory every pass simply runs the whole network.
    logger()->warn("dnn: no memory for {:.1f} MiB of exact activations (--prefix-cache-mb); accuracy passes run "
                   "the whole network", static_cast<double>(bytes(keep)) / (1 << 20));
    return nullptr;
  }
  network exact(model_, options_.batch);
  for (std::size_t first = 0; first < total; first += static_cast<std::size_t>(exact.max_batch())) {
    const int b = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(exact.max_batch()), total - first));
    (void)exact.forward({d.images.data() + first * is.image_size(), {b, is.c, is.h, is.w}});
    for (auto& [l, t] : p->outputs) {
      const auto y = exact.layer_output(static_cast<std::size_t>(l));
      std::copy(y.data, y.data + y.size(), t.data() + first * t.shape().image_size());
    }
  }
  logger()->debug("dnn: kept the exact activations of {} layer(s), {:.1f} MiB, for the tune split", keep.size(),
                  static_cast<double>(bytes(keep)) / (1 << 20));
  prefix_ = p;
  return p;
}

template <class Sink>
void dnn_app::forward_split(network& net, const config_code& code, split s, Sink&& sink) const {
  const labeled_images& d = split_data(s);
  const std::size_t total = split_images(s);
  const kernels::shape4 is = d.images.shape();
  // The latest kept start at or before the first op off its baseline knob.
  std::shared_ptr<const exact_prefix> p;
  int start = -1;
  if (space().valid(code) && (p = prefix_for(s))) {
    const config_code& base = space().baseline_code();
    for (std::size_t op = 0; op < code.size(); ++op) {
      if (p->start_of_op[op] >= 0) start = p->start_of_op[op];
      if (code[op] != base[op]) break;
    }
  }
  if (start > 0) ++prefix_passes_;
  for (std::size_t first = 0; first < total; first += static_cast<std::size_t>(net.max_batch())) {
    const int b = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(net.max_batch()), total - first));
    const kernels::const_tensor_view batch{d.images.data() + first * is.image_size(), {b, is.c, is.h, is.w}};
    if (start <= 0) {
      sink(first, net.forward(batch));
      continue;
    }
    sink(first, net.forward_from(static_cast<std::size_t>(start), b, [&](int l) -> kernels::const_tensor_view {
      if (l < 0) return batch;
      const auto it = p->outputs.find(l);
      if (it == p->outputs.end())
        throw error("dnn: no kept activations of layer " + std::to_string(l) + " for a pass from layer " +
                    std::to_string(start));
      kernels::shape4 sh = it->second.shape();
      const std::size_t per = sh.image_size();
      sh.n = b;
      return {it->second.data() + first * per, sh};
    }));
  }
}

std::vector<float> dnn_app::forward_outputs(network& net, const config_code& code, split s) const {
  const std::size_t per_image = static_cast<std::size_t>(model_->layers().back().out_shape.image_size());
  std::vector<float> out(split_images(s) * per_image);
  forward_split(net, code, s, [&](std::size_t first, kernels::const_tensor_view y) {
    if (static_cast<std::size_t>(y.shape.image_size()) != per_image)
      throw error("dnn: the network's output has " + std::to_string(y.shape.image_size()) +
                  " values per image, the model says " + std::to_string(per_image));
    std::copy(y.data, y.data + y.size(), out.begin() + static_cast<std::ptrdiff_t>(first * per_image));
  });
  return out;
}

double dnn_app::cpu_accuracy(network& net, const config_code& code, split s) const {
  const std::size_t total = split_images(s);
  const auto& labels = split_data(s).labels;
  std::size_t ok = 0;
  forward_split(net, code, s, [&](std::size_t first, kernels::const_tensor_view y) {
    ok += top1_hits(y.data, static_cast<std::size_t>(y.shape.n), y.shape.image_size(), labels, first);
  });
  return total == 0 ? 0.0 : 100.0 * static_cast<double>(ok) / static_cast<double>(total);
}

double dnn_app::qos_from_outputs(std::span<const double> outputs, split s) const {
  const std::size_t n = split_images(s);
  if (outputs.size() != output_size(s))
    throw config_error("dnn: " + std::to_string(outputs.size()) + " output values for the " + to_string(s) +
                       " split, which needs " + std::to_string(output_size(s)));
  if (n == 0) return 0.0;
  const std::size_t ok = top1_hits(outputs.data(), n, outputs.size() / n, split_data(s).labels, 0);
  return 100.0 * static_cast<double>(ok) / static_cast<double>(n);
}

std::vector<std::string> dnn_app::hpvm_lines(const config_code& code) const {
  const auto& cat = kn::knob_catalogue::reference();
  const std::string dev = options_.device;
  const std::string base = baseline_knob().name();
  const std::string base_word = kn::hpvm_approx_name(cat.at(base));
  const auto& layers = model_->layers();
  std::vector<std::string> lines;
  std::size_t op = 0;
  auto word = [&](const std::string& opname) { return " " + opname + " " + base_word + " " + base; };
  std::size_t i = 0;
  while (i < layers.size()) {
    const layer& l = layers[i];
    std::string line = std::to_string(lines.size() + 1) + " " + dev;
    auto follows = [&](std::size_t j) {
      return j < layers.size() && layers[j].inputs.size() == 1 && layers[j].inputs[0] == static_cast<int>(j - 1);
    };
    std::size_t j = i + 1;
    if (l.tunable()) {
      const std::string kname = space().knob_at(op, code.at(op)).name();
      ++op;
      line += std::string(" ") + (l.type == layer_type::conv ? "conv" : "mul") + " " +
              kn::hpvm_approx_name(cat.at(kname)) + " " + kname;
      if (l.has_bias) line += word("add");
    } else {
      switch (l.type) {
        case layer_type::add: line += word("add"); break;
        case layer_type::relu: line += word("relu"); break;
        case layer_type::tanh: line += word("tanh"); break;
        case layer_type::max_pool: line += word("pool_max"); break;
        case layer_type::avg_pool: line += word("pool_mean"); break;
        case layer_type::batch_norm: line += word("batchnorm"); break;
        case layer_type::softmax: line += word("softmax"); break;
        default: break;
      }
    }
    // Fuse the [relu|tanh][pool] that follow a conv/dense/add, as HPVM's fused nodes do.
    if (l.tunable() || l.type == layer_type::add) {
      if (follows(j) && (layers[j].type == layer_type::relu || layers[j].type == layer_type::tanh)) {
        line += word(layers[j].type == layer_type::relu ? "relu" : "tanh");
        ++j;
      }
      if (l.type == layer_type::conv && follows(j) &&
          (layers[j].type == layer_type::max_pool || layers[j].type == layer_type::avg_pool)) {
        line += word(layers[j].type == layer_type::max_pool ? "pool_max" : "pool_mean");
        ++j;
      }
    }
    lines.push_back(line);
    i = j;
  }
  return lines;
}

std::uint64_t dnn_app::content_hash() const {
  std::uint64_t h = model_->content_hash();
  auto mix = [&](std::uint64_t v) {
    for (int b = 0; b < 8; ++b) {
      h ^= (v >> (8 * b)) & 0xff;
      h *= 1099511628211ull;
    }
  };
  mix(options_.tune_images);
  mix(options_.test_images);
  mix(options_.timing_images);
  mix(static_cast<std::uint64_t>(options_.timing_repeats));
  mix(options_.cost == cost_mode::time ? (options_.paired_timing ? 3 : 1) : 2);
  mix(static_cast<std::uint64_t>(options_.batch));
  for (const auto& d : {&data_->tune, &data_->test}) {
    mix(d->size());
    for (std::size_t i = 0; i < d->size(); i += 97) mix(static_cast<std::uint64_t>(d->labels[i]));
  }
  return h;
}

}  // namespace approxtune::dnn
