#include "approxtune/runtime/engine.hpp"

#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <future>
#include <sstream>
#include <thread>
#include <tuple>

#include <spdlog/spdlog.h>
#include <tbb/flow_graph.h>
#include <tbb/global_control.h>
#include <tbb/task_arena.h>

#include "approxtune/runtime/cuda.hpp"
#include "approxtune/runtime/error.hpp"
#include "approxtune/runtime/logging.hpp"
#include "devices.hpp"

namespace approxtune {

namespace flow = tbb::flow;

namespace {

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto pos = line.find(':');
      if (pos != std::string::npos) return line.substr(line.find_first_not_of(" \t", pos + 1));
    }
  }
  return "CPU";
}

std::string list_available(const std::vector<device_info>& available) {
  std::string s;
  for (const auto& d : available) s += (s.empty() ? "" : ", ") + d.id + " (" + d.name + ")";
  return s;
}

int parse_slots(const std::string& text, const std::string& entry) {
  std::size_t used = 0;
  int v = 0;
  try {
    v = std::stoi(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || v < 1 || v > 1024)
    throw config_error("--devices entry '" + entry + "': slot count '" + text +
                       "' is not an integer in 1..1024");
  return v;
}

}  // namespace

std::vector<device_info> discover_devices() {
  std::vector<device_info> out;
  device_info cpu;
  cpu.id = "cpu";
  cpu.kind = "cpu";
  cpu.name = cpu_model_name();
  cpu.default_slots = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  out.push_back(cpu);
  for (auto& d : detail::discover_cuda_devices()) out.push_back(std::move(d));
  return out;
}

std::vector<device_slots> parse_devices(const std::string& spec,
                                        const std::vector<device_info>& available) {
  std::vector<device_slots> out;
  if (spec.empty()) {
    for (const auto& d : available) out.push_back({d, d.default_slots});
    return out;
  }
  if (spec.front() == ',' || spec.back() == ',' || spec.find(",,") != std::string::npos)
    throw config_error("--devices '" + spec + "' has an empty entry");
  std::stringstream ss(spec);
  std::string entry;
  while (std::getline(ss, entry, ',')) {
    if (entry.empty()) throw config_error("--devices '" + spec + "' has an empty entry");
    // "cpu", "cpu:N", "cuda:I", "cuda:I:N"
    std::string id = entry, slots;
    if (entry.rfind("cuda:", 0) == 0) {
      auto second = entry.find(':', 5);
      if (second != std::string::npos) {
        id = entry.substr(0, second);
        slots = entry.substr(second + 1);
      }
    } else if (auto colon = entry.find(':'); colon != std::string::npos) {
      id = entry.substr(0, colon);
      slots = entry.substr(colon + 1);
    }
    const device_info* found = nullptr;
    for (const auto& d : available)
      if (d.id == id) found = &d;
    if (found == nullptr)
      throw config_error("--devices: unknown or unavailable device '" + id +
                         "'; available: " + list_available(available));
    for (const auto& o : out)
      if (o.device.id == id) throw config_error("--devices lists '" + id + "' twice");
    out.push_back({*found, slots.empty() ? found->default_slots : parse_slots(slots, entry)});
  }
  return out;
}

struct engine::impl {
  struct slot_state {
    slot_info info;
    std::shared_ptr<evaluator> ev;  // shared with a timed-out measurement's thread
    std::shared_ptr<std::mutex> device_lock;
    int consecutive_failures = 0;
    bool retired = false;
    bool remote = false;
    std::size_t evaluations = 0, failures = 0;
  };
  using job = std::tuple<std::size_t, int>;

  const app& app_;
  engine_options opts_;
  std::shared_ptr<spdlog::logger> log_;
  std::vector<device_slots> devices_;
  std::vector<std::shared_ptr<std::mutex>> device_locks_;
  std::vector<slot_state> slots_;
  std::vector<cuda::stream> streams_;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> live_{0};
  std::optional<std::string> fatal_;  // guarded by stats_mutex_
  mutable std::mutex stats_mutex_;

  // The batch being evaluated: set by evaluate() before any message enters the graph.
  std::span<const config_code> batch_;
  split split_ = split::tune;
  std::vector<evaluation>* out_ = nullptr;

  // Slots wait on devices (or a remote measurement), not necessarily on a CPU core: the graph
  // runs in its own arena with one thread per slot, and the global worker limit is raised to
  // match, so 16 slots on a 2-core host really keep 16 measurements in flight.
  std::unique_ptr<tbb::global_control> thread_limit_;
  std::unique_ptr<tbb::task_arena> arena_;
  std::unique_ptr<flow::graph> g_;
  std::unique_ptr<flow::queue_node<std::size_t>> candidates_;
  std::unique_ptr<flow::queue_node<int>> tokens_;
  std::unique_ptr<flow::join_node<job, flow::reserving>> join_;
  std::unique_ptr<flow::function_node<job, flow::continue_msg>> work_;

  impl(const app& a, engine_options opts) : app_(a), opts_(std::move(opts)) {
    log_ = opts_.logger ? opts_.logger : approxtune::logger();
    devices_ = opts_.devices.empty() ? parse_devices("", discover_devices()) : opts_.devices;
    if (!opts_.local_slots) devices_.clear();
    int global = 0;
    for (const auto& d : devices_) {
      device_locks_.push_back(std::make_shared<std::mutex>());
      for (int s = 0; s < d.slots; ++s) {
        slot_state st;
        st.info.device_id = d.device.id;
        st.info.device_kind = d.device.kind;
        st.info.device_index = d.device.index;
        st.info.slot = s;
        st.info.global_slot = global++;
        if (d.device.kind == "gpu") {
          streams_.emplace_back(d.device.index);
          st.info.stream = streams_.back().get();
        }
        st.info.timing_lock = device_locks_.back().get();
        st.device_lock = device_locks_.back();
        slots_.push_back(std::move(st));
      }
    }
    // Evaluators are created up front, one per slot, so per-device state (weights, buffers)
    // is built before any timing starts.
    for (auto& s : slots_) s.ev = app_.make_evaluator(s.info);
    // A remote slot of depth d becomes d lanes (engine slots with its device and slot number),
    // so d candidates can be in flight on it. Every slot's first lane precedes any second lane
    // in the token queue: a small batch spreads over the slots before any slot gets two.
    std::map<std::string, int> remote_count;  // slot numbers per remote device
    std::vector<int> remote_number;
    int max_depth = 0;
    for (const auto& r : opts_.remote) {
      if (r.depth < 1)
        throw config_error("engine: remote slot '" + r.device_id + "' has depth " +
                           std::to_string(r.depth) + "; it must be at least 1");
      remote_number.push_back(remote_count[r.device_id]++);
      max_depth = std::max(max_depth, r.depth);
    }
    for (int lane = 0; lane < max_depth; ++lane) {
      for (std::size_t i = 0; i < opts_.remote.size(); ++i) {
        const auto& r = opts_.remote[i];
        if (lane >= r.depth) continue;
        slot_state st;
        st.info.device_id = r.device_id;
        st.info.device_kind = r.device_kind;
        st.info.slot = remote_number[i];
        st.info.global_slot = global++;
        st.ev = r.make_evaluator();
        st.remote = true;
        slots_.push_back(std::move(st));
      }
    }
    if (slots_.empty()) throw config_error("engine: no device slots selected");
    live_ = slots_.size();
    const int threads = static_cast<int>(slots_.size()) + 1;  // + the calling thread
    if (static_cast<std::size_t>(threads) >
        tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism)) {
      thread_limit_ = std::make_unique<tbb::global_control>(
          tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(threads));
    }
    arena_ = std::make_unique<tbb::task_arena>(threads);
    arena_->execute([&] {
      // A graph belongs to the arena it is constructed in.
      g_ = std::make_unique<flow::graph>();
      candidates_ = std::make_unique<flow::queue_node<std::size_t>>(*g_);
      tokens_ = std::make_unique<flow::queue_node<int>>(*g_);
      join_ = std::make_unique<flow::join_node<job, flow::reserving>>(*g_);
      work_ = std::make_unique<flow::function_node<job, flow::continue_msg>>(
          *g_, flow::unlimited, [this](const job& j) {
            run(std::get<0>(j), std::get<1>(j));
            return flow::continue_msg{};
          });
      flow::make_edge(*candidates_, flow::input_port<0>(*join_));
      flow::make_edge(*tokens_, flow::input_port<1>(*join_));
      flow::make_edge(*join_, *work_);
      for (const auto& s : slots_) tokens_->try_put(s.info.global_slot);
    });
  }

  ~impl() {
    arena_->execute([&] { g_->wait_for_all(); });
    // An evaluator still running a timed-out measurement on a detached thread outlives it: that
    // thread holds a reference and destroys it when the measurement returns.
  }

  // Takes only what it needs by value/pointer: on a timeout it keeps running on a detached
  // thread after the engine has moved on (or been destroyed).
  static measurement measure_on(evaluator* ev, std::shared_ptr<std::mutex> lock_or_null,
                                const config_code& code, split sp) {
    std::unique_lock<std::mutex> lock;
    if (lock_or_null) lock = std::unique_lock(*lock_or_null);
    return ev->measure(code, sp);
  }

  void run(std::size_t index, int token) {
    auto& s = slots_[static_cast<std::size_t>(token)];
    evaluation& r = (*out_)[index];
    r.code = batch_[index];
    r.hash = hash_config(r.code);
    r.on = split_;
    r.device = s.info.device_id;
    r.slot = s.info.global_slot;
    bool hung = false;
    if (stop_.load(std::memory_order_relaxed)) {
      r.status = eval_status::skipped;
      r.reason = "cancelled";
    } else {
      try {
        measurement m;
        auto lock = !s.remote && app_.cost_is_timed() && !s.ev->manages_timing() ? s.device_lock
                                                                                  : nullptr;
        if (opts_.timeout_s) {
          // A measurement cannot be interrupted safely in C++: it runs on its own thread and,
          // if it overruns, is abandoned and its slot retired (the evaluator stays busy).
          auto task = std::make_shared<std::packaged_task<measurement()>>(
              [ev = s.ev, lock, code = r.code, sp = split_] {
                return measure_on(ev.get(), lock, code, sp);
              });
          auto fut = task->get_future();
          std::thread([task] { (*task)(); }).detach();
          if (fut.wait_for(std::chrono::duration<double>(*opts_.timeout_s)) ==
              std::future_status::timeout) {
            hung = true;
            throw measure_error("timed out after " + std::to_string(*opts_.timeout_s) + " s");
          }
          m = fut.get();
        } else {
          m = measure_on(s.ev.get(), lock, r.code, split_);
        }
        if (!std::isfinite(m.qos) || !std::isfinite(m.cost)) {
          std::ostringstream os;
          os << "measurement returned non-finite values (qos=" << m.qos << ", cost=" << m.cost << ")";
          throw measure_error(os.str());
        }
        if (m.cost <= 0.0) throw measure_error("measurement returned a non-positive cost " +
                                               std::to_string(m.cost));
        r.qos = m.qos;
        r.cost = m.cost;
        r.status = eval_status::ok;
      } catch (const fatal_evaluation_error& e) {
        // The run must end: no further candidate is started, this one is not a result.
        {
          std::lock_guard lk(stats_mutex_);
          if (!fatal_) fatal_ = e.what();
        }
        stop_.store(true);
        r.status = eval_status::skipped;
        r.reason = e.what();
        log_->error("{}", e.what());
      } catch (const std::exception& e) {
        r.status = eval_status::failed;
        r.reason = e.what();
      } catch (...) {
        r.status = eval_status::failed;
        r.reason = "unknown exception";
      }
    }
    bool give_back = true;
    {
      std::lock_guard lk(stats_mutex_);
      if (r.status != eval_status::skipped) ++s.evaluations;
      if (r.status == eval_status::failed) {
        ++s.failures;
        ++s.consecutive_failures;
        log_->warn("evaluation failed on {} slot {}: {}", s.info.device_id, s.info.slot, r.reason);
        if (hung || s.consecutive_failures >= opts_.retire_after_failures) {
          s.retired = true;
          if (hung) s.consecutive_failures = -1;  // marks an evaluator still in use
          give_back = false;
          live_.fetch_sub(1);
          log_->warn("retiring {} slot {} after {}", s.info.device_id, s.info.slot,
                     hung ? "a timed-out evaluation"
                          : std::to_string(opts_.retire_after_failures) + " consecutive failures");
        }
      } else if (r.status == eval_status::ok) {
        s.consecutive_failures = 0;
      }
    }
    if (give_back) tokens_->try_put(token);
  }

  std::vector<evaluation> evaluate(std::span<const config_code> batch, split s) {
    std::vector<evaluation> out(batch.size());
    if (batch.empty()) return out;
    if (live_.load() == 0) throw error("every evaluation slot has been retired");
    batch_ = batch;
    split_ = s;
    out_ = &out;
    arena_->execute([&] {
      for (std::size_t i = 0; i < batch.size(); ++i) candidates_->try_put(i);
      g_->wait_for_all();
    });
    // When every slot retired mid-batch, candidates stay queued: drain them as skipped.
    for (std::size_t i; candidates_->try_get(i);) {
      out[i].code = batch[i];
      out[i].hash = hash_config(batch[i]);
      out[i].on = s;
      out[i].status = eval_status::skipped;
      out[i].reason = "no evaluation slot left";
    }
    out_ = nullptr;
    return out;
  }
};

engine::engine(const app& a, engine_options options)
    : impl_(std::make_unique<impl>(a, std::move(options))) {}
engine::~engine() = default;

std::size_t engine::num_slots() const noexcept { return impl_->slots_.size(); }
std::size_t engine::live_slots() const noexcept { return impl_->live_.load(); }

std::vector<evaluation> engine::evaluate(std::span<const config_code> batch, split s) {
  return impl_->evaluate(batch, s);
}

void engine::request_stop() noexcept { impl_->stop_.store(true); }

std::optional<std::string> engine::fatal() const {
  std::lock_guard lk(impl_->stats_mutex_);
  return impl_->fatal_;
}
bool engine::stop_requested() const noexcept { return impl_->stop_.load(); }

std::vector<slot_stats> engine::stats() const {
  std::lock_guard lk(impl_->stats_mutex_);
  std::vector<slot_stats> out;
  for (const auto& s : impl_->slots_)
    out.push_back({s.info.device_id, s.info.slot, s.evaluations, s.failures, s.retired});
  return out;
}

const std::vector<device_slots>& engine::devices() const noexcept { return impl_->devices_; }

}  // namespace approxtune
