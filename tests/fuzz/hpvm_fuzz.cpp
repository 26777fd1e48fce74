// Fuzz target: the HPVM configuration-file reader (parse_hpvm_configs). Malformed text must give
// config_error; parsed files must print back (at full precision) to text that parses the same.
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "approxtune/runtime/error.hpp"
#include "approxtune/runtime/hpvm.hpp"
#include "fuzz_util.hpp"

namespace {

std::string num(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string print(const approxtune::hpvm_file& f) {
  std::string s = num(f.target_time) + "\n";
  for (const auto& c : f.configs) {
    s += "+++++\n" + c.name + " " + num(c.speedup) + " " + num(c.energy) + " " + num(c.qos) + " " +
         num(c.qos_loss) + "\n";
    for (const auto& n : c.nodes) {
      s += std::to_string(n.index) + " " + n.device;
      for (const auto& o : n.ops) s += " " + o.op + (o.approx.empty() ? "" : " " + o.approx) + " " + o.knob;
      s += "\n";
    }
    s += "-----\n";
  }
  return s;
}

bool same(const approxtune::hpvm_file& a, const approxtune::hpvm_file& b) {
  if (a.target_time != b.target_time || a.configs.size() != b.configs.size()) return false;
  for (std::size_t i = 0; i < a.configs.size(); ++i) {
    const auto &x = a.configs[i], &y = b.configs[i];
    if (x.name != y.name || x.speedup != y.speedup || x.energy != y.energy || x.qos != y.qos ||
        x.qos_loss != y.qos_loss || x.nodes != y.nodes)
      return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  approxtune::hpvm_file f;
  try {
    f = approxtune::parse_hpvm_configs(text, "fuzz.txt");
  } catch (const approxtune::config_error&) {
    return 0;  // the documented error
  }
  for (const auto& c : f.configs)
    for (const auto& n : c.nodes) {
      if (n.ops.empty()) approxtune::fuzz::finding("a parsed node has no op");
      for (const auto& o : n.ops) (void)o.knob_id();
    }
  const std::string again = print(f);
  approxtune::hpvm_file g;
  try {
    g = approxtune::parse_hpvm_configs(again, "printed");
  } catch (const approxtune::config_error& e) {
    approxtune::fuzz::finding(std::string("a parsed file printed back does not parse: ") + e.what());
  }
  if (!same(f, g)) approxtune::fuzz::finding("a parsed file printed back parses differently");
  return 0;
}
