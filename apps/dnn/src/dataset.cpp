#include "approxtune/dnn/dataset.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <fstream>
#include <memory>

#include "approxtune/dnn/error.hpp"

namespace approxtune::dnn {

namespace fs = std::filesystem;

std::string dataset_install_hint() {
  return "install Debian's Fashion-MNIST package with `sudo apt-get install dataset-fashion-mnist` "
         "(or run `bash scripts/setup.sh`), or pass --data-dir to a folder holding the IDX files";
}

namespace {

[[noreturn]] void fail(const fs::path& p, const std::string& what) {
  throw dataset_error("dataset file '" + p.string() + "': " + what);
}

// Largest decompressed IDX file accepted: the biggest Fashion-MNIST file is 47 MB, so 1 GiB is
// far above any real dataset and stops a gzip bomb (a small file that inflates without end)
// before it exhausts memory.
constexpr std::size_t max_decompressed_bytes = std::size_t{1} << 30;

// Reads the whole file, gunzipping if it starts with the gzip magic.
std::vector<std::uint8_t> read_all(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec))
    throw dataset_error("dataset file '" + path.string() + "' does not exist; " + dataset_install_hint());
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot be opened for reading");
  std::vector<std::uint8_t> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (raw.size() >= 2 && raw[0] == 0x1f && raw[1] == 0x8b) {
    z_stream zs{};
    if (inflateInit2(&zs, 15 + 32) != Z_OK) fail(path, "zlib initialisation failed");
    std::vector<std::uint8_t> out;
    out.resize(std::min(std::max<std::size_t>(raw.size() * 4, 1 << 16), max_decompressed_bytes));
    zs.next_in = raw.data();
    zs.avail_in = static_cast<uInt>(raw.size());
    int rc = Z_OK;
    std::size_t produced = 0;
    while (true) {
      if (produced == out.size()) {
        if (out.size() >= max_decompressed_bytes) {
          inflateEnd(&zs);
          fail(path, "gzip data decompresses to more than " + std::to_string(max_decompressed_bytes >> 20) +
                         " MiB, far more than any IDX dataset (corrupt file or gzip bomb?)");
        }
        out.resize(std::min(out.size() * 2, max_decompressed_bytes));
      }
      zs.next_out = out.data() + produced;
      zs.avail_out = static_cast<uInt>(out.size() - produced);
      rc = inflate(&zs, Z_NO_FLUSH);
      produced = out.size() - zs.avail_out;
      if (rc == Z_STREAM_END) break;
      if (rc == Z_OK) continue;
      if (rc == Z_BUF_ERROR && zs.avail_in == 0) {
        inflateEnd(&zs);
        fail(path, "truncated gzip stream (the file ends before the compressed data does)");
      }
      if (rc == Z_BUF_ERROR) continue;
      const std::string msg = zs.msg ? zs.msg : "error " + std::to_string(rc);
      inflateEnd(&zs);
      fail(path, "corrupt gzip data (" + msg + ")");
    }
    inflateEnd(&zs);
    out.resize(produced);
    return out;
  }
  return raw;
}

std::uint32_t be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

}  // namespace

idx_array read_idx(const fs::path& path, int expected_ndims) {
  const std::vector<std::uint8_t> bytes = read_all(path);
  if (bytes.size() < 4) fail(path, "too short for an IDX header (" + std::to_string(bytes.size()) + " bytes)");
  if (bytes[0] != 0 || bytes[1] != 0)
    fail(path, "bad IDX magic number (first two bytes must be 0; not an IDX file?)");
  if (bytes[2] != 0x08)
    fail(path, "unsupported IDX element type 0x" + std::to_string(bytes[2]) + " (only unsigned byte 0x08)");
  const int ndims = bytes[3];
  if (ndims < 1 || ndims > 4) fail(path, "bad IDX dimension count " + std::to_string(ndims));
  if (expected_ndims != 0 && ndims != expected_ndims)
    fail(path, "has " + std::to_string(ndims) + " dimensions, expected " + std::to_string(expected_ndims));
  const std::size_t header = 4 + 4 * static_cast<std::size_t>(ndims);
  if (bytes.size() < header) fail(path, "truncated IDX header");
  idx_array a;
  std::size_t total = 1;
  for (int d = 0; d < ndims; ++d) {
    const std::uint32_t v = be32(&bytes[4 + 4 * static_cast<std::size_t>(d)]);
    if (v == 0 || v > (1u << 28)) fail(path, "bad IDX dimension " + std::to_string(d) + " = " + std::to_string(v));
    a.dims.push_back(static_cast<int>(v));
    total *= v;
    if (total > (std::size_t{1} << 34)) fail(path, "IDX dimensions too large");
  }
  const std::size_t payload = bytes.size() - header;
  if (payload < total)
    fail(path, "truncated: header promises " + std::to_string(total) + " data bytes, file holds " +
                   std::to_string(payload));
  if (payload > total)
    fail(path, "corrupt: " + std::to_string(payload - total) + " unexpected bytes after the IDX data");
  a.data.assign(bytes.begin() + static_cast<std::ptrdiff_t>(header), bytes.end());
  return a;
}

labeled_images labeled_images::slice(std::size_t first, std::size_t count) const {
  if (first + count > size()) throw dataset_error("slice beyond the end of the data set");
  labeled_images s;
  s.classes = classes;
  const auto& sh = images.shape();
  s.images = kernels::tensor({static_cast<int>(count), sh.c, sh.h, sh.w});
  std::copy_n(images.data() + first * sh.image_size(), count * sh.image_size(), s.images.data());
  s.labels.assign(labels.begin() + static_cast<std::ptrdiff_t>(first),
                  labels.begin() + static_cast<std::ptrdiff_t>(first + count));
  return s;
}

labeled_images load_idx_pair(const fs::path& images, const fs::path& labels, int classes) {
  const idx_array im = read_idx(images, 3);
  const idx_array lb = read_idx(labels, 1);
  if (im.dims[0] != lb.dims[0])
    throw dataset_error("dataset files '" + images.string() + "' (" + std::to_string(im.dims[0]) +
                        " images) and '" + labels.string() + "' (" + std::to_string(lb.dims[0]) +
                        " labels) disagree on the number of examples");
  labeled_images out;
  out.classes = classes;
  const int n = im.dims[0], h = im.dims[1], w = im.dims[2];
  out.images = kernels::tensor({n, 1, h, w});
  float* dst = out.images.data();
  for (std::size_t i = 0; i < im.data.size(); ++i) dst[i] = static_cast<float>(im.data[i]) / 255.0f;
  out.labels.resize(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    const int l = lb.data[static_cast<std::size_t>(i)];
    if (l >= classes)
      fail(labels, "label " + std::to_string(l) + " of example " + std::to_string(i) + " is not in [0, " +
                       std::to_string(classes) + ")");
    out.labels[static_cast<std::size_t>(i)] = l;
  }
  return out;
}

fashion_mnist fashion_mnist::load(const fs::path& dir, bool load_train) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw dataset_error("Fashion-MNIST folder '" + dir.string() + "' does not exist; " + dataset_install_hint());
  auto file = [&](const char* base) {
    for (const char* ext : {".gz", ""}) {
      fs::path p = dir / (std::string(base) + ext);
      if (fs::exists(p, ec)) return p;
    }
    return dir / (std::string(base) + ".gz");  // read_idx reports it missing
  };
  fashion_mnist d;
  if (load_train)
    d.train = load_idx_pair(file("train-images-idx3-ubyte"), file("train-labels-idx1-ubyte"));
  labeled_images t10k = load_idx_pair(file("t10k-images-idx3-ubyte"), file("t10k-labels-idx1-ubyte"));
  if (t10k.size() != 10000)
    throw dataset_error("Fashion-MNIST test set in '" + dir.string() + "' has " + std::to_string(t10k.size()) +
                        " images, expected 10000");
  d.tune = t10k.slice(0, 5000);
  d.test = t10k.slice(5000, 5000);
  return d;
}

}  // namespace approxtune::dnn
