// The reference catalogue against the table of reference/knobs.md, written out here by hand,
// plus JSON round trips and errors.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "approxtune/knobs/catalogue.hpp"

namespace {

namespace kn = approxtune::knobs;

const kn::knob_catalogue& ref() { return kn::knob_catalogue::reference(); }

TEST(ReferenceCatalogue, HasExactlyTheReferenceIds) {
  std::set<int> expected{11, 12, 41, 42, 43, 44, 45, 46};
  for (int i = 121; i <= 138; ++i) expected.insert(i);
  for (int i = 151; i <= 168; ++i) expected.insert(i);
  for (int i = 231; i <= 239; ++i) expected.insert(i);
  for (int i = 261; i <= 269; ++i) expected.insert(i);
  std::set<int> got;
  for (const auto& k : ref().knobs()) {
    got.insert(k.id);
    EXPECT_EQ(k.name, std::to_string(k.id));
    EXPECT_EQ(&ref().at(k.name), &ref().at(k.id));
  }
  EXPECT_EQ(got, expected);
  EXPECT_EQ(ref().size(), expected.size());
}

TEST(ReferenceCatalogue, PerforationParametersFollowTheTable) {
  // (direction, stride, offset) for 121..138, transcribed from the reference text.
  struct p {
    bool rows;
    int x, s;
  };
  const p table[] = {{false, 2, 0}, {false, 2, 1}, {true, 2, 0},  {true, 2, 1},  {false, 3, 0},
                     {false, 3, 1}, {false, 3, 2}, {true, 3, 0},  {true, 3, 1},  {true, 3, 2},
                     {false, 4, 0}, {false, 4, 1}, {false, 4, 2}, {false, 4, 3}, {true, 4, 0},
                     {true, 4, 1},  {true, 4, 2},  {true, 4, 3}};
  const std::map<int, double> fp32_speedup{{2, 2.0}, {3, 1.5}, {4, 1.33}};
  const std::map<int, double> fp16_speedup{{2, 3.0}, {3, 2.25}, {4, 2.0}};
  for (int i = 0; i < 18; ++i) {
    const auto& k32 = ref().at(121 + i);
    const auto& k16 = ref().at(151 + i);
    for (const auto* k : {&k32, &k16}) {
      SCOPED_TRACE(k->name);
      EXPECT_EQ(k->kind, kn::knob_kind::perforation);
      EXPECT_EQ(k->perforate_rows, table[i].rows);
      EXPECT_EQ(k->stride, table[i].x);
      EXPECT_EQ(k->offset, table[i].s);
      EXPECT_EQ(k->ops, std::vector<kn::op_kind>{kn::op_kind::conv});
    }
    EXPECT_EQ(k32.precision, kn::knob_precision::fp32);
    EXPECT_EQ(k16.precision, kn::knob_precision::fp16);
    EXPECT_DOUBLE_EQ(k32.nominal_speedup, fp32_speedup.at(table[i].x));
    EXPECT_DOUBLE_EQ(k16.nominal_speedup, fp16_speedup.at(table[i].x));
    EXPECT_EQ(k32.devices, (std::vector<std::string>{"cpu", "gpu"}));
    EXPECT_EQ(k16.devices, std::vector<std::string>{"gpu"});
  }
  EXPECT_EQ(ref().at(121).label, "perf_fp32 col stride 2 offset 0");
  EXPECT_EQ(ref().at(138).label, "perf_fp32 row stride 4 offset 3");
  EXPECT_EQ(kn::hpvm_approx_name(ref().at(151)), "perf_fp16");
}

TEST(ReferenceCatalogue, SamplingAndReductionParameters) {
  const int table[][2] = {{2, 0}, {2, 1}, {3, 0}, {3, 1}, {3, 2}, {4, 0}, {4, 1}, {4, 2}, {4, 3}};
  for (int i = 0; i < 9; ++i) {
    for (int base : {231, 261}) {
      const auto& k = ref().at(base + i);
      SCOPED_TRACE(k.name);
      EXPECT_EQ(k.kind, kn::knob_kind::filter_sampling);
      EXPECT_EQ(k.skip, table[i][0]);
      EXPECT_EQ(k.offset, table[i][1]);
      EXPECT_EQ(k.precision, base == 231 ? kn::knob_precision::fp32 : kn::knob_precision::fp16);
    }
  }
  EXPECT_DOUBLE_EQ(ref().at(231).nominal_speedup, 2.0);
  EXPECT_DOUBLE_EQ(ref().at(266).nominal_speedup, 2.0);
  EXPECT_EQ(kn::hpvm_approx_name(ref().at(261)), "samp_fp16");
  // 41..46: (50 %, 40 %, 25 %) x (fp32, fp16) with speedups 1.5, 2.25, 1.4, 2, 1.25, 1.8.
  const double speedups[] = {1.5, 2.25, 1.4, 2.0, 1.25, 1.8};
  const int fractions[][2] = {{1, 2}, {1, 2}, {2, 5}, {2, 5}, {1, 4}, {1, 4}};
  for (int i = 0; i < 6; ++i) {
    const auto& k = ref().at(41 + i);
    SCOPED_TRACE(k.name);
    EXPECT_EQ(k.kind, kn::knob_kind::reduction_sampling);
    EXPECT_DOUBLE_EQ(k.nominal_speedup, speedups[i]);
    EXPECT_EQ(k.skip_num, fractions[i][0]);
    EXPECT_EQ(k.skip_den, fractions[i][1]);
    EXPECT_EQ(k.precision, i % 2 == 0 ? kn::knob_precision::fp32 : kn::knob_precision::fp16);
    EXPECT_TRUE(k.applies_to(kn::op_kind::pool_max));
    EXPECT_TRUE(k.applies_to(kn::op_kind::pool_mean));
    EXPECT_FALSE(k.applies_to(kn::op_kind::conv));
  }
}

TEST(ReferenceCatalogue, BaselinePerDevice) {
  EXPECT_EQ(ref().baseline_for(kn::device_kind::cpu).id, 11);
  EXPECT_EQ(ref().baseline_for(kn::device_kind::gpu).id, 12);
  EXPECT_TRUE(ref().at(11).baseline_priority.has_value());
  EXPECT_TRUE(ref().at(12).baseline_priority.has_value());
  for (const auto& k : ref().knobs()) {
    if (k.id != 11 && k.id != 12) {
      EXPECT_FALSE(k.baseline_priority.has_value()) << k.name;
    }
    // fp16 knobs are GPU-only in the catalogue.
    if (k.precision == kn::knob_precision::fp16) {
      EXPECT_FALSE(k.exists_on(kn::device_kind::cpu)) << k.name;
    }
  }
  // Conv on the CPU: 11 + 18 perforations + 9 samplings; on the GPU twice the approximations
  // plus both baselines.
  EXPECT_EQ(ref().knobs_for(kn::op_kind::conv, kn::device_kind::cpu).size(), 1u + 18 + 9);
  EXPECT_EQ(ref().knobs_for(kn::op_kind::conv, kn::device_kind::gpu).size(), 2u + 36 + 18);
  EXPECT_EQ(ref().knobs_for(kn::op_kind::relu, kn::device_kind::cpu).size(), 1u);
  EXPECT_EQ(ref().knobs_for(kn::op_kind::pool_max, kn::device_kind::cpu).size(), 1u + 3);
}

TEST(Catalogue, JsonRoundTripIsLossless) {
  const nlohmann::json j = ref().to_json();
  EXPECT_EQ(j.at("schema"), "approxtune.knobs");
  EXPECT_EQ(j.at("version"), 1);
  const kn::knob_catalogue back = kn::knob_catalogue::from_json(j);
  ASSERT_EQ(back.size(), ref().size());
  for (std::size_t i = 0; i < back.size(); ++i) EXPECT_EQ(back.knobs()[i], ref().knobs()[i]);
  const auto path = std::filesystem::temp_directory_path() /
                    ("approxtune_knobs_" +
                     std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + ".json");
  ref().save(path);
  const kn::knob_catalogue loaded = kn::knob_catalogue::load(path);
  std::filesystem::remove(path);
  for (std::size_t i = 0; i < loaded.size(); ++i) EXPECT_EQ(loaded.knobs()[i], ref().knobs()[i]);
}

TEST(Catalogue, UserKnobsFromJsonWithDefaults) {
  const auto j = nlohmann::json::parse(R"({"knobs": [
    {"id": 900, "kind": "perforation", "params": {"direction": "row", "stride": 5, "offset": 4},
     "devices": ["cpu"], "ops": ["conv"], "speedup": 1.25},
    {"id": 901, "name": "my_fp16_dense", "kind": "baseline", "precision": "fp16",
     "devices": ["gpu"], "ops": ["mul"]}]})");
  kn::knob_catalogue c = kn::knob_catalogue::from_json(j);
  EXPECT_EQ(c.at(900).name, "900");
  EXPECT_EQ(c.at(900).label, "900");
  EXPECT_EQ(c.at(900).stride, 5);
  EXPECT_TRUE(c.at(900).perforate_rows);
  EXPECT_EQ(c.at("my_fp16_dense").ops, std::vector<kn::op_kind>{kn::op_kind::dense});
  EXPECT_DOUBLE_EQ(c.at(901).nominal_speedup, 1.0);
  EXPECT_THROW(c.add(c.at(900)), kn::knob_error);  // duplicate
}

TEST(Catalogue, ErrorsNameTheIdOrField) {
  try {
    (void)ref().at(999);
    FAIL();
  } catch (const kn::unknown_knob_error& e) {
    EXPECT_NE(std::string(e.what()).find("999"), std::string::npos) << e.what();
  }
  try {
    (void)ref().at("perf");
    FAIL();
  } catch (const kn::unknown_knob_error& e) {
    EXPECT_NE(std::string(e.what()).find("\"perf\""), std::string::npos) << e.what();
  }
  EXPECT_EQ(ref().find(7), nullptr);
  try {
    ref().at(121).check_applies(kn::op_kind::dense, kn::device_kind::cpu);
    FAIL();
  } catch (const kn::knob_mismatch_error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("121"), std::string::npos) << msg;
    EXPECT_NE(msg.find("dense"), std::string::npos) << msg;
  }
  EXPECT_THROW(ref().at(151).check_applies(kn::op_kind::conv, kn::device_kind::cpu),
               kn::knob_mismatch_error);
  EXPECT_NO_THROW(ref().at(151).check_applies(kn::op_kind::conv, kn::device_kind::gpu));
  const auto bad_stride = nlohmann::json::parse(R"({"knobs": [{"id": 5, "kind": "perforation",
      "params": {"direction": "row", "stride": 1, "offset": 0}, "devices": ["cpu"], "ops": ["conv"]}]})");
  EXPECT_THROW(kn::knob_catalogue::from_json(bad_stride), kn::knob_error);
  const auto missing = nlohmann::json::parse(R"({"knobs": [{"id": 5, "kind": "filter_sampling",
      "params": {"skip": 2}, "devices": ["cpu"], "ops": ["conv"]}]})");
  try {
    kn::knob_catalogue::from_json(missing);
    FAIL();
  } catch (const kn::catalogue_format_error& e) {
    EXPECT_NE(std::string(e.what()).find("offset"), std::string::npos) << e.what();
  }
  const auto bad_op = nlohmann::json::parse(R"({"knobs": [{"id": 5, "kind": "baseline",
      "devices": ["cpu"], "ops": ["convolution"]}]})");
  EXPECT_THROW(kn::knob_catalogue::from_json(bad_op), kn::catalogue_format_error);
  EXPECT_THROW(
      kn::knob_catalogue::from_json(nlohmann::json::parse(R"({"version": 2, "knobs": []})")),
      kn::catalogue_format_error);
  EXPECT_THROW(kn::knob_catalogue::load("/nonexistent/knobs.json"), kn::catalogue_format_error);
}

// Bad catalogue files (docs/bad-input.md): each error names the file, knob or field.
TEST(Catalogue, BadFilesNameTheProblem) {
  const auto dir = std::filesystem::temp_directory_path() / "approxtune_catalogue_bad_test";
  std::filesystem::create_directories(dir);
  const std::string good = ref().to_json().dump();
  auto expect_error = [&](const std::string& text, const std::string& needle) {
    std::ofstream(dir / "knobs.json", std::ios::trunc) << text;
    try {
      (void)kn::knob_catalogue::load(dir / "knobs.json");
      ADD_FAILURE() << "expected an error containing '" << needle << "'";
    } catch (const kn::knob_error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error(good.substr(0, good.size() / 2), "is not valid JSON");  // truncated
  const std::string entry =
      R"({"id": 121, "kind": "perforation", "params": {"direction": "col", "stride": 2, "offset": 0},
          "devices": ["cpu"], "ops": ["conv"]})";
  auto with = [](std::string e, const std::string& from, const std::string& to) {
    return e.replace(e.find(from), from.size(), to);
  };
  expect_error(R"({"knobs": [)" + with(entry, "\"stride\": 2", "\"stride\": \"2\"") + "]}", "field \"stride\"");
  expect_error(R"({"knobs": [)" + entry + "," + entry + "]}", "duplicate knob ID 121");
  expect_error(R"({"knobs": [)" + with(entry, "\"ops\"", "\"speedup\": 1e999, \"ops\"") + "]}",
               "number overflow");  // JSON has no infinity: 1e999 does not parse
  for (const double bad : {std::numeric_limits<double>::infinity(), std::nan(""), 0.0}) {
    auto doc = nlohmann::json::parse(R"({"knobs": [)" + entry + "]}");
    doc["knobs"][0]["speedup"] = bad;  // from a program, not a file
    try {
      (void)kn::knob_catalogue::from_json(doc);
      ADD_FAILURE() << "expected an error for speedup " << bad;
    } catch (const kn::knob_error& e) {
      EXPECT_NE(std::string(e.what()).find("speedup must be a finite number > 0"), std::string::npos) << e.what();
    }
  }
  std::ofstream(dir / "knobs.json", std::ios::trunc) << R"({"knobs": [)" + entry + "]}";  // control
  EXPECT_EQ(kn::knob_catalogue::load(dir / "knobs.json").at(121).stride, 2);
  expect_error(R"({"knobs": [)" + with(entry, "[\"cpu\"]", "[]") + "]}", "no device tag");
  expect_error(R"({"knobs": [)" + with(entry, "[\"conv\"]", "[]") + "]}", "applies to no op kind");
  expect_error(R"({"knobs": [)" + with(entry, "\"conv\"", "\"conv3d\"") + "]}", "conv3d");
  // An empty knob list is a valid (empty) catalogue, but it has no baseline to tune from.
  std::ofstream(dir / "knobs.json", std::ios::trunc) << R"({"knobs": []})";
  const auto empty = kn::knob_catalogue::load(dir / "knobs.json");
  EXPECT_EQ(empty.size(), 0u);
  EXPECT_THROW((void)empty.baseline_for(kn::device_kind::cpu), kn::knob_error);
  std::filesystem::remove_all(dir);
}

}  // namespace
