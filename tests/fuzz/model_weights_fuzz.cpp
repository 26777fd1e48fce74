// Fuzz target: weights files, read by model::read_weights into a fixed tiny architecture. The
// first input byte is a mode: odd, the harness appends the right FNV-1a checksum to the rest, so
// the fuzzer gets past the checksum to the tensor records; even, the rest is the file as is.
// Malformed files must give model_error; a file that loads must be written back byte for byte.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "approxtune/dnn/error.hpp"
#include "approxtune/dnn/model.hpp"
#include "fuzz_util.hpp"

namespace dnn = approxtune::dnn;
namespace fuzz = approxtune::fuzz;

namespace {

// conv(2 filters, 3x3) + batch_norm + relu + max_pool + dense(3): every tensor kind, 37 floats.
constexpr const char* tiny_arch = R"({"schema": "approxtune.dnn.model", "version": 1, "name": "tiny",
  "input": {"channels": 1, "height": 4, "width": 4}, "classes": 3, "weights": "tiny.weights",
  "layers": [{"name": "conv1", "type": "conv", "filters": 2, "kernel": 3},
             {"name": "bn1", "type": "batch_norm"}, {"name": "relu1", "type": "relu"},
             {"name": "pool1", "type": "max_pool", "window": 2},
             {"name": "fc1", "type": "dense", "units": 3}]})";

std::uint64_t fnv1a(const std::uint8_t* p, std::size_t n) {
  std::uint64_t h = 1469598103934665603ull;
  for (std::size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const dnn::model arch = dnn::model::from_json(nlohmann::json::parse(tiny_arch));
  static const auto file = fuzz::scratch_dir() / "tiny.weights";
  static const auto again_file = fuzz::scratch_dir() / "tiny_again.weights";
  if (size == 0) return 0;
  std::vector<std::uint8_t> bytes(data + 1, data + size);
  if (data[0] & 1) {
    const std::uint64_t h = fnv1a(bytes.data(), bytes.size());
    const auto* hp = reinterpret_cast<const std::uint8_t*>(&h);
    bytes.insert(bytes.end(), hp, hp + 8);
  }
  fuzz::write_file(file, bytes.data(), bytes.size());
  dnn::model m = arch;
  try {
    m.read_weights(file);
  } catch (const dnn::model_error&) {
    return 0;  // the documented error
  }
  m.write_weights(again_file);
  if (fuzz::read_file(again_file) != bytes) fuzz::finding("a loaded weights file is not written back byte for byte");
  return 0;
}
