// Knobs, device filtering, the unique-baseline rule, baseline insertion and config encoding:
// ApproxTuner's ApproxKnob / ApproxApp behaviours.
#include <gtest/gtest.h>

#include <cmath>

#include "approxtune/runtime/error.hpp"
#include "approxtune/runtime/knob_space.hpp"

using namespace approxtune;

TEST(knob, exists_on_device) {
  knob any("a");
  knob gpu("b", {"gpu"});
  knob both("c", {"cpu", "gpu"});
  EXPECT_TRUE(any.exists_on_device("cpu"));
  EXPECT_TRUE(any.exists_on_device("gpu"));
  EXPECT_FALSE(gpu.exists_on_device("cpu"));
  EXPECT_TRUE(gpu.exists_on_device("gpu"));
  EXPECT_TRUE(both.exists_on_device("cpu"));
}

TEST(knob, unique_baseline_highest_priority_wins) {
  std::vector<knob> ks{knob("a"), knob("lo", {}, 1), knob("hi", {}, 5), knob("mid", {}, 3)};
  EXPECT_EQ(knob::unique_baseline(ks).name(), "hi");
}

TEST(knob, unique_baseline_tie_first_met) {
  std::vector<knob> ks{knob("x", {}, 2), knob("y", {}, 2)};
  EXPECT_EQ(knob::unique_baseline(ks).name(), "x");
}

TEST(knob, unique_baseline_synthetic_when_none) {
  std::vector<knob> ks{knob("a"), knob("b")};
  EXPECT_EQ(knob::unique_baseline(ks).name(), synthetic_baseline_name);
  EXPECT_EQ(knob::unique_baseline({}).name(), "__baseline__");
}

TEST(knob_space, baseline_appended_to_ops_lacking_it) {
  knob fp32("fp32", {}, 1), perf("perf"), samp("samp");
  knob_space s({{"conv1", {perf, fp32}}, {"conv2", {samp}}, {"dense", {}}});
  EXPECT_EQ(s.baseline().name(), "fp32");
  ASSERT_EQ(s.num_knobs(0), 2u);
  EXPECT_EQ(s.baseline_index(0), 1u);  // already present: not duplicated, position kept
  ASSERT_EQ(s.num_knobs(1), 2u);
  EXPECT_EQ(s.knob_at(1, 1).name(), "fp32");  // appended
  ASSERT_EQ(s.num_knobs(2), 1u);             // empty knob list: only the baseline
  EXPECT_EQ(s.knob_at(2, 0).name(), "fp32");
  EXPECT_EQ(s.baseline_code(), (config_code{1, 1, 0}));
}

TEST(knob_space, synthetic_baseline_when_no_priority) {
  knob_space s({{"a", {knob("k1"), knob("k2")}}, {"b", {knob("k1")}}});
  EXPECT_EQ(s.baseline().name(), "__baseline__");
  EXPECT_EQ(s.num_knobs(0), 3u);
  EXPECT_EQ(s.num_knobs(1), 2u);
  EXPECT_EQ(s.knob_at(1, 1).name(), "__baseline__");
}

TEST(knob_space, device_filtering_drops_knobs_then_picks_baseline) {
  // The gpu baseline has the higher priority but is filtered out on the cpu.
  knob fp16("fp16", {"gpu"}, 10), fp32("fp32", {"cpu", "gpu"}, 1), perf("perf", {"cpu"}),
      gpu_only("tc", {"gpu"});
  knob_space cpu({{"conv", {fp16, fp32, perf, gpu_only}}}, std::string("cpu"));
  EXPECT_EQ(cpu.baseline().name(), "fp32");
  ASSERT_EQ(cpu.num_knobs(0), 2u);
  EXPECT_EQ(cpu.knob_at(0, 0).name(), "fp32");
  EXPECT_EQ(cpu.knob_at(0, 1).name(), "perf");
  knob_space gpu({{"conv", {fp16, fp32, perf, gpu_only}}}, std::string("gpu"));
  EXPECT_EQ(gpu.baseline().name(), "fp16");
  EXPECT_EQ(gpu.num_knobs(0), 3u);
  knob_space none({{"conv", {fp16, fp32, perf, gpu_only}}});
  EXPECT_EQ(none.num_knobs(0), 4u);
}

TEST(knob_space, all_knobs_filtered_leaves_baseline_only) {
  knob_space s({{"conv", {knob("a", {"gpu"}), knob("b", {"gpu"})}}}, std::string("cpu"));
  ASSERT_EQ(s.num_knobs(0), 1u);
  EXPECT_EQ(s.knob_at(0, 0).name(), "__baseline__");
}

TEST(knob_space, abbreviated_configs_are_filled_with_the_baseline) {
  knob_space s({{"a", {knob("x"), knob("y")}}, {"b", {knob("x")}}, {"c", {knob("z")}}});
  EXPECT_EQ(s.encode({}), s.baseline_code());
  const auto code = s.encode({{"b", "x"}});
  EXPECT_EQ(code, (config_code{2, 0, 1}));
  const auto named = s.decode(code);
  EXPECT_EQ(named, (knob_map{{"a", "__baseline__"}, {"b", "x"}, {"c", "__baseline__"}}));
  EXPECT_EQ(s.add_baseline_to_knobs({{"c", "z"}}),
            (knob_map{{"a", "__baseline__"}, {"b", "__baseline__"}, {"c", "z"}}));
  EXPECT_EQ(s.encode(named), code);
}

TEST(knob_space, unknown_names_give_clear_errors) {
  knob_space s({{"conv1", {knob("perf")}}});
  try {
    s.encode({{"conv9", "perf"}});
    FAIL() << "expected config_error";
  } catch (const config_error& e) {
    EXPECT_NE(std::string(e.what()).find("conv9"), std::string::npos);
  }
  try {
    s.encode({{"conv1", "nope"}});
    FAIL() << "expected config_error";
  } catch (const config_error& e) {
    EXPECT_NE(std::string(e.what()).find("nope"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("perf"), std::string::npos);  // lists the valid ones
  }
}

TEST(knob_space, invalid_declarations) {
  EXPECT_THROW(knob_space({}), config_error);
  EXPECT_THROW(knob_space({{"a", {}}, {"a", {}}}), config_error);
  EXPECT_THROW(knob_space(std::vector<op_knobs>{{"", {}}}), config_error);
  EXPECT_THROW(knob_space({{"a", {knob("k"), knob("k")}}}), config_error);
}

TEST(knob_space, validity_size_and_fingerprint) {
  knob_space s({{"a", {knob("x"), knob("y")}}, {"b", {knob("x")}}});
  EXPECT_TRUE(s.valid(config_code{0, 1}));
  EXPECT_FALSE(s.valid(config_code{3, 0}));
  EXPECT_FALSE(s.valid(config_code{0}));
  EXPECT_NEAR(s.log10_size(), std::log10(6.0), 1e-12);
  knob_space t({{"a", {knob("x"), knob("z")}}, {"b", {knob("x")}}});
  knob_space u({{"a", {knob("x"), knob("y")}}, {"b", {knob("x")}}});
  EXPECT_NE(s.fingerprint(), t.fingerprint());
  EXPECT_EQ(s.fingerprint(), u.fingerprint());
}

TEST(config, hash_is_stable_and_spreads) {
  config_code a{1, 2, 3}, b{1, 2, 4}, c{1, 2, 3};
  EXPECT_EQ(hash_config(a), hash_config(c));
  EXPECT_NE(hash_config(a), hash_config(b));
  EXPECT_NE(hash_config(config_code{0}), hash_config(config_code{0, 0}));
  config cfg;
  cfg.cost = 0.25;
  EXPECT_DOUBLE_EQ(cfg.speedup(), 4.0);
}
