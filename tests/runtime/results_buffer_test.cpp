// The bounded-memory results: record_spill (records past an in-memory tail go to a temporary
// file) and results_buffer on top of it, checked against plain in-memory oracles on fresh
// random rows, across many spills, and on the error paths (unwritable TMPDIR).
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "approxtune/runtime/error.hpp"
#include "approxtune/runtime/record_spill.hpp"
#include "approxtune/runtime/results_buffer.hpp"

using namespace approxtune;

namespace {

std::vector<std::byte> random_record(std::mt19937_64& rng, std::size_t bytes) {
  std::vector<std::byte> r(bytes);
  for (auto& b : r) b = static_cast<std::byte>(rng() & 0xff);
  return r;
}

// Sets TMPDIR for the scope of a test and restores it.
struct tmpdir_override {
  explicit tmpdir_override(const std::string& dir) {
    if (const char* old = std::getenv("TMPDIR")) saved = old;
    ::setenv("TMPDIR", dir.c_str(), 1);
  }
  ~tmpdir_override() {
    if (saved.empty())
      ::unsetenv("TMPDIR");
    else
      ::setenv("TMPDIR", saved.c_str(), 1);
  }
  std::string saved;
};

}  // namespace

TEST(record_spill_test, reads_back_every_record_across_spills) {
  for (std::size_t record : {1u, 7u, 64u}) {
    for (std::size_t tail : {1u, 3u, 100u}) {
      std::mt19937_64 rng(record * 1000 + tail);
      record_spill s(record, tail);
      std::vector<std::vector<std::byte>> oracle;
      for (int i = 0; i < 1000; ++i) {
        oracle.push_back(random_record(rng, record));
        s.append(oracle.back());
        ASSERT_EQ(s.size(), oracle.size());
        if (i % 97 == 0) {  // random reads while appending, spilled or not
          std::vector<std::byte> out(record);
          const std::size_t k = rng() % oracle.size();
          s.read(k, out);
          ASSERT_EQ(out, oracle[k]) << record << " " << tail << " " << k;
        }
      }
      EXPECT_GE(s.spilled(), oracle.size() - tail);  // the rest did go to the file
      EXPECT_LE(oracle.size() - s.spilled(), tail);
      std::vector<std::byte> out(record);
      for (std::size_t k = 0; k < oracle.size(); ++k) {
        s.read(k, out);
        ASSERT_EQ(out, oracle[k]) << k;
      }
      std::size_t next = 0;
      s.scan([&](std::size_t first, const std::byte* p, std::size_t count) {
        ASSERT_EQ(first, next);
        ASSERT_LE(count, tail);
        for (std::size_t j = 0; j < count; ++j)
          ASSERT_EQ(0, std::memcmp(p + j * record, oracle[first + j].data(), record)) << first + j;
        next += count;
      });
      EXPECT_EQ(next, oracle.size());
      // Moving keeps everything readable.
      record_spill moved = std::move(s);
      moved.read(0, out);
      EXPECT_EQ(out, oracle[0]);
      moved.read(oracle.size() - 1, out);
      EXPECT_EQ(out, oracle.back());
    }
  }
}

TEST(record_spill_test, edge_cases_and_misuse) {
  record_spill s(8, 2);
  std::size_t visits = 0;
  s.scan([&](std::size_t, const std::byte*, std::size_t) { ++visits; });
  EXPECT_EQ(visits, 0u);  // empty: nothing to visit
  std::vector<std::byte> out(8);
  EXPECT_THROW(s.read(0, out), error);
  EXPECT_THROW(s.append(std::vector<std::byte>(7)), error);  // wrong record size
  s.append(std::vector<std::byte>(8, std::byte{5}));
  std::vector<std::byte> small(4);
  EXPECT_THROW(s.read(0, small), error);
  EXPECT_THROW(s.read(1, out), error);
}

TEST(record_spill_test, unwritable_temp_folder_is_a_clear_error_and_keeps_the_tail) {
  if (::geteuid() == 0) GTEST_SKIP() << "root writes anywhere: no unwritable folder to test with";
  const auto dir = std::filesystem::temp_directory_path() / ("approxtune-ro-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::filesystem::permissions(dir, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
  tmpdir_override tmp(dir.string());
  record_spill s(4, 2);
  s.append(std::vector<std::byte>(4, std::byte{1}));
  s.append(std::vector<std::byte>(4, std::byte{2}));
  try {
    s.append(std::vector<std::byte>(4, std::byte{3}));  // the tail is full: needs the file
    ADD_FAILURE() << "expected an error";
  } catch (const error& e) {
    EXPECT_NE(std::string(e.what()).find(dir.string()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("TMPDIR"), std::string::npos) << e.what();
  }
  std::vector<std::byte> out(4);
  s.read(1, out);  // what was appended before is still there
  EXPECT_EQ(out[0], std::byte{2});
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all);
  std::filesystem::remove_all(dir);
}

TEST(record_spill_test, missing_temp_folder_is_a_clear_error) {
  // Runs as root too: a folder that does not exist cannot hold the file.
  const auto dir = std::filesystem::temp_directory_path() / "approxtune-no-such-folder" / "x";
  tmpdir_override tmp(dir.string());
  record_spill s(4, 1);
  s.append(std::vector<std::byte>(4));
  try {
    s.append(std::vector<std::byte>(4));
    ADD_FAILURE() << "expected an error";
  } catch (const error& e) {
    EXPECT_NE(std::string(e.what()).find("spill file"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(dir.string()), std::string::npos) << e.what();
  }
  EXPECT_EQ(s.size(), 1u);
}

TEST(results_buffer_test, matches_an_in_memory_oracle_past_the_spill_tail) {
  // 40,000 rows: more than two spilled blocks of 16,384. Codes repeat (find must return the
  // first row of a code), some rows fail, hashes collide on purpose for some codes (find must
  // still tell them apart by the code).
  const std::size_t ops = 5;
  std::mt19937_64 rng(20261124);
  results_buffer b(ops);
  struct row {
    config_code code;
    std::uint64_t hash;
    double qos, cost;
    eval_status status;
  };
  std::vector<row> oracle;
  std::map<config_code, std::size_t> first_row;
  for (std::size_t i = 0; i < 40000; ++i) {
    config_code c(ops);
    for (auto& k : c) k = static_cast<knob_index>(rng() % 9);
    // Every 7th code gets a hash shared with other codes (hash of its first op only).
    const std::uint64_t h = (i % 7 == 0) ? 0x1234 + c[0] : hash_config(c);
    if (first_row.count(c) && oracle[first_row[c]].hash != h) continue;  // keep one hash a code
    const auto st = (i % 101 == 0) ? eval_status::failed : eval_status::ok;
    const double q = st == eval_status::ok ? 80.0 + (rng() % 2000) / 100.0 : std::nan("");
    const double cost = st == eval_status::ok ? 0.25 + (rng() % 1000) / 1000.0 : std::nan("");
    const std::size_t r = b.append(c, h, q, cost, st, st == eval_status::ok ? "" : "boom");
    ASSERT_EQ(r, oracle.size());
    oracle.push_back({c, h, q, cost, st});
    first_row.emplace(c, r);
    if (i % 3 == 0) b.mark_proposed(r);
  }
  ASSERT_EQ(b.size(), oracle.size());
  std::size_t failed = 0, proposed = 0;
  for (std::size_t r = 0; r < oracle.size(); r += 13) {  // random access, spilled and not
    const auto got = b.row(r);
    EXPECT_EQ(got.code, oracle[r].code) << r;
    EXPECT_EQ(got.status, oracle[r].status) << r;
    if (oracle[r].status == eval_status::ok) {
      EXPECT_EQ(got.qos, oracle[r].qos) << r;
      EXPECT_EQ(got.cost, oracle[r].cost) << r;
    } else {
      EXPECT_TRUE(std::isnan(got.qos));
      EXPECT_EQ(b.reason(r), "boom");
    }
    EXPECT_EQ(b.hash(r), oracle[r].hash);
  }
  for (std::size_t r = 0; r < oracle.size(); ++r) {
    failed += oracle[r].status != eval_status::ok;
    proposed += b.proposed(r);
  }
  EXPECT_EQ(b.failed_count(), failed);
  EXPECT_EQ(b.proposed_count(), proposed);
  for (const auto& [code, r] : first_row) {
    const auto found = b.find(code, oracle[r].hash);
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(*found, r);
  }
  // proposed_hash: true exactly when the first row of a code with that hash is proposed.
  std::map<std::uint64_t, bool> any_proposed;
  for (const auto& [code, r] : first_row) any_proposed[oracle[r].hash] |= b.proposed(r);
  for (const auto& [h, p] : any_proposed) EXPECT_EQ(b.proposed_hash(h), p) << h;
  EXPECT_FALSE(b.proposed_hash(0xdeadbeefULL));
  // A code never appended is not found, even under a hash that is in the buffer.
  EXPECT_FALSE(b.find(config_code{9, 9, 9, 9, 9}, 0x1234 + 9).has_value());
  EXPECT_FALSE(b.find(config_code{9, 9, 9, 9, 9}, hash_config(config_code{9, 9, 9, 9, 9})).has_value());
  // scan visits every row once, in order, with the same contents.
  std::size_t next = 0;
  b.scan([&](std::size_t r, const result_view& v) {
    ASSERT_EQ(r, next++);
    ASSERT_EQ(config_code(v.code.begin(), v.code.end()), oracle[r].code);
    ASSERT_EQ(v.status, oracle[r].status);
    if (v.status == eval_status::ok) {
      ASSERT_EQ(v.qos, oracle[r].qos);
    }
  });
  EXPECT_EQ(next, oracle.size());
  // Test-split QoS is sparse and per row.
  b.set_test_qos(17, 91.5);
  b.set_test_qos(30000, 88.0);
  EXPECT_EQ(b.test_qos(17), 91.5);
  EXPECT_EQ(b.test_qos(30000), 88.0);
  EXPECT_FALSE(b.test_qos(18).has_value());
  EXPECT_THROW(b.row(oracle.size()), error);
  EXPECT_THROW(b.append(config_code(ops + 1), 1, 1.0, 1.0, eval_status::ok), error);
}
