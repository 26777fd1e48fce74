// Fuzz target: IDX files (read_idx, gzip'd or plain, and load_idx_pair as Fashion-MNIST loading
// uses them). The first input byte picks the expected dimension count (any, 1 = labels,
// 3 = images); the rest is the file. Malformed files must give dataset_error; a file that loads
// must hold exactly product(dims) bytes with every dimension positive.
#include <cstdint>
#include <string>
#include <vector>

#include "approxtune/dnn/dataset.hpp"
#include "approxtune/dnn/error.hpp"
#include "fuzz_util.hpp"

namespace dnn = approxtune::dnn;
namespace fuzz = approxtune::fuzz;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto file = fuzz::scratch_dir() / "data-idx-ubyte";
  static const auto labels = fuzz::scratch_dir() / "labels-idx1-ubyte";
  if (size == 0) return 0;
  const int expected = (data[0] % 3 == 0) ? 0 : (data[0] % 3 == 1) ? 1 : 3;
  fuzz::write_file(file, data + 1, size - 1);
  dnn::idx_array a;
  try {
    a = dnn::read_idx(file, expected);
  } catch (const dnn::dataset_error&) {
    return 0;  // the documented error
  }
  std::size_t total = 1;
  for (int d : a.dims) {
    if (d <= 0) fuzz::finding("a loaded IDX file has a dimension <= 0");
    total *= static_cast<std::size_t>(d);
  }
  if (a.dims.empty() || a.dims.size() > 4 || (expected != 0 && a.dims.size() != std::size_t(expected)))
    fuzz::finding("a loaded IDX file has a wrong dimension count");
  if (total != a.data.size()) fuzz::finding("a loaded IDX file does not hold product(dims) bytes");
  if (a.dims.size() == 3) {
    // A label file that matches: labels 0..9, then the pair loader (images / 255).
    const auto n = static_cast<std::uint32_t>(a.dims[0]);
    std::vector<std::uint8_t> lb = {0, 0, 8, 1, std::uint8_t(n >> 24), std::uint8_t(n >> 16),
                                    std::uint8_t(n >> 8), std::uint8_t(n)};
    for (std::uint32_t i = 0; i < n; ++i) lb.push_back(static_cast<std::uint8_t>(i % 10));
    fuzz::write_file(labels, lb.data(), lb.size());
    const dnn::labeled_images li = dnn::load_idx_pair(file, labels, 10);
    if (li.size() != n || li.images.shape().size() != a.data.size())
      fuzz::finding("load_idx_pair disagrees with read_idx");
  }
  return 0;
}
