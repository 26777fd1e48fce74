// Fuzz target: model architecture files, through model::load (what `approxtune models`, the dnn
// app and the deploy API call). The folder also holds the committed models' weights and a tiny
// model's, so an architecture that matches one of them loads completely. Malformed files must
// give model_error; a model that loads must rebuild from its own to_json() unchanged.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "approxtune/dnn/error.hpp"
#include "approxtune/dnn/model.hpp"
#include "fuzz_util.hpp"

namespace dnn = approxtune::dnn;
namespace fs = std::filesystem;
namespace fuzz = approxtune::fuzz;

namespace {

const fs::path& models_dir() {
  static const fs::path dir = [] {
    const fs::path d = fuzz::scratch_dir() / "models";
    fs::create_directories(d);
    for (const char* w : {"lenet.weights", "vgg.weights"})
      fs::copy_file(fs::path(APPROXTUNE_FUZZ_MODELS_DIR) / w, d / w, fs::copy_options::overwrite_existing);
    fs::copy_file(fs::path(APPROXTUNE_FUZZ_DATA_DIR) / "tiny.weights", d / "tiny.weights",
                  fs::copy_options::overwrite_existing);
    return d;
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fs::path& dir = models_dir();
  fuzz::write_file(dir / "fz.json", data, size);
  dnn::model m;
  try {
    m = dnn::model::load(dir, "fz");
  } catch (const dnn::model_error&) {
    return 0;  // the documented error
  }
  (void)m.flops();
  (void)m.num_params();
  (void)m.tunable_layers();
  dnn::model again;
  try {
    again = dnn::model::from_json(m.to_json());
  } catch (const dnn::model_error& e) {
    fuzz::finding(std::string("a loaded model's architecture does not rebuild: ") + e.what());
  }
  if (again.to_json() != m.to_json() || again.layers().size() != m.layers().size() ||
      again.num_params() != m.num_params())
    fuzz::finding("a loaded model's architecture rebuilds differently");
  return 0;
}
