// configs.json round trip and errors, HPVM text, the SVG plot, atomic writes.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "approxtune/runtime/error.hpp"
#include "approxtune/runtime/outputs.hpp"

using namespace approxtune;
namespace fs = std::filesystem;

namespace {

tuning_report sample() {
  tuning_report r;
  r.app_name = "demo";
  r.relative = true;
  r.tuner_threshold_given = 2.0;
  r.keep_threshold_given = 0.0;  // a real zero, not "unset"
  r.baseline_tune_qos = 90.0;
  r.baseline_test_qos = 89.5;
  r.tuner_threshold = 88.0;
  r.tune_keep_threshold = 90.0;
  r.test_keep_threshold = 89.5;
  r.baseline_cost = 12.5;
  config a{{{"conv1", "121"}, {"conv2", "11"}}, 89.0, 0.5, 88.7};
  config b{{{"conv1", "11"}, {"conv2", "231"}}, 89.9, 0.8, std::nullopt};
  r.best = {a, b};
  r.kept = r.best_prefilter = r.best;
  return r;
}

fs::path temp_dir() {
  auto d = fs::temp_directory_path() / ("approxtune_outputs_test_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}

}  // namespace

TEST(configs_json, round_trip) {
  auto r = sample();
  auto dir = temp_dir();
  atomic_write(dir / "configs.json", configs_json(r, r.best));
  auto back = read_configs_json(dir / "configs.json");
  EXPECT_EQ(back.app_name, "demo");
  EXPECT_TRUE(back.relative);
  EXPECT_EQ(back.keep_threshold_given, 0.0);
  EXPECT_EQ(back.tuner_threshold, 88.0);
  EXPECT_EQ(back.test_keep_threshold, 89.5);
  ASSERT_TRUE(back.baseline_test_qos);
  EXPECT_EQ(*back.baseline_test_qos, 89.5);
  EXPECT_EQ(back.baseline_cost, 12.5);
  ASSERT_EQ(back.best.size(), 2u);
  EXPECT_EQ(back.best[0].knobs, r.best[0].knobs);
  EXPECT_EQ(back.best[0].qos, 89.0);
  EXPECT_EQ(back.best[0].cost, 0.5);
  EXPECT_EQ(back.best[0].test_qos, std::optional<double>(88.7));
  EXPECT_FALSE(back.best[1].test_qos);
  // No temp files left behind by the atomic write.
  std::size_t files = 0;
  for (auto& e : fs::directory_iterator(dir)) files += e.is_regular_file();
  EXPECT_EQ(files, 1u);
  fs::remove_all(dir);
}

TEST(configs_json, malformed_files_name_the_problem) {
  auto dir = temp_dir();
  auto write = [&](const std::string& text) {
    std::ofstream(dir / "c.json") << text;
    return dir / "c.json";
  };
  auto expect_msg = [&](const std::string& text, const std::string& needle) {
    try {
      read_configs_json(write(text));
      ADD_FAILURE() << "no error for: " << text;
    } catch (const config_error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  auto good = configs_json(sample(), sample().best);
  expect_msg("{\"schema\": \"approxtune.configs\", \"version\": 1,", "not valid JSON");
  expect_msg("[1,2]", "not an approxtune configs file");
  expect_msg("{\"schema\": \"approxtune.configs\", \"version\": 7}", "version 7");
  auto no_app = nlohmann::json::parse(good);
  no_app.erase("app");
  expect_msg(no_app.dump(), "'app'");
  auto bad_qos = nlohmann::json::parse(good);
  bad_qos["configs"][1]["qos"] = "high";
  expect_msg(bad_qos.dump(), "configs[1].qos");
  auto bad_cost = nlohmann::json::parse(good);
  bad_cost["configs"][0]["cost"] = -1;
  expect_msg(bad_cost.dump(), "configs[0].cost");
  auto bad_knob = nlohmann::json::parse(good);
  bad_knob["configs"][0]["knobs"]["conv1"] = 121;
  expect_msg(bad_knob.dump(), "conv1");
  EXPECT_THROW(read_configs_json(dir / "missing.json"), config_error);
  fs::remove_all(dir);
}

TEST(hpvm, baseline_first_then_sorted_by_speedup) {
  auto r = sample();
  auto text = hpvm_configs(r, r.best, [](const knob_map& k) {
    std::vector<std::string> lines;
    int i = 1;
    for (const auto& [op, kn] : k) lines.push_back(std::to_string(i++) + " cpu " + op + " " + kn);
    return lines;
  });
  // target time, then conf1 = baseline (speedup 1, loss 0), conf2 = speedup 1.25, conf3 = 2.
  EXPECT_EQ(text.rfind("12.5\n+++++\nconf1 1 0 90 0\n", 0), 0u) << text;
  const auto c2 = text.find("conf2 1.25 0 89.9 ");
  const auto c3 = text.find("conf3 2 0 89 1\n1 cpu conv1 121\n2 cpu conv2 11\n-----\n");
  EXPECT_NE(c2, std::string::npos) << text;
  EXPECT_NE(c3, std::string::npos) << text;
  EXPECT_LT(c2, c3);
  std::size_t blocks = 0;
  for (std::size_t p = 0; (p = text.find("+++++", p)) != std::string::npos; ++p) ++blocks;
  EXPECT_EQ(blocks, 3u);
}

TEST(tradeoff_svg, two_panels_with_points_and_legends) {
  auto svg = tradeoff_svg(sample());
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("Kept configs (2)"), std::string::npos);
  EXPECT_NE(svg.find("Best configs (2)"), std::string::npos);
  EXPECT_NE(svg.find("Tune-set QoS loss (1)"), std::string::npos);  // only b lacks test qos
  EXPECT_NE(svg.find("Test-set QoS loss (1)"), std::string::npos);
  EXPECT_NE(svg.find("Speedup (x)"), std::string::npos);
  EXPECT_NE(svg.find("threshold"), std::string::npos);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  tuning_report empty;
  EXPECT_NE(tradeoff_svg(empty).find("no configurations"), std::string::npos);
}

TEST(atomic_write, unwritable_location_is_an_error) {
  EXPECT_THROW(atomic_write("/proc/approxtune_cannot_write_here/x.json", "x"), error);
}
