// HPVM configuration files: hpvm_configs -> parse_hpvm_configs round trip on random reports, the
// ApproxTuner line forms, and malformed files (each error names the line and the fault).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "approxtune/runtime/error.hpp"
#include "approxtune/runtime/hpvm.hpp"
#include "approxtune/runtime/outputs.hpp"

using namespace approxtune;
namespace fs = std::filesystem;

namespace {

// hpvm_configs writes 6 significant digits: a relative error of at most 5e-6.
void expect_close(double got, double want, const std::string& what) {
  EXPECT_LE(std::abs(got - want), 5e-6 * std::abs(want) + 1e-300) << what << ": " << got << " vs " << want;
}

// Formats structured nodes with plain string concatenation (the oracle's side of the round trip).
std::vector<std::string> format_nodes(const std::vector<hpvm_node>& nodes) {
  std::vector<std::string> lines;
  for (const auto& n : nodes) {
    std::string l = std::to_string(n.index) + " " + n.device;
    for (const auto& o : n.ops) l += " " + o.op + (o.approx.empty() ? "" : " " + o.approx) + " " + o.knob;
    lines.push_back(l);
  }
  return lines;
}

std::vector<hpvm_node> random_nodes(std::mt19937_64& rng) {
  static const std::vector<std::string> devices = {"cpu", "gpu"};
  static const std::vector<std::string> kinds = {"conv", "mul", "add", "relu", "tanh", "pool_max", "softmax"};
  static const std::vector<std::string> approx = {"fp32", "fp16", "perf_fp32", "perf_fp16", "samp_fp16",
                                                  "red_samp_fp32"};
  auto pick = [&](const std::vector<std::string>& v) { return v[rng() % v.size()]; };
  std::vector<hpvm_node> nodes(1 + rng() % 8);
  const bool pairs = rng() % 3 == 0;  // the generic apps' `<op> <knob>` form
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    nodes[i].index = i + 1;
    nodes[i].device = pick(devices);
    if (pairs) {
      nodes[i].ops.push_back({"op" + std::to_string(i), "", rng() % 2 ? "__baseline__" : "k" + std::to_string(rng() % 50)});
    } else {
      const std::size_t k = 1 + rng() % 4;
      for (std::size_t j = 0; j < k; ++j)
        nodes[i].ops.push_back({pick(kinds), pick(approx), std::to_string(11 + rng() % 260)});
    }
  }
  return nodes;
}

// Expects a config_error whose message holds "<source>:<line>:" and @p needle.
void expect_error(const std::string& text, std::size_t line, const std::string& needle) {
  try {
    parse_hpvm_configs(text, "c.txt");
    ADD_FAILURE() << "no error for:\n" << text;
  } catch (const config_error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("c.txt:" + std::to_string(line) + ": "), std::string::npos) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
  }
}

}  // namespace

TEST(hpvm_parse, round_trip_of_random_reports) {
  std::mt19937_64 rng(20261124);
  std::uniform_real_distribution<double> qos(0.0, 100.0), cost(0.05, 4.0), target(1e-3, 1e8);
  for (int trial = 0; trial < 200; ++trial) {
    tuning_report r;
    r.baseline_tune_qos = qos(rng);
    r.baseline_cost = target(rng);
    const std::size_t n = rng() % 12;
    // Config i carries its index in the knob map, so the line callback finds its nodes.
    std::vector<std::vector<hpvm_node>> nodes(n);
    const std::vector<hpvm_node> base_nodes = random_nodes(rng);
    std::vector<config> configs(n);
    for (std::size_t i = 0; i < n; ++i) {
      nodes[i] = random_nodes(rng);
      configs[i].knobs = {{"id", std::to_string(i)}};
      configs[i].qos = qos(rng);
      // A few exact ties: the writer's sort must keep them in input order.
      configs[i].cost = (i > 0 && rng() % 5 == 0) ? configs[i - 1].cost : cost(rng);
    }
    const std::string text = hpvm_configs(r, configs, [&](const knob_map& k) {
      return format_nodes(k.empty() ? base_nodes : nodes[std::stoul(k.at("id"))]);
    });
    // Expected order: baseline, then by speedup ascending, ties in input order.
    std::vector<std::size_t> order(n);
    for (std::size_t i = 0; i < n; ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return 1.0 / configs[a].cost < 1.0 / configs[b].cost; });

    const hpvm_file f = parse_hpvm_configs(text, "random.txt");
    expect_close(f.target_time, r.baseline_cost, "target time");
    ASSERT_EQ(f.configs.size(), n + 1) << text;
    EXPECT_EQ(f.configs[0].name, "conf1");
    EXPECT_EQ(f.configs[0].speedup, 1.0);
    EXPECT_EQ(f.configs[0].energy, 0.0);
    expect_close(f.configs[0].qos, r.baseline_tune_qos, "baseline qos");
    EXPECT_EQ(f.configs[0].qos_loss, 0.0);
    EXPECT_EQ(f.configs[0].nodes, base_nodes);
    for (std::size_t k = 0; k < n; ++k) {
      const hpvm_config& got = f.configs[k + 1];
      const config& want = configs[order[k]];
      EXPECT_EQ(got.name, "conf" + std::to_string(k + 2));
      expect_close(got.speedup, 1.0 / want.cost, got.name + " speedup");
      EXPECT_EQ(got.energy, 0.0);
      expect_close(got.qos, want.qos, got.name + " qos");
      expect_close(got.qos_loss, r.baseline_tune_qos - want.qos, got.name + " qos loss");
      EXPECT_EQ(got.nodes, nodes[order[k]]) << got.name << "\n" << text;
    }
  }
}

TEST(hpvm_parse, approxtuner_lines_and_knob_ids) {
  const std::string text =
      "0.0951762\r\n+++++\r\nconf1 1 0 91.4 0\r\n"
      "1 gpu conv perf_fp16 151 add fp16 12 relu fp16 12 pool_max fp16 12\r\n"
      "2\tgpu  mul fp16 12 add fp16 12\r\n-----\r\n\r\n"
      "+++++\nconf2 1.5e+00 2.5 90.1 1.3\n1 cpu op0 __baseline__\n-----";
  const hpvm_file f = parse_hpvm_configs(text);
  EXPECT_EQ(f.target_time, 0.0951762);
  ASSERT_EQ(f.configs.size(), 2u);
  const auto& c1 = f.configs[0];
  ASSERT_EQ(c1.nodes.size(), 2u);
  EXPECT_EQ(c1.nodes[0].device, "gpu");
  ASSERT_EQ(c1.nodes[0].ops.size(), 4u);
  EXPECT_EQ(c1.nodes[0].ops[0], (hpvm_op{"conv", "perf_fp16", "151"}));
  EXPECT_EQ(c1.nodes[0].ops[0].knob_id(), 151);
  EXPECT_EQ(c1.nodes[0].ops[3], (hpvm_op{"pool_max", "fp16", "12"}));
  EXPECT_EQ(c1.nodes[1].index, 2u);
  EXPECT_EQ(c1.nodes[1].ops[0].op, "mul");
  const auto& c2 = f.configs[1];
  EXPECT_EQ(c2.speedup, 1.5);
  EXPECT_EQ(c2.energy, 2.5);
  EXPECT_EQ(c2.qos_loss, 1.3);
  ASSERT_EQ(c2.nodes.size(), 1u);
  EXPECT_EQ(c2.nodes[0].ops[0], (hpvm_op{"op0", "", "__baseline__"}));
  EXPECT_FALSE(c2.nodes[0].ops[0].knob_id());
  EXPECT_FALSE((hpvm_op{"a", "b", "99999999999"}.knob_id()));
  EXPECT_FALSE((hpvm_op{"a", "b", "12x"}.knob_id()));
}

// A file converted to CRLF twice ends its lines in "\r\r\n"; a stray \r, \v or \f is a blank, never
// part of a field (the fuzzer found "11\r\r..." kept as the knob, which printed back differently).
TEST(hpvm_parse, control_whitespace_is_a_blank) {
  const hpvm_file f =
      parse_hpvm_configs("0.5\r\r\n+++++\r\r\nc 1.2\v0 90\f1\r\r\n1 cpu conv 11\r\r\r\n-----\r\r\n");
  ASSERT_EQ(f.configs.size(), 1u);
  EXPECT_EQ(f.configs[0].qos_loss, 1.0);
  ASSERT_EQ(f.configs[0].nodes.size(), 1u);
  EXPECT_EQ(f.configs[0].nodes[0].ops[0], (hpvm_op{"conv", "", "11"}));
  EXPECT_EQ(f.configs[0].nodes[0].ops[0].knob_id(), 11);
}

TEST(hpvm_parse, malformed_files_name_line_and_fault) {
  const std::string block = "+++++\nconf1 1 0 90 0\n1 cpu conv fp32 11\n-----\n";
  expect_error("", 0, "empty file");
  expect_error("\n\n", 2, "empty file");
  expect_error("fast\n" + block, 1, "target time 'fast' is not a number");
  expect_error("1 2\n" + block, 1, "only the target time");
  expect_error("inf\n" + block, 1, "not finite");
  expect_error("1\n", 1, "no configuration block");
  expect_error("1\nconf1 1 0 90 0\n", 2, "expected '+++++'");
  expect_error("1\n+++++\n", 2, "expected a configuration header");
  expect_error("1\n+++++\nconf1 1 0 90\n-----\n", 3, "found 4 fields");
  expect_error("1\n+++++\nconf1 1 0 nan 0\n-----\n", 3, "QoS 'nan' is not finite");
  expect_error("1\n+++++\nconf1 0 0 90 0\n-----\n", 3, "must be > 0");
  expect_error("1\n+++++\nconf1 1 0 90 0.5x\n-----\n", 3, "QoS loss '0.5x' is not a number");
  expect_error("1\n+++++\nconf1 1 0 90 0\n1 cpu conv fp32 11\n", 4, "opened at line 2 is not closed by '-----'");
  expect_error("1\n+++++\nconf1 1 0 90 0\n\n-----\n", 4, "empty line inside");
  expect_error("1\n+++++\nconf1 1 0 90 0\n2 cpu conv fp32 11\n-----\n", 4, "out of order (expected 1)");
  expect_error("1\n+++++\nconf1 1 0 90 0\n1 cpu conv fp32 11\n1 cpu conv fp32 11\n-----\n", 5,
               "node index 1 out of order (expected 2)");
  expect_error("1\n+++++\nconf1 1 0 90 0\n-1 cpu conv fp32 11\n-----\n", 4, "not a non-negative integer");
  expect_error("1\n+++++\nconf1 1 0 90 0\n1 cpu conv\n-----\n", 4, "at least one");
  expect_error("1\n+++++\nconf1 1 0 90 0\n1 cpu conv fp32 11 add fp32\n-----\n", 4, "5 fields after the device");
  expect_error("1\n" + block + block, 7, "duplicate configuration name 'conf1'");
  expect_error("1\n" + block + "junk\n", 6, "expected '+++++'");
  expect_error("1\n" + block + "+++++\n" + std::string("\x01\x02"), 7, "found 1 fields in '?" "?'");
}

TEST(hpvm_parse, reads_files) {
  const fs::path dir = fs::temp_directory_path() / ("approxtune_hpvm_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  tuning_report r;
  r.baseline_tune_qos = 80.0;
  r.baseline_cost = 2.0;
  std::vector<config> cs = {config{{{"a", "121"}}, 79.0, 0.5, std::nullopt}};
  const auto lines = [](const knob_map& k) {
    return std::vector<std::string>{"1 cpu conv perf_fp32 " + (k.empty() ? std::string("11") : k.at("a"))};
  };
  atomic_write(dir / "configs.txt", hpvm_configs(r, cs, lines));
  const hpvm_file f = read_hpvm_configs(dir / "configs.txt");
  ASSERT_EQ(f.configs.size(), 2u);
  EXPECT_EQ(f.configs[1].speedup, 2.0);
  EXPECT_EQ(f.configs[1].nodes.at(0).ops.at(0).knob_id(), 121);
  try {
    read_hpvm_configs(dir / "missing.txt");
    ADD_FAILURE();
  } catch (const config_error& e) {
    EXPECT_NE(std::string(e.what()).find("missing.txt"), std::string::npos) << e.what();
  }
  EXPECT_THROW(read_hpvm_configs(dir), config_error);
  std::ofstream(dir / "bad.txt") << "1\n+++++\nconf1 1 0 90 0\n";
  try {
    read_hpvm_configs(dir / "bad.txt");
    ADD_FAILURE();
  } catch (const config_error& e) {
    EXPECT_NE(std::string(e.what()).find((dir / "bad.txt").string() + ":3: "), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}
