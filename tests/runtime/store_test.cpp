// The results store: round trips against the rows written, batching, schema and file errors
// (corrupt, foreign, other version, locked, read-only, full), crash safety of committed rows,
// readers beside a writer, the cache's replay and reuse rules, and a tuner resumed over a real
// store against an uninterrupted run. (Real processes killed with SIGKILL: kill_resume_test.sh.)
#include <gtest/gtest.h>

#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "approxtune/apps/synthetic.hpp"
#include "approxtune/runtime/error.hpp"
#include "approxtune/runtime/store.hpp"
#include "approxtune/search/tuner.hpp"

using namespace approxtune;
namespace fs = std::filesystem;

namespace {

class store_test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("approxtune_store_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::permissions(dir_, fs::perms::owner_all, ec);
    fs::remove_all(dir_, ec);
  }
  fs::path file() const { return store_file(dir_); }
  fs::path dir_;
};

run_info sample_info(const std::string& app = "demo", std::uint64_t space_hash = 42) {
  run_info r;
  r.app_name = app;
  r.app_hash = 7;
  r.space_hash = space_hash;
  r.space = nlohmann::json::array({{{"op", "conv1"}, {"knobs", {"base", "p1", "p2"}}},
                                   {{"op", "conv2"}, {"knobs", {"base", "s1"}}}});
  r.options = {{"app", {{"ops", 2}}}, {"tune", {{"seed", 1}, {"iterations", 100}}}};
  r.seed = 1;
  r.strategy = "random";
  r.budget = 100;
  r.relative = true;
  r.tuner_threshold = 2.0;
  r.keep_threshold = 2.0;
  return r;
}

evaluation make_eval(config_code code, split s, double qos, double cost, bool ok = true) {
  evaluation e;
  e.hash = hash_config(code);
  e.code = std::move(code);
  e.on = s;
  e.qos = qos;
  e.cost = cost;
  e.status = ok ? eval_status::ok : eval_status::failed;
  if (!ok) e.reason = "measure threw: out of memory, \"quoted\"";
  e.device = "cpu";
  e.slot = 1;
  return e;
}

std::vector<evaluation> random_evals(std::mt19937_64& rng, std::size_t n, std::size_t ops) {
  std::uniform_int_distribution<int> knob(0, 300);
  std::uniform_real_distribution<double> u(0.0, 100.0);
  std::vector<evaluation> out;
  for (std::size_t i = 0; i < n; ++i) {
    config_code c(ops);
    for (auto& k : c) k = static_cast<knob_index>(knob(rng));
    const bool ok = u(rng) > 10.0;
    out.push_back(
        make_eval(c, u(rng) > 80.0 ? split::test : split::tune, u(rng), u(rng) + 1.0, ok));
    out.back().slot = static_cast<int>(i % 5);
  }
  return out;
}

std::uint64_t fresh_seed() { return std::random_device{}(); }

void raw_exec(const fs::path& f, const char* sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(f.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const store_error& e) {
    return e.what();
  }
  return "(no store_error)";
}

}  // namespace

TEST_F(store_test, rows_round_trip_in_commit_order_with_progress_counts) {
  const auto seed = fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  const auto evals = random_evals(rng, 5000, 7);
  std::int64_t run = 0;
  {
    results_store s(file(), store_options{.batch_rows = 333});
    run = s.begin_run(sample_info());
    for (std::size_t i = 0; i < evals.size(); i += 17)
      s.record(std::span(evals).subspan(i, std::min<std::size_t>(17, evals.size() - i)));
    s.flush();
    EXPECT_EQ(s.rows_written(), evals.size());
    s.end_run(run_status::finished);
  }
  store_reader r(file());
  std::size_t i = 0;
  r.for_each(run, [&](const stored_evaluation& e) {
    const auto& w = evals[i++];
    EXPECT_EQ(e.code, w.code);
    EXPECT_EQ(e.hash, w.hash);
    EXPECT_EQ(e.on, w.on);
    EXPECT_EQ(e.status, w.status);
    EXPECT_EQ(e.slot, w.slot);
    EXPECT_EQ(e.device, w.device);
    EXPECT_EQ(e.reason, w.reason);
    if (w.ok()) {
      EXPECT_EQ(e.qos, w.qos);
      EXPECT_EQ(e.cost, w.cost);
    } else {
      EXPECT_TRUE(std::isnan(e.qos));
      EXPECT_TRUE(std::isnan(e.cost));
    }
    return true;
  });
  EXPECT_EQ(i, evals.size());
  // Progress against a naive count.
  std::size_t tune = 0, test = 0, failed = 0;
  for (const auto& e : evals) {
    (e.on == split::tune ? tune : test)++;
    failed += e.ok() ? 0 : 1;
  }
  const auto p = r.progress(run);
  EXPECT_EQ(p.tune_evaluations, tune);
  EXPECT_EQ(p.test_evaluations, test);
  EXPECT_EQ(p.failed, failed);
  const auto pts = r.points(run);
  EXPECT_EQ(pts.ids.size(), tune);
  const auto rec = r.run(run);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->status, run_status::finished);
  EXPECT_TRUE(rec->ended_at);
  EXPECT_EQ(rec->info.space, sample_info().space);
  EXPECT_EQ(rec->info.options, sample_info().options);
  EXPECT_EQ(rec->info.app_hash, 7u);
}

TEST_F(store_test, batches_reach_the_disk_within_the_flush_interval_without_a_flush) {
  results_store s(file(), store_options{.batch_rows = 1000000,
                                        .flush_interval = std::chrono::milliseconds(20)});
  const auto run = s.begin_run(sample_info());
  const auto e = make_eval({1, 0}, split::tune, 99.0, 2.0);
  s.record(std::span(&e, 1));
  store_reader r(file());
  for (int i = 0; i < 200 && r.progress(run).tune_evaluations == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(r.progress(run).tune_evaluations, 1u);
}

TEST_F(store_test, space_description_decodes_codes) {
  apps::synthetic_options so;
  so.ops = 4;
  so.knobs = 3;
  apps::synthetic_app a(so);
  const auto desc = describe_space(a.space());
  const config_code c{1, 0, 2, 3};
  EXPECT_EQ(decode_with(desc, c), a.decode(c));
  EXPECT_THROW(decode_with(desc, config_code{1, 0}), store_error);
  EXPECT_THROW(decode_with(desc, config_code{1, 0, 2, 99}), store_error);
}

TEST_F(store_test, garbage_file_is_not_a_database) {
  std::ofstream(file()) << std::string(8192, 'x');
  EXPECT_NE(error_of([&] { results_store s(file()); }).find("file is not a database"),
            std::string::npos);
  const auto m = error_of([&] { store_reader r(file()); });
  EXPECT_NE(m.find("file is not a database"), std::string::npos) << m;
  EXPECT_NE(m.find(file().string()), std::string::npos) << m;
}

TEST_F(store_test, foreign_database_and_other_schema_versions_are_refused) {
  raw_exec(file(), "CREATE TABLE t(x)");
  EXPECT_NE(error_of([&] { results_store s(file()); }).find("not an approxtune results store"),
            std::string::npos);
  fs::remove(file());
  { results_store s(file()); }
  raw_exec(file(), "PRAGMA user_version=2");
  const auto m = error_of([&] { results_store s(file()); });
  EXPECT_NE(m.find("schema version 2"), std::string::npos) << m;
  EXPECT_NE(m.find("reads version 1"), std::string::npos) << m;
  EXPECT_NE(error_of([&] { store_reader r(file()); }).find("schema version 2"), std::string::npos);
}

TEST_F(store_test, missing_and_uncreatable_stores_name_the_file) {
  EXPECT_NE(error_of([&] { store_reader r(file()); }).find("does not exist"), std::string::npos);
  const auto m = error_of([&] { results_store s("/proc/approxtune/results.db"); });
  EXPECT_NE(m.find("/proc/approxtune"), std::string::npos) << m;
}

TEST_F(store_test, a_second_writer_is_refused_and_the_writer_lock_is_visible) {
  EXPECT_FALSE(store_writer_active(file()));
  {
    results_store s(file());
    EXPECT_TRUE(store_writer_active(file()));
    const auto m = error_of([&] { results_store t(file()); });
    EXPECT_NE(m.find("is locked"), std::string::npos) << m;
    // Readers are never refused.
    store_reader r(file());
    EXPECT_TRUE(r.runs().empty());
  }
  EXPECT_FALSE(store_writer_active(file()));
}

TEST_F(store_test, read_only_store_is_refused_for_writing_but_readable) {
  {
    results_store s(file());
    s.begin_run(sample_info());
  }
  fs::permissions(file(), fs::perms::owner_read | fs::perms::group_read);
  if (::geteuid() == 0) GTEST_SKIP() << "running as root: file permissions do not apply";
  const auto m = error_of([&] { results_store s(file()); });
  EXPECT_NE(m.find("read-only"), std::string::npos) << m;
  store_reader r(file());
  EXPECT_EQ(r.runs().size(), 1u);
}

TEST_F(store_test, a_full_store_fails_clearly_and_keeps_what_was_committed) {
  std::atomic<int> handler_calls{0};
  std::mt19937_64 rng(fresh_seed());
  const auto evals = random_evals(rng, 200, 64);
  std::size_t committed_before = 0;
  std::string message;
  std::int64_t run = 0;
  {
    results_store s(file(), store_options{.batch_rows = 50, .max_pages = 40});
    s.on_error([&](const std::string&) { ++handler_calls; });
    run = s.begin_run(sample_info());
    try {
      for (int round = 0; round < 1000; ++round) {
        s.record(evals);
        s.flush();
        committed_before = s.rows_written();
      }
    } catch (const store_error& e) {
      message = e.what();
    }
    EXPECT_THROW(s.record(evals), store_error);  // the writer stays failed
  }
  EXPECT_NE(message.find("full"), std::string::npos) << message;
  EXPECT_NE(message.find(file().string()), std::string::npos) << message;
  EXPECT_EQ(handler_calls.load(), 1);
  // Every fully flushed round is intact and readable.
  store_reader r(file());
  const auto p = r.progress(run);
  EXPECT_GE(p.tune_evaluations + p.test_evaluations, committed_before);
  EXPECT_GT(committed_before, 0u);
}

TEST_F(store_test, record_waits_for_the_writer_when_its_queue_is_full) {
  // Another connection holds SQLite's write lock, so the writer is stuck on its first batch:
  // record() may queue max_queued_rows more, then must wait (bounded memory), and every row
  // reaches the disk once the lock is released.
  std::mt19937_64 rng(fresh_seed());
  const auto evals = random_evals(rng, 64, 5);
  using namespace std::chrono_literals;
  results_store s(file(), store_options{.batch_rows = 8, .flush_interval = 1ms,
                                        .busy_timeout = 60000ms, .max_queued_rows = 16});
  s.begin_run(sample_info());
  s.flush();
  sqlite3* blocker = nullptr;
  ASSERT_EQ(sqlite3_open(file().c_str(), &blocker), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(blocker, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK)
      << sqlite3_errmsg(blocker);
  std::atomic<std::size_t> recorded{0};
  std::thread producer([&] {
    for (std::size_t i = 0; i < evals.size(); ++i) {
      s.record(std::span(evals).subspan(i, 1));
      ++recorded;
    }
  });
  std::this_thread::sleep_for(500ms);
  const std::size_t stuck = recorded.load();
  EXPECT_GE(stuck, 16u);           // the queue filled...
  EXPECT_LE(stuck, 16u + 16u);  // ...to its cap, beside the batch the writer holds (<= the cap)
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(recorded.load(), stuck);  // and record() waits: it does not queue past the cap
  ASSERT_EQ(sqlite3_exec(blocker, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(blocker);
  producer.join();
  s.flush();
  EXPECT_EQ(s.rows_written(), evals.size());
}

TEST_F(store_test, a_killed_writer_never_corrupts_committed_rows) {
  // A child process writes batches as fast as it can and is SIGKILLed mid-write; the committed
  // rows must pass an integrity check and be an unbroken prefix of what the child wrote.
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    try {
      results_store s(file(), store_options{.batch_rows = 64});
      s.begin_run(sample_info());
      std::mt19937_64 rng(1);
      for (int i = 0;; ++i) {
        auto e = random_evals(rng, 1, 40);
        e[0].slot = i;  // the row's position in the child's commit order
        s.record(e);
      }
    } catch (...) {
    }
    ::_exit(3);
  }
  for (int i = 0; i < 500; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::error_code ec;
    if (fs::exists(file(), ec)) {
      try {
        store_reader r(file());
        if (r.progress(1).tune_evaluations + r.progress(1).test_evaluations > 20000) break;
      } catch (const store_error&) {
      }
    }
  }
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(file().c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "ok");
  sqlite3_finalize(st);
  sqlite3_close(db);

  store_reader r(file());
  std::int64_t n = 0;
  std::mt19937_64 rng(1);
  r.for_each(1, [&](const stored_evaluation& e) {
    auto want = random_evals(rng, 1, 40);
    EXPECT_EQ(e.slot, n);
    EXPECT_EQ(e.code, want[0].code);
    ++n;
    return true;
  });
  EXPECT_GT(n, 0);
  // The store is reusable by a new writer.
  results_store again(file());
  EXPECT_EQ(again.runs().size(), 1u);
}

TEST_F(store_test, readers_see_a_growing_prefix_while_the_writer_writes) {
  results_store s(file(),
                  store_options{.batch_rows = 128, .flush_interval = std::chrono::milliseconds(5)});
  const auto run = s.begin_run(sample_info());
  std::atomic<bool> done{false};
  std::thread writer([&] {
    std::mt19937_64 rng(2);
    for (int i = 0; i < 200; ++i) {
      s.record(random_evals(rng, 100, 30));
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    s.flush();
    done = true;
  });
  std::size_t last = 0;
  int reads = 0;
  while (!done) {
    store_reader r(file());
    const auto p = r.progress(run);
    const auto n = p.tune_evaluations + p.test_evaluations;
    EXPECT_GE(n, last);
    last = n;
    ++reads;
  }
  writer.join();
  store_reader r(file());
  const auto p = r.progress(run);
  EXPECT_EQ(p.tune_evaluations + p.test_evaluations, 20000u);
  EXPECT_GT(reads, 1);
}

TEST_F(store_test, the_cache_replays_its_own_run_and_reuses_only_successes_of_other_runs) {
  const auto a = make_eval({1, 0}, split::tune, 98.0, 3.0);
  const auto a_test = make_eval({1, 0}, split::test, 97.5, 3.0);
  const auto b_failed = make_eval({2, 1}, split::tune, 0.0, 0.0, false);
  const auto c = make_eval({0, 1}, split::tune, 99.0, 4.0);
  const auto other_app = make_eval({2, 0}, split::tune, 90.0, 1.0);
  std::int64_t run1 = 0, run2 = 0;
  {
    results_store s(file());
    run1 = s.begin_run(sample_info());
    s.record(std::vector{a, a_test, b_failed});
    s.end_run(run_status::finished);
    s.begin_run(sample_info("another app"));
    s.record(std::vector{other_app});
    s.end_run(run_status::finished);
    run2 = s.begin_run(sample_info());
    s.record(std::vector{c, b_failed});
    s.flush();
  }
  results_store s(file());
  s.resume_run(run2);
  store_reader r(file());
  EXPECT_EQ(r.progress(run1).tune_evaluations, 2u);
  const auto rec2 = *r.run(run2);
  store_cache cache(r, rec2, true, &s);
  EXPECT_EQ(cache.loaded_this_run(), 2u);
  EXPECT_EQ(cache.loaded_other_runs(), 2u);  // a and a_test; not the failure, not the other app
  // Own failure replayed (so the strategy sees the same observation).
  auto hit = cache.lookup(b_failed.code, b_failed.hash, split::tune);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->status, eval_status::failed);
  EXPECT_EQ(hit->reason, b_failed.reason);
  // Another run's success, per split.
  hit = cache.lookup(a.code, a.hash, split::tune);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->qos, 98.0);
  EXPECT_EQ(hit->cost, 3.0);
  EXPECT_EQ(cache.lookup(a.code, a.hash, split::test)->qos, 97.5);
  EXPECT_EQ(cache.lookup(a.code, a.hash, split::tune)->qos, 98.0);  // again: now this run's
  EXPECT_FALSE(cache.lookup(other_app.code, other_app.hash, split::tune));
  EXPECT_EQ(cache.hits_other_runs(), 2u);
  EXPECT_EQ(cache.hits_this_run(), 2u);
  // Results served from other runs were recorded once each as rows of this run.
  s.flush();
  const auto p = r.progress(run2);
  EXPECT_EQ(p.cached, 2u);
  EXPECT_EQ(p.tune_evaluations, 3u);
  // Without reuse, only the run's own rows.
  store_cache own(r, rec2, false, nullptr);
  EXPECT_EQ(own.loaded_other_runs(), 0u);
  EXPECT_FALSE(own.lookup(c.code, c.hash, split::test));
  EXPECT_TRUE(own.lookup(c.code, c.hash, split::tune));
  // Other runs' failures are not reused by a fresh run.
  const auto run3 = s.begin_run(sample_info());
  store_cache fresh(r, *r.run(run3), true, nullptr);
  EXPECT_FALSE(fresh.lookup(b_failed.code, b_failed.hash, split::tune));
  EXPECT_TRUE(fresh.lookup(c.code, c.hash, split::tune));
  // New measurements added during the run are served afterwards.
  const auto d = make_eval({2, 0}, split::test, 95.0, 2.0);
  fresh.add(std::span(&d, 1));
  EXPECT_EQ(fresh.lookup(d.code, d.hash, split::test)->qos, 95.0);
}

// The cache's flat hash table against a std::map oracle: thousands of results (several table
// growths), both splits, failures with reasons, codes that differ in one op, and a second add of
// the same key that must not replace the first.
TEST_F(store_test, cache_matches_a_map_oracle_through_growth) {
  results_store s(file());
  const auto run = s.begin_run(sample_info());
  store_reader r(file());
  store_cache cache(r, *r.run(run), true, nullptr);
  std::map<std::pair<config_code, split>, evaluation> oracle;
  std::mt19937_64 rng(7);
  for (int round = 0; round < 40; ++round) {
    auto evals = random_evals(rng, 200, 3);
    for (std::size_t i = 0; i < evals.size(); i += 7) {  // some failures, some test-split rows
      evals[i].status = eval_status::failed;
      evals[i].reason = "failure " + std::to_string(round) + "/" + std::to_string(i);
      evals[i].on = i % 2 ? split::test : split::tune;
    }
    cache.add(evals);
    for (const auto& e : evals) oracle.emplace(std::pair{e.code, e.on}, e);  // first one wins
  }
  EXPECT_EQ(cache.size(), oracle.size());
  for (const auto& [key, e] : oracle) {
    const auto hit = cache.lookup(e.code, e.hash, e.on);
    ASSERT_TRUE(hit);
    EXPECT_EQ(hit->qos, e.qos);
    EXPECT_EQ(hit->cost, e.cost);
    EXPECT_EQ(hit->status, e.status);
    EXPECT_EQ(hit->reason, e.reason);
    config_code other = e.code;
    other[0] = static_cast<knob_index>(other[0] + 1000);  // outside random_evals' range
    EXPECT_FALSE(cache.lookup(other, hash_config(other), e.on));
  }
}

TEST_F(store_test, compare_runs_names_each_difference) {
  const auto a = sample_info();
  auto b = a;
  EXPECT_TRUE(compare_runs(a, b).empty());
  b.options["tune"]["seed"] = 2;
  b.options["tune"]["iterations"] = 500;
  b.space_hash = 43;
  b.app_name = "other";
  const std::vector<std::string> may_change{"/tune/iterations"};
  const auto d = compare_runs(a, b, may_change);
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0].field, "app");
  EXPECT_EQ(d[1].field, "knob space");
  EXPECT_EQ(d[2].field, "options/tune/seed");
  EXPECT_EQ(d[2].stored, "1");
  EXPECT_EQ(d[2].requested, "2");
}

TEST_F(store_test, a_tuner_resumed_over_the_store_equals_an_uninterrupted_run) {
  apps::synthetic_options so;
  so.ops = 10;
  so.knobs = 6;
  so.seed = 11;
  apps::synthetic_app app(so);
  auto opts = [&](std::size_t budget) {
    tune_options o;
    o.max_iter = budget;
    o.relative = true;
    o.qos_tuner_threshold = 2.0;
    o.seed = 4;
    o.batch_size = 8;
    o.devices = "cpu:2";
    return o;
  };
  tuner full(app);
  full.tune(opts(300));

  run_info info = sample_info("synthetic", app.space().fingerprint());
  info.app_hash = app.content_hash();
  info.space = describe_space(app.space());
  auto run_with_store = [&](std::size_t budget, bool resume, tune_summary& summary,
                            std::vector<config>& all, std::vector<config>& best) {
    results_store s(file());
    std::int64_t id = 0;
    if (resume) {
      store_reader r0(file());
      id = r0.latest_run()->id;
      s.resume_run(id);
    } else {
      id = s.begin_run(info);
    }
    store_reader r(file());
    store_cache cache(r, *r.run(id), true, &s);
    auto o = opts(budget);
    o.cache = &cache;
    o.on_commit = [&](std::span<const evaluation> es) {
      cache.add(es);
      s.record(es);
    };
    tuner t(app);
    t.tune(o);
    s.end_run(run_status::finished);
    summary = t.summary();
    all = t.all_configs();
    best = t.best_configs();
  };
  tune_summary s1, s2;
  std::vector<config> all1, best1, all2, best2;
  run_with_store(120, false, s1, all1, best1);  // "killed" after 120 evaluations
  run_with_store(300, true, s2, all2, best2);
  ASSERT_EQ(all2.size(), full.all_configs().size());
  for (std::size_t i = 0; i < all2.size(); ++i) {
    EXPECT_EQ(all2[i].knobs, full.all_configs()[i].knobs);
    EXPECT_EQ(all2[i].qos, full.all_configs()[i].qos);
    EXPECT_EQ(all2[i].cost, full.all_configs()[i].cost);
  }
  ASSERT_EQ(best2.size(), full.best_configs().size());
  for (std::size_t i = 0; i < best2.size(); ++i)
    EXPECT_EQ(best2[i].test_qos, full.best_configs()[i].test_qos);
  EXPECT_GE(s2.store_hits, 120u);
  // No (config, split) stored twice, and exactly the uninterrupted run's tune evaluations.
  store_reader r(file());
  std::set<std::pair<int, config_code>> seen;
  std::size_t tune_rows = 0;
  r.for_each(1, [&](const stored_evaluation& e) {
    EXPECT_TRUE(seen.emplace(static_cast<int>(e.on), e.code).second);
    tune_rows += e.on == split::tune ? 1 : 0;
    return true;
  });
  EXPECT_EQ(tune_rows, full.summary().evaluations);
  EXPECT_EQ(r.run(1)->resumes, 1);
}
