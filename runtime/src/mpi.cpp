#include "approxtune/runtime/mpi.hpp"

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "approxtune/runtime/error.hpp"
#include "approxtune/runtime/logging.hpp"

#if defined(APPROXTUNE_WITH_MPI)
#include <mpi.h>
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
constexpr int slot_tag_base = 100;          // job and result of worker slot k use tag 100 + k
constexpr std::uint16_t shutdown_split = 0xffff;

// A result on the wire: plain bytes, same layout on every rank of one build.
struct wire_result {
  double qos;
  double cost;
  std::int32_t failed;
  char reason[500];
};

void check(int rc, const char* what) {
  if (rc != MPI_SUCCESS) {
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    throw error(std::string("MPI: ") + what + " failed: " + std::string(msg, static_cast<std::size_t>(len)));
  }
}

// Waits for a request without spinning a core: MPI's blocking calls busy-poll, which would
// steal the CPU the evaluations need. Backs off from 20 us to 250 us between tests (a few
// thousand wake-ups per second at most: negligible CPU, and at most ~0.25 ms added latency).
bool wait_polling(MPI_Request& req, double timeout_s) {
  using clock = std::chrono::steady_clock;
  const auto deadline = clock::now() + std::chrono::duration<double>(timeout_s);
  auto nap = std::chrono::microseconds(20);
  for (;;) {
    int done = 0;
    check(MPI_Test(&req, &done, MPI_STATUS_IGNORE), "MPI_Test");
    if (done) return true;
    if (timeout_s > 0 && clock::now() > deadline) return false;
    std::this_thread::sleep_for(nap);
    nap = std::min(nap * 2, std::chrono::microseconds(250));
  }
}

class remote_evaluator final : public evaluator {
 public:
  remote_evaluator(int rank, int slot, double timeout_s)
      : rank_(rank), slot_(slot), timeout_s_(timeout_s) {}

  measurement measure(const config_code& code, split s) override {
    std::vector<std::uint16_t> msg;
    msg.reserve(code.size() + 1);
    msg.push_back(static_cast<std::uint16_t>(s));
    msg.insert(msg.end(), code.begin(), code.end());
    wire_result res{};
    MPI_Request req;
    check(MPI_Irecv(&res, sizeof res, MPI_BYTE, rank_, slot_tag_base + slot_, MPI_COMM_WORLD, &req),
          "MPI_Irecv");
    check(MPI_Send(msg.data(), static_cast<int>(msg.size()), MPI_UINT16_T, rank_,
                   slot_tag_base + slot_, MPI_COMM_WORLD),
          "MPI_Send");
    if (!wait_polling(req, timeout_s_)) {
      throw fatal_evaluation_error("MPI worker rank " + std::to_string(rank_) + " (slot " +
                                   std::to_string(slot_) + ") did not answer within " +
                                   std::to_string(timeout_s_) + " s; ending the job");
    }
    if (res.failed != 0) {
      res.reason[sizeof res.reason - 1] = '\0';
      throw measure_error(std::string("on rank ") + std::to_string(rank_) + ": " + res.reason);
    }
    return {res.qos, res.cost};
  }

 private:
  int rank_, slot_;
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
    // Slots talk to their ranks from several threads at once.
    MPI_Finalize();
    initialized_ = false;
    throw error("MPI: the MPI library does not provide MPI_THREAD_MULTIPLE, which approxtune needs");
  }
}

session::~session() {
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
  std::vector<remote_slot> out;
  auto log = o.logger ? o.logger : logger();
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
      out.push_back({"rank" + std::to_string(r) + ":" + slot.at("device").get<std::string>(),
                     slot.at("kind").get<std::string>(), [r, slot_index, timeout] {
                       return std::make_unique<remote_evaluator>(r, slot_index, timeout);
                     }});
    }
    log->info("rank {}: {}", r, hello.at("summary").get<std::string>());
  }
  return out;
}

void shutdown_workers(const session& s) {
  for (int r = 1; r < s.size(); ++r) {
    // One shutdown on the worker's slot 0 stops all its slots (they watch a shared flag).
    const std::uint16_t bye = shutdown_split;
    check(MPI_Send(&bye, 1, MPI_UINT16_T, r, slot_tag_base, MPI_COMM_WORLD), "MPI_Send");
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

  const bool timed = a.cost_is_timed();
  const std::size_t n_ops = a.space().num_ops();
  std::atomic<bool> done{false};
  auto work = [&](slot& sl) {
    std::vector<std::uint16_t> msg(n_ops + 1);
    while (!done.load()) {
      MPI_Request req;
      check(MPI_Irecv(msg.data(), static_cast<int>(msg.size()), MPI_UINT16_T, 0,
                      slot_tag_base + sl.info.global_slot, MPI_COMM_WORLD, &req),
            "MPI_Irecv");
      // Poll with a short timeout so the thread notices `done` (set by slot 0's shutdown).
      while (!wait_polling(req, 0.05)) {
        if (done.load()) {
          MPI_Cancel(&req);
          MPI_Wait(&req, MPI_STATUS_IGNORE);
          return;
        }
      }
      if (msg[0] == shutdown_split) {
        done.store(true);
        return;
      }
      wire_result res{};
      try {
        config_code code(msg.begin() + 1, msg.end());
        std::unique_lock<std::mutex> lk;
        if (timed && !sl.ev->manages_timing()) lk = std::unique_lock(*sl.lock);
        const auto m = sl.ev->measure(code, static_cast<split>(msg[0]));
        res.qos = m.qos;
        res.cost = m.cost;
      } catch (const std::exception& e) {
        res.failed = 1;
        std::strncpy(res.reason, e.what(), sizeof res.reason - 1);
      } catch (...) {
        res.failed = 1;
        std::strncpy(res.reason, "unknown exception", sizeof res.reason - 1);
      }
      check(MPI_Send(&res, sizeof res, MPI_BYTE, 0, slot_tag_base + sl.info.global_slot, MPI_COMM_WORLD),
            "MPI_Send");
    }
  };
  std::vector<std::thread> threads;
  for (auto& sl : slots) threads.emplace_back(work, std::ref(sl));
  for (auto& t : threads) t.join();
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
