// The evaluation engine: ordering, concurrency, failure isolation, slot retirement, devices.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <random>
#include <thread>

#include "approxtune/runtime/engine.hpp"
#include "approxtune/runtime/error.hpp"
#include "test_ops.hpp"

using namespace approxtune;

namespace {

using test_support::uniform_ops;

// QoS = a function of the config; random sleeps so evaluations finish out of order.
class jitter_app : public app {
 public:
  jitter_app() : app(uniform_ops(4, 5)) {}
  std::string name() const override { return "jitter"; }
  bool cost_is_timed() const override { return false; }
  measurement measure(const config_code& c, split s) const override {
    thread_local std::mt19937 rng(std::random_device{}());
    std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(0, 2000)(rng)));
    const int now = ++running_;
    int prev = max_running_.load();
    while (now > prev && !max_running_.compare_exchange_weak(prev, now)) {
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    --running_;
    double q = 0;
    for (auto k : c) q = q * 10 + k;
    return {q + (s == split::test ? 0.5 : 0.0), 1.0 + q};
  }
  mutable std::atomic<int> running_{0}, max_running_{0};
};

std::vector<config_code> all_codes(const app& a, std::size_t limit) {
  std::vector<config_code> out;
  config_code c(a.space().num_ops(), 0);
  while (out.size() < limit) {
    out.push_back(c);
    std::size_t i = 0;
    while (i < c.size() && ++c[i] == a.space().num_knobs(i)) c[i++] = 0;
    if (i == c.size()) break;
  }
  return out;
}

engine_options cpu_slots(int n) {
  engine_options o;
  o.devices = parse_devices("cpu:" + std::to_string(n), discover_devices());
  return o;
}

}  // namespace

TEST(engine, results_come_back_in_batch_order_with_many_slots) {
  jitter_app a;
  engine e(a, cpu_slots(8));
  EXPECT_EQ(e.num_slots(), 8u);
  const auto batch = all_codes(a, 200);
  auto res = e.evaluate(batch, split::tune);
  ASSERT_EQ(res.size(), batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    EXPECT_EQ(res[i].code, batch[i]);
    EXPECT_EQ(res[i].hash, hash_config(batch[i]));
    ASSERT_TRUE(res[i].ok()) << res[i].reason;
    EXPECT_EQ(res[i].qos, a.measure(batch[i], split::tune).qos);
    EXPECT_EQ(res[i].on, split::tune);
  }
  EXPECT_GT(a.max_running_.load(), 1);   // it really ran concurrently
  EXPECT_LE(a.max_running_.load(), 8);   // never more than one evaluation per slot
  auto test = e.evaluate(std::span(batch).first(3), split::test);
  EXPECT_EQ(test[2].qos, a.measure(batch[2], split::test).qos);
  std::size_t total = 0;
  for (const auto& s : e.stats()) total += s.evaluations;
  EXPECT_EQ(total, 203u);
}

TEST(engine, one_slot_and_many_give_identical_results) {
  jitter_app a;
  engine one(a, cpu_slots(1)), many(a, cpu_slots(6));
  const auto batch = all_codes(a, 64);
  auto r1 = one.evaluate(batch, split::tune);
  auto r2 = many.evaluate(batch, split::tune);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    EXPECT_EQ(r1[i].code, r2[i].code);
    EXPECT_EQ(r1[i].qos, r2[i].qos);
    EXPECT_EQ(r1[i].cost, r2[i].cost);
  }
}

namespace {
class faulty_app : public app {
 public:
  faulty_app() : app(uniform_ops(1, 6)) {}
  std::string name() const override { return "faulty"; }
  bool cost_is_timed() const override { return false; }
  measurement measure(const config_code& c, split) const override {
    switch (c[0]) {
      case 1: throw std::runtime_error("boom in knob 1");
      case 2: return {std::nan(""), 1.0};
      case 3: return {1.0, INFINITY};
      case 4: return {1.0, 0.0};
      case 5: throw 42;
      default: return {1.0, 1.0};
    }
  }
};
}  // namespace

TEST(engine, failures_become_failed_results_with_reasons) {
  faulty_app a;
  engine_options o = cpu_slots(2);
  o.retire_after_failures = 100;
  engine e(a, o);
  std::vector<config_code> batch{{0}, {1}, {2}, {3}, {4}, {5}, {6}};
  auto r = e.evaluate(batch, split::tune);
  EXPECT_TRUE(r[0].ok());
  EXPECT_FALSE(r[1].ok());
  EXPECT_NE(r[1].reason.find("boom in knob 1"), std::string::npos);
  EXPECT_NE(r[2].reason.find("non-finite"), std::string::npos);
  EXPECT_NE(r[3].reason.find("non-finite"), std::string::npos);
  EXPECT_NE(r[4].reason.find("non-positive"), std::string::npos);
  EXPECT_EQ(r[5].reason, "unknown exception");
  EXPECT_TRUE(r[6].ok());  // baseline
  EXPECT_EQ(e.live_slots(), 2u);
}

TEST(engine, slots_that_keep_failing_are_retired_then_the_run_stops) {
  faulty_app a;
  engine_options o = cpu_slots(2);
  o.retire_after_failures = 3;
  engine e(a, o);
  std::vector<config_code> bad(20, config_code{1});
  auto r = e.evaluate(bad, split::tune);
  EXPECT_EQ(e.live_slots(), 0u);
  std::size_t failed = 0, skipped = 0;
  for (const auto& x : r) {
    failed += x.status == eval_status::failed;
    skipped += x.status == eval_status::skipped;
    if (x.status == eval_status::skipped) {
      EXPECT_EQ(x.reason, "no evaluation slot left");
    }
  }
  EXPECT_EQ(failed, 6u);  // 3 per slot, then each slot is retired
  EXPECT_EQ(skipped, 14u);
  for (const auto& s : e.stats()) EXPECT_TRUE(s.retired);
  std::vector<config_code> good{{0}};
  EXPECT_THROW(e.evaluate(good, split::tune), error);
}

TEST(engine, successes_reset_the_failure_count) {
  faulty_app a;
  engine_options o = cpu_slots(1);
  o.retire_after_failures = 2;
  engine e(a, o);
  std::vector<config_code> mixed;
  for (int i = 0; i < 10; ++i) {
    mixed.push_back({1});
    mixed.push_back({0});
  }
  auto r = e.evaluate(mixed, split::tune);
  EXPECT_EQ(e.live_slots(), 1u);
  EXPECT_TRUE(r.back().ok());
}

namespace {
class hanging_app : public app {
 public:
  hanging_app() : app(uniform_ops(1, 2)) {}
  std::string name() const override { return "hang"; }
  bool cost_is_timed() const override { return false; }
  measurement measure(const config_code& c, split) const override {
    if (c[0] == 1) std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    return {1.0, 1.0};
  }
};
}  // namespace

TEST(engine, timeouts_fail_the_evaluation_and_retire_the_busy_slot) {
  hanging_app a;
  engine_options o = cpu_slots(2);
  o.timeout_s = 0.2;
  engine e(a, o);
  std::vector<config_code> batch{{1}, {0}, {0}, {0}};
  auto r = e.evaluate(batch, split::tune);
  EXPECT_FALSE(r[0].ok());
  EXPECT_NE(r[0].reason.find("timed out"), std::string::npos);
  for (std::size_t i = 1; i < r.size(); ++i) EXPECT_TRUE(r[i].ok()) << r[i].reason;
  EXPECT_EQ(e.live_slots(), 1u);
  std::this_thread::sleep_for(std::chrono::milliseconds(1600));  // let the abandoned call end
}

TEST(engine, stop_request_cancels_queued_candidates) {
  jitter_app a;
  engine e(a, cpu_slots(2));
  e.request_stop();
  auto r = e.evaluate(all_codes(a, 5), split::tune);
  for (const auto& x : r) {
    EXPECT_EQ(x.reason, "cancelled");
    EXPECT_EQ(x.status, eval_status::skipped);
  }
}

namespace {
// Timed cost: the engine must never let two timed measurements overlap on one device.
class timed_app : public app {
 public:
  timed_app() : app(uniform_ops(2, 3)) {}
  std::string name() const override { return "timed"; }
  measurement measure(const config_code&, split) const override {
    const int now = ++running_;
    int prev = max_running_.load();
    while (now > prev && !max_running_.compare_exchange_weak(prev, now)) {
    }
    std::this_thread::sleep_for(std::chrono::microseconds(300));
    --running_;
    return {1.0, 1.0};
  }
  mutable std::atomic<int> running_{0}, max_running_{0};
};
}  // namespace

TEST(engine, timed_costs_are_measured_exclusively_per_device) {
  timed_app a;
  engine e(a, cpu_slots(4));
  auto r = e.evaluate(all_codes(a, 9), split::tune);
  for (const auto& x : r) EXPECT_TRUE(x.ok());
  EXPECT_EQ(a.max_running_.load(), 1);
}

TEST(devices, discovery_always_has_the_cpu_and_no_crash_without_gpu) {
  auto d = discover_devices();
  ASSERT_FALSE(d.empty());
  EXPECT_EQ(d[0].id, "cpu");
  EXPECT_EQ(d[0].kind, "cpu");
  EXPECT_GE(d[0].default_slots, 1);
  for (std::size_t i = 1; i < d.size(); ++i) EXPECT_EQ(d[i].kind, "gpu");
}

TEST(devices, parse_specs) {
  auto avail = discover_devices();
  auto all = parse_devices("", avail);
  EXPECT_EQ(all.size(), avail.size());
  auto c = parse_devices("cpu:3", avail);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].slots, 3);
  EXPECT_EQ(parse_devices("cpu", avail)[0].slots, avail[0].default_slots);
  try {
    parse_devices("cuda:7:2", avail);
    FAIL();
  } catch (const config_error& e) {
    EXPECT_NE(std::string(e.what()).find("cuda:7"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("available: cpu"), std::string::npos);
  }
  EXPECT_THROW(parse_devices("cpu:0", avail), config_error);
  EXPECT_THROW(parse_devices("cpu:x", avail), config_error);
  EXPECT_THROW(parse_devices("cpu:2,cpu:1", avail), config_error);
  EXPECT_THROW(parse_devices("tpu", avail), config_error);
  EXPECT_THROW(parse_devices("cpu,", avail), config_error);
}
