// Remote slots with a prefetch depth (the engine side of distributed tuning): lanes, order of
// results, the bound on candidates in flight per slot, a small batch spread over slots first,
// and a stalled slot that holds no more than its depth while the others do the rest.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <random>
#include <thread>

#include "approxtune/runtime/engine.hpp"
#include "approxtune/runtime/error.hpp"
#include "test_ops.hpp"

using namespace approxtune;

namespace {

using test_support::uniform_ops;

class modelled_app : public app {
 public:
  modelled_app() : app(uniform_ops(5, 4)) {}
  std::string name() const override { return "modelled"; }
  bool cost_is_timed() const override { return false; }
  measurement measure(const config_code& c, split s) const override {
    double q = 0;
    for (auto k : c) q = q * 7 + k;
    return {q + (s == split::test ? 0.25 : 0.0), 1.0 + q};
  }
};

std::vector<config_code> random_codes(const app& a, std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<config_code> out;
  for (std::size_t i = 0; i < n; ++i) {
    config_code c(a.space().num_ops());
    for (std::size_t o = 0; o < c.size(); ++o)
      c[o] = static_cast<std::uint16_t>(std::uniform_int_distribution<std::size_t>(0, a.space().num_knobs(o) - 1)(rng));
    out.push_back(c);
  }
  return out;
}

// A stand-in for a worker slot on another rank: the candidates of all its lanes queue there and
// run one at a time. Counts what it holds (sent, not yet answered) and what it ran.
struct fake_worker_slot {
  const app* a = nullptr;
  std::mutex serial;                   // the remote slot runs one candidate at a time
  std::atomic<int> held{0}, max_held{0}, runs{0};
  std::function<void()> before_run;    // e.g. a random delay, or a gate
};

class fake_remote_evaluator final : public evaluator {
 public:
  explicit fake_remote_evaluator(std::shared_ptr<fake_worker_slot> w) : w_(std::move(w)) {}
  measurement measure(const config_code& c, split s) override {
    const int now = ++w_->held;
    int prev = w_->max_held.load();
    while (now > prev && !w_->max_held.compare_exchange_weak(prev, now)) {
    }
    measurement m;
    {
      std::lock_guard lk(w_->serial);
      if (w_->before_run) w_->before_run();
      m = w_->a->measure(c, s);
      ++w_->runs;
    }
    --w_->held;
    return m;
  }

 private:
  std::shared_ptr<fake_worker_slot> w_;
};

remote_slot remote(const std::string& id, std::shared_ptr<fake_worker_slot> w, int depth) {
  return {id, "cpu", [w] { return std::make_unique<fake_remote_evaluator>(w); }, depth};
}

}  // namespace

TEST(remote_slots, lanes_bound_what_is_in_flight_and_results_match_the_app) {
  modelled_app a;
  for (int depth : {1, 2, 3}) {
    std::vector<std::shared_ptr<fake_worker_slot>> workers;
    engine_options o;
    o.local_slots = false;
    for (int k = 0; k < 3; ++k) {
      auto w = std::make_shared<fake_worker_slot>();
      w->a = &a;
      w->before_run = [] {
        thread_local std::mt19937 rng(std::random_device{}());
        std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(0, 1500)(rng)));
      };
      workers.push_back(w);
      o.remote.push_back(remote("rank" + std::to_string(k / 2 + 1) + ":cpu", w, depth));
    }
    engine e(a, o);
    EXPECT_EQ(e.num_slots(), static_cast<std::size_t>(3 * depth));
    const auto batch = random_codes(a, 150, 17u + static_cast<std::uint32_t>(depth));
    const auto res = e.evaluate(batch, split::test);
    ASSERT_EQ(res.size(), batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) {
      ASSERT_TRUE(res[i].ok()) << res[i].reason;
      EXPECT_EQ(res[i].code, batch[i]);
      const auto m = a.measure(batch[i], split::test);
      EXPECT_EQ(res[i].qos, m.qos);
      EXPECT_EQ(res[i].cost, m.cost);
    }
    int runs = 0;
    for (const auto& w : workers) {
      EXPECT_LE(w->max_held.load(), depth) << "depth " << depth;
      EXPECT_GE(w->max_held.load(), 1);
      runs += w->runs.load();
    }
    EXPECT_EQ(runs, 150);
    // Lanes keep their slot's device and number: rank1 has slots 0 and 1, rank2 slot 0.
    std::size_t counted = 0;
    for (const auto& st : e.stats()) {
      counted += st.evaluations;
      EXPECT_TRUE((st.device == "rank1:cpu" && (st.slot == 0 || st.slot == 1)) ||
                  (st.device == "rank2:cpu" && st.slot == 0))
          << st.device << " " << st.slot;
    }
    EXPECT_EQ(counted, 150u);
  }
}

TEST(remote_slots, a_small_batch_goes_one_per_slot_before_any_slot_gets_two) {
  modelled_app a;
  engine_options o;
  o.local_slots = false;
  std::vector<std::shared_ptr<fake_worker_slot>> workers;
  // Every candidate waits until all four have started: a slot given two would deadlock on its
  // serial lock, so the gate gives up after a while and the count below fails instead.
  auto started = std::make_shared<std::atomic<int>>(0);
  for (int k = 0; k < 4; ++k) {
    auto w = std::make_shared<fake_worker_slot>();
    w->a = &a;
    w->before_run = [started] {
      ++*started;
      const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      while (started->load() < 4 && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    };
    workers.push_back(w);
    o.remote.push_back(remote("rank1:cpu", w, 2));
  }
  engine e(a, o);
  const auto res = e.evaluate(random_codes(a, 4, 5u), split::tune);
  for (const auto& r : res) EXPECT_TRUE(r.ok()) << r.reason;
  for (const auto& w : workers) EXPECT_EQ(w->runs.load(), 1);
}

TEST(remote_slots, a_stalled_slot_holds_at_most_its_depth_and_the_others_do_the_rest) {
  modelled_app a;
  for (int depth : {1, 2}) {
    engine_options o;
    o.local_slots = false;
    auto fast = std::make_shared<fake_worker_slot>();
    auto stalled = std::make_shared<fake_worker_slot>();
    fast->a = stalled->a = &a;
    // The stalled slot answers only once everything else of the batch is done (or after a
    // generous limit, so a hoarding engine fails the counts instead of hanging).
    const int batch_size = 40;
    std::mutex m;
    std::condition_variable cv;
    std::atomic<int> others_done{0};
    stalled->before_run = [&] {
      std::unique_lock lk(m);
      cv.wait_for(lk, std::chrono::seconds(10),
                  [&] { return others_done.load() >= batch_size - depth; });
    };
    fast->before_run = [&] {
      ++others_done;
      cv.notify_all();
    };
    o.remote.push_back(remote("rank1:cpu", stalled, depth));
    o.remote.push_back(remote("rank2:cpu", fast, depth));
    engine e(a, o);
    const auto batch = random_codes(a, batch_size, 99u);
    const auto res = e.evaluate(batch, split::tune);
    for (const auto& r : res) ASSERT_TRUE(r.ok()) << r.reason;
    EXPECT_EQ(stalled->runs.load(), depth) << "depth " << depth;
    EXPECT_EQ(fast->runs.load(), batch_size - depth) << "depth " << depth;
    EXPECT_EQ(stalled->max_held.load(), depth);
  }
}

TEST(remote_slots, a_depth_below_one_is_refused_naming_the_slot) {
  modelled_app a;
  auto w = std::make_shared<fake_worker_slot>();
  w->a = &a;
  engine_options o;
  o.local_slots = false;
  o.remote.push_back(remote("rank3:cpu", w, 0));
  try {
    engine e(a, o);
    FAIL() << "depth 0 accepted";
  } catch (const config_error& e) {
    EXPECT_NE(std::string(e.what()).find("rank3:cpu"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("depth 0"), std::string::npos) << e.what();
  }
}
