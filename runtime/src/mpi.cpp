#include "approxtune/runtime/mpi.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "approxtune/runtime/error.hpp"
#include "approxtune/runtime/logging.hpp"

#if defined(APPROXTUNE_WITH_MPI)
#include <mpi.h>
#if defined(__linux__)
#include <sys/prctl.h>
#endif
#endif

namespace approxtune::mpi {

bool launched_under_mpi() noexcept {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"})
    if (std::getenv(v) != nullptr) return true;
  return false;
}

#if defined(APPROXTUNE_WITH_MPI)

namespace {

constexpr int hello_tag = 1;
constexpr int job_tag = 2;       // rank 0 -> worker: lane (2 x u16), split, config code
constexpr int result_tag = 3;    // worker -> rank 0: a wire_result
constexpr int shutdown_tag = 4;  // rank 0 -> worker: stop serving
constexpr std::size_t job_header = 3;  // u16 words before the config code

// A result on the wire: plain bytes, same layout on every rank of one build.
struct wire_result {
  std::uint32_t lane;
  std::int32_t failed;
  double qos;
  double cost;
  char reason[496];
};

void check(int rc, const char* what) {
  if (rc != MPI_SUCCESS) {
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    throw error(std::string("MPI: ") + what + " failed: " + std::string(msg, static_cast<std::size_t>(len)));
  }
}

// Naps of a polling thread are short (tens of microseconds): the default 50 us timer slack of
// Linux would triple them.
void precise_naps() noexcept {
#if defined(__linux__)
  (void)prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
#endif
}

/**
 * Polling cadence of a progress thread. MPI has no wait that sleeps (Open MPI's blocking calls
 * spin a core, which the evaluations need), so the one thread per process that talks to MPI
 * probes and then waits on a condition variable for at most `next(cap)`: 10 us after a
 * message, doubling up to the cap the caller gives for its state, and up to `idle_cap` once
 * nothing arrived for `idle_after` (an idle rank then wakes ~500 times a second).
 */
class backoff {
 public:
  using clock = std::chrono::steady_clock;
  using us = std::chrono::microseconds;
  void reset() {
    nap_ = first;
    last_ = clock::now();
  }
  us next(us cap) {
    const us now = nap_;
    if (clock::now() - last_ > idle_after) cap = std::max(cap, idle_cap);
    nap_ = std::min(nap_ * 2, cap);
    return std::min(now, cap);
  }

  static constexpr us first{10}, idle_cap{2000};
  static constexpr std::chrono::milliseconds idle_after{200};

 private:
  us nap_ = first;
  clock::time_point last_ = clock::now();
};

/**
 * Rank 0's side of the protocol: one lane per candidate that may be in flight on a worker slot
 * (`depth` lanes per slot). An evaluator of a lane queues its job and sleeps on a condition
 * variable; one progress thread alone calls MPI: it sends the queued jobs, probes for results
 * (only while some lane waits) and wakes the lane a result names. Lanes are created before any
 * job is sent and never removed.
 */
class result_hub {
 public:
  // While more candidates are out than there are worker slots, some wait queued behind a
  // running one and a result's latency is mostly hidden (the worker goes on with the queued
  // one): probe at most every `bulk_cap`. Once fewer are out (the end of a batch is near),
  // every late result delays the batch: probe within `tail_cap`.
  static constexpr backoff::us tail_cap{100}, bulk_cap{1000};

  ~result_hub() { stop(); }

  int add_lane(int rank, int slot) {
    std::lock_guard lk(mutex_);
    lanes_.emplace_back();
    lanes_.back().rank = rank;
    lanes_.back().slot = slot;
    if (std::find(slot_ids_.begin(), slot_ids_.end(), std::make_pair(rank, slot)) == slot_ids_.end())
      slot_ids_.emplace_back(rank, slot);
    return static_cast<int>(lanes_.size()) - 1;
  }

  measurement exchange(int lane_id, const config_code& code, split s, double timeout_s) {
    job j;
    j.msg.reserve(code.size() + job_header);
    j.msg.push_back(static_cast<std::uint16_t>(lane_id & 0xffff));
    j.msg.push_back(static_cast<std::uint16_t>(static_cast<std::uint32_t>(lane_id) >> 16));
    j.msg.push_back(static_cast<std::uint16_t>(s));
    j.msg.insert(j.msg.end(), code.begin(), code.end());
    std::unique_lock lk(mutex_);
    lane& l = lanes_[static_cast<std::size_t>(lane_id)];
    j.rank = l.rank;
    if (stopped_) throw fatal_evaluation_error("MPI: the connection to the workers is closed");
    if (!progress_.joinable()) progress_ = std::thread([this] { progress_loop(); });
    l.waiting = true;
    l.ready = false;
    ++waiting_;
    outbox_.push_back(std::move(j));
    work_.notify_one();
    const bool answered = l.cv.wait_for(lk, std::chrono::duration<double>(timeout_s),
                                        [&] { return l.ready || stopped_; });
    if (!l.ready) {
      // A late answer for this lane is dropped by the progress thread (the run is ending).
      l.waiting = false;
      --waiting_;
      if (!answered) {
        lost_worker_ = true;
        throw fatal_evaluation_error(
            "MPI worker rank " + std::to_string(l.rank) + " (slot " + std::to_string(l.slot) +
            ") did not answer within " + std::to_string(timeout_s) + " s; ending the job");
      }
      throw fatal_evaluation_error("MPI: the connection to the workers was closed");
    }
    wire_result res = l.result;
    const int rank = l.rank;
    lk.unlock();
    if (res.failed != 0) {
      res.reason[sizeof res.reason - 1] = '\0';
      throw measure_error("on rank " + std::to_string(rank) + ": " + res.reason);
    }
    return {res.qos, res.cost};
  }

  /** True once a worker did not answer in time (it may be hung: MPI_Finalize would wait). */
  bool lost_worker() const noexcept { return lost_worker_.load(); }

  /** Joins the progress thread; waiting lanes fail. Idempotent. */
  void stop() {
    {
      std::lock_guard lk(mutex_);
      stopped_ = true;
      for (auto& l : lanes_) l.cv.notify_all();
    }
    work_.notify_all();
    if (progress_.joinable()) progress_.join();
  }

 private:
  struct lane {
    int rank = 0, slot = 0;
    bool waiting = false, ready = false;
    wire_result result{};
    std::condition_variable cv;
  };
  struct job {
    int rank = 0;
    std::vector<std::uint16_t> msg;
  };

  void progress_loop() {
    precise_naps();
    backoff pace;
    std::deque<job> sending;
    for (;;) {
      {
        std::unique_lock lk(mutex_);
        if (outbox_.empty() && !stopped_) {
          if (waiting_ == 0) {
            // Nothing in flight: sleep until a lane queues a job (no polling at all).
            work_.wait(lk, [&] { return stopped_ || !outbox_.empty(); });
          } else {
            const auto cap = static_cast<std::size_t>(waiting_) > slot_ids_.size() ? bulk_cap : tail_cap;
            work_.wait_for(lk, pace.next(cap), [&] { return stopped_ || !outbox_.empty(); });
          }
        }
        if (stopped_) return;
        sending.swap(outbox_);
      }
      for (auto& j : sending)
        check(MPI_Send(j.msg.data(), static_cast<int>(j.msg.size()), MPI_UINT16_T, j.rank, job_tag,
                       MPI_COMM_WORLD),
              "MPI_Send");
      sending.clear();
      for (;;) {
        int flag = 0;
        MPI_Message m;
        MPI_Status st;
        check(MPI_Improbe(MPI_ANY_SOURCE, result_tag, MPI_COMM_WORLD, &flag, &m, &st), "MPI_Improbe");
        if (!flag) break;
        pace.reset();
        wire_result res{};
        check(MPI_Mrecv(&res, sizeof res, MPI_BYTE, &m, MPI_STATUS_IGNORE), "MPI_Mrecv");
        std::lock_guard lk(mutex_);
        if (res.lane >= lanes_.size()) continue;
        lane& l = lanes_[res.lane];
        if (!l.waiting || l.rank != st.MPI_SOURCE) continue;
        l.result = res;
        l.ready = true;
        l.waiting = false;
        --waiting_;
        l.cv.notify_one();
      }
    }
  }

  std::mutex mutex_;
  std::condition_variable work_;
  std::deque<lane> lanes_;  // stable addresses
  std::vector<std::pair<int, int>> slot_ids_;  // (rank, slot) of the worker slots
  std::deque<job> outbox_;
  int waiting_ = 0;
  bool stopped_ = false;
  std::atomic<bool> lost_worker_{false};
  std::thread progress_;
};

// The hub of this process (rank 0 of a distributed run), stopped before MPI_Finalize.
std::mutex hub_mutex;
std::shared_ptr<result_hub> the_hub;

// Stops the hub; true when a worker was lost (timed out).
bool stop_hub() {
  std::shared_ptr<result_hub> h;
  {
    std::lock_guard lk(hub_mutex);
    h = the_hub;
  }
  if (!h) return false;
  h->stop();
  return h->lost_worker();
}

class remote_evaluator final : public evaluator {
 public:
  remote_evaluator(std::shared_ptr<result_hub> hub, int lane, double timeout_s)
      : hub_(std::move(hub)), lane_(lane), timeout_s_(timeout_s) {}

  measurement measure(const config_code& code, split s) override {
    return hub_->exchange(lane_, code, s, timeout_s_);
  }

 private:
  std::shared_ptr<result_hub> hub_;
  int lane_;
  double timeout_s_;
};

}  // namespace

bool built_with_mpi() noexcept { return true; }

session::session(int* argc, char*** argv) {
  if (!launched_under_mpi()) return;
  int provided = 0;
  check(MPI_Init_thread(argc, argv, MPI_THREAD_MULTIPLE, &provided), "MPI_Init_thread");
  initialized_ = true;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  if (provided < MPI_THREAD_MULTIPLE && size_ > 1) {
    // One progress thread makes the MPI calls during a run, the main thread before and after,
    // and an error may call MPI_Abort from any thread: ask for full thread support.
    MPI_Finalize();
    initialized_ = false;
    throw error("MPI: the MPI library does not provide MPI_THREAD_MULTIPLE, which approxtune needs");
  }
}

session::~session() {
  // A hung worker would never reach MPI_Finalize, and rank 0 would wait for it there: end the
  // job instead (rank 0 has already reported the error and kept its results).
  const bool lost = stop_hub();
  if (initialized_ && lost) MPI_Abort(MPI_COMM_WORLD, 1);
  if (initialized_) MPI_Finalize();
}

void session::abort(int code) const {
  if (initialized_) MPI_Abort(MPI_COMM_WORLD, code);
}

std::string broadcast_text(const session& s, const std::string& text) {
  if (!s.distributed()) return text;
  unsigned long long n = s.rank() == 0 ? text.size() : 0;
  check(MPI_Bcast(&n, 1, MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD), "MPI_Bcast");
  std::string out = s.rank() == 0 ? text : std::string(n, '\0');
  check(MPI_Bcast(out.data(), static_cast<int>(n), MPI_CHAR, 0, MPI_COMM_WORLD), "MPI_Bcast");
  return out;
}

std::vector<remote_slot> connect_workers(const session& s, const cluster_options& o) {
  if (o.depth < 1) throw config_error("MPI: the prefetch depth must be at least 1");
  std::vector<remote_slot> out;
  auto log = o.logger ? o.logger : logger();
  auto hub = std::make_shared<result_hub>();
  for (int r = 1; r < s.size(); ++r) {
    MPI_Status st;
    check(MPI_Probe(r, hello_tag, MPI_COMM_WORLD, &st), "MPI_Probe");
    int n = 0;
    MPI_Get_count(&st, MPI_CHAR, &n);
    std::string text(static_cast<std::size_t>(n), '\0');
    check(MPI_Recv(text.data(), n, MPI_CHAR, r, hello_tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE), "MPI_Recv");
    const auto hello = nlohmann::json::parse(text);
    if (hello.contains("error")) {
      throw error("MPI worker rank " + std::to_string(r) + " could not start: " +
                  hello["error"].get<std::string>());
    }
    int k = 0;
    for (const auto& slot : hello.at("slots")) {
      const int slot_index = k++;
      const double timeout = o.worker_timeout_s;
      // Each lane of the slot gets its own evaluator (the engine calls them concurrently).
      out.push_back({"rank" + std::to_string(r) + ":" + slot.at("device").get<std::string>(),
                     slot.at("kind").get<std::string>(),
                     [hub, r, slot_index, timeout] {
                       return std::make_unique<remote_evaluator>(hub, hub->add_lane(r, slot_index),
                                                                 timeout);
                     },
                     o.depth});
    }
    log->info("rank {}: {}", r, hello.at("summary").get<std::string>());
  }
  std::lock_guard lk(hub_mutex);
  the_hub = hub;
  return out;
}

void shutdown_workers(const session& s) {
  stop_hub();
  for (int r = 1; r < s.size(); ++r) {
    const char bye = 0;
    check(MPI_Send(&bye, 1, MPI_CHAR, r, shutdown_tag, MPI_COMM_WORLD), "MPI_Send");
  }
}

void serve(const session& s, const app& a, const std::vector<device_slots>& local,
           const cluster_options& o) {
  auto log = o.logger ? o.logger : logger();
  struct slot {
    slot_info info;
    std::unique_ptr<evaluator> ev;
    std::shared_ptr<std::mutex> lock;
  };
  std::vector<slot> slots;
  nlohmann::json hello;
  std::string summary;
  try {
    for (const auto& d : local) {
      auto lock = std::make_shared<std::mutex>();
      for (int k = 0; k < d.slots; ++k) {
        slot sl;
        sl.info.device_id = d.device.id;
        sl.info.device_kind = d.device.kind;
        sl.info.device_index = d.device.index;
        sl.info.slot = k;
        sl.info.global_slot = static_cast<int>(slots.size());
        sl.info.timing_lock = lock.get();
        sl.lock = lock;
        sl.ev = a.make_evaluator(sl.info);
        hello["slots"].push_back({{"device", d.device.id}, {"kind", d.device.kind}});
        slots.push_back(std::move(sl));
      }
      summary += (summary.empty() ? "" : ", ") + d.device.id + " (" + d.device.name + ") x" +
                 std::to_string(d.slots);
    }
    hello["summary"] = summary;
  } catch (const std::exception& e) {
    hello = {{"error", e.what()}};
  }
  const std::string text = hello.dump();
  check(MPI_Send(text.data(), static_cast<int>(text.size()), MPI_CHAR, 0, hello_tag, MPI_COMM_WORLD),
        "MPI_Send");
  if (hello.contains("error")) return;

  // Jobs rank 0 sent and no slot has taken yet (at most `depth` per slot: rank 0 bounds them).
  // Any free slot of this rank takes the oldest. This thread alone talks to MPI: it sends the
  // slots' results, takes in jobs, and waits on a condition variable in between (woken at once
  // by a result). While some slot has nothing to do it probes often; while every slot is busy
  // or has a job queued, a new job only needs to be here before a slot frees, and a result
  // wakes the thread anyway: it probes every `busy_wait` then.
  constexpr backoff::us hungry_cap{100}, busy_wait{2000};
  const bool timed = a.cost_is_timed();
  const std::size_t n_ops = a.space().num_ops();
  std::mutex mutex;
  std::condition_variable queued, progress;
  std::deque<std::vector<std::uint16_t>> jobs;
  std::deque<wire_result> results;
  std::size_t free_slots = slots.size();
  bool done = false;
  auto work = [&](slot& sl) {
    for (;;) {
      std::vector<std::uint16_t> msg;
      {
        std::unique_lock lk(mutex);
        queued.wait(lk, [&] { return done || !jobs.empty(); });
        if (done) return;
        msg = std::move(jobs.front());
        jobs.pop_front();
        --free_slots;
      }
      wire_result res{};
      res.lane = static_cast<std::uint32_t>(msg[0]) | (static_cast<std::uint32_t>(msg[1]) << 16);
      try {
        if (msg.size() != n_ops + job_header)
          throw error("MPI: a job of " + std::to_string(msg.size() - job_header) +
                      " ops reached a worker whose app has " + std::to_string(n_ops));
        config_code code(msg.begin() + job_header, msg.end());
        std::unique_lock<std::mutex> lk;
        if (timed && !sl.ev->manages_timing()) lk = std::unique_lock(*sl.lock);
        const auto m = sl.ev->measure(code, static_cast<split>(msg[2]));
        res.qos = m.qos;
        res.cost = m.cost;
      } catch (const std::exception& e) {
        res.failed = 1;
        std::strncpy(res.reason, e.what(), sizeof res.reason - 1);
      } catch (...) {
        res.failed = 1;
        std::strncpy(res.reason, "unknown exception", sizeof res.reason - 1);
      }
      {
        std::lock_guard lk(mutex);
        results.push_back(res);
        ++free_slots;
      }
      progress.notify_one();
    }
  };
  std::vector<std::thread> threads;
  for (auto& sl : slots) threads.emplace_back(work, std::ref(sl));
  auto finish = [&] {
    {
      std::lock_guard lk(mutex);
      done = true;  // queued jobs are dropped: rank 0 no longer waits for them
    }
    queued.notify_all();
    for (auto& t : threads) t.join();
  };

  precise_naps();
  backoff pace;
  std::deque<wire_result> sending;
  try {
    for (bool stop = false; !stop;) {
      {
        std::unique_lock lk(mutex);
        if (results.empty()) {
          const bool hungry = free_slots > jobs.size();
          progress.wait_for(lk, hungry ? pace.next(hungry_cap) : busy_wait,
                            [&] { return !results.empty(); });
        }
        sending.swap(results);
      }
      for (const auto& res : sending)
        check(MPI_Send(&res, sizeof res, MPI_BYTE, 0, result_tag, MPI_COMM_WORLD), "MPI_Send");
      sending.clear();
      for (;;) {
        int flag = 0;
        MPI_Message m;
        MPI_Status st;
        check(MPI_Improbe(0, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &m, &st), "MPI_Improbe");
        if (!flag) break;
        pace.reset();
        if (st.MPI_TAG == shutdown_tag) {
          char bye = 0;
          check(MPI_Mrecv(&bye, 1, MPI_CHAR, &m, MPI_STATUS_IGNORE), "MPI_Mrecv");
          stop = true;
          break;
        }
        int n = 0;
        MPI_Get_count(&st, MPI_UINT16_T, &n);
        std::vector<std::uint16_t> msg(static_cast<std::size_t>(std::max(n, 0)));
        check(MPI_Mrecv(msg.data(), n, MPI_UINT16_T, &m, MPI_STATUS_IGNORE), "MPI_Mrecv");
        if (st.MPI_TAG != job_tag || msg.size() < job_header) continue;  // not ours: ignored
        {
          std::lock_guard lk(mutex);
          jobs.push_back(std::move(msg));
        }
        queued.notify_one();
      }
    }
  } catch (...) {
    finish();
    throw;
  }
  finish();
  log->info("rank {}: served until shutdown", s.rank());
}

#else  // built without MPI: one process, nothing to connect

bool built_with_mpi() noexcept { return false; }
std::string broadcast_text(const session&, const std::string& text) { return text; }
session::session(int*, char***) {}
session::~session() = default;
void session::abort(int) const {}
std::vector<remote_slot> connect_workers(const session&, const cluster_options&) { return {}; }
void shutdown_workers(const session&) {}
void serve(const session&, const app&, const std::vector<device_slots>&, const cluster_options&) {}

#endif

}  // namespace approxtune::mpi
