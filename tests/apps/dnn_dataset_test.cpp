// IDX reading: valid files (gzip'd and plain), and clear errors for bad or missing ones.
#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

#include "approxtune/dnn/dataset.hpp"
#include "approxtune/dnn/error.hpp"

namespace approxtune::dnn {
namespace {

namespace fs = std::filesystem;

std::vector<std::uint8_t> idx_bytes(std::vector<std::uint32_t> dims, std::uint8_t fill_base = 0) {
  std::vector<std::uint8_t> b = {0, 0, 0x08, static_cast<std::uint8_t>(dims.size())};
  std::size_t total = 1;
  for (auto d : dims) {
    b.push_back(static_cast<std::uint8_t>(d >> 24));
    b.push_back(static_cast<std::uint8_t>(d >> 16));
    b.push_back(static_cast<std::uint8_t>(d >> 8));
    b.push_back(static_cast<std::uint8_t>(d));
    total *= d;
  }
  for (std::size_t i = 0; i < total; ++i) b.push_back(static_cast<std::uint8_t>((fill_base + i) % 10));
  return b;
}

void write_plain(const fs::path& p, const std::vector<std::uint8_t>& b) {
  std::ofstream o(p, std::ios::binary);
  o.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

void write_gz(const fs::path& p, const std::vector<std::uint8_t>& b) {
  gzFile f = gzopen(p.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  gzwrite(f, b.data(), static_cast<unsigned>(b.size()));
  gzclose(f);
}

class IdxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("approxtune_idx_test_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  void TearDown() override { fs::remove_all(dir); }
  std::string error_of(const fs::path& p, int nd = 0) {
    try {
      (void)read_idx(p, nd);
    } catch (const dataset_error& e) {
      return e.what();
    }
    return "";
  }
  fs::path dir;
};

TEST_F(IdxTest, ReadsGzipAndPlain) {
  const auto b = idx_bytes({3, 4, 5});
  write_gz(dir / "a.gz", b);
  write_plain(dir / "a", b);
  for (const auto& p : {dir / "a.gz", dir / "a"}) {
    const idx_array a = read_idx(p, 3);
    EXPECT_EQ(a.dims, (std::vector<int>{3, 4, 5}));
    ASSERT_EQ(a.data.size(), 60u);
    EXPECT_EQ(a.data[13], 3);
  }
}

TEST_F(IdxTest, LoadsImagePairAsFloats) {
  write_gz(dir / "img.gz", idx_bytes({4, 2, 3}));
  write_gz(dir / "lab.gz", idx_bytes({4}, 1));
  const labeled_images d = load_idx_pair(dir / "img.gz", dir / "lab.gz");
  EXPECT_EQ(d.size(), 4u);
  EXPECT_EQ(d.images.shape(), (kernels::shape4{4, 1, 2, 3}));
  EXPECT_FLOAT_EQ(d.images.data()[7], 7.0f / 255.0f);
  EXPECT_EQ(d.labels, (std::vector<int>{1, 2, 3, 4}));
  write_gz(dir / "lab5.gz", idx_bytes({5}));
  EXPECT_THROW((void)load_idx_pair(dir / "img.gz", dir / "lab5.gz"), dataset_error);
}

TEST_F(IdxTest, RejectsTruncatedGzip) {
  write_gz(dir / "t.gz", idx_bytes({50, 28, 28}));
  const auto size = fs::file_size(dir / "t.gz");
  fs::resize_file(dir / "t.gz", size / 2);
  const std::string e = error_of(dir / "t.gz");
  EXPECT_NE(e.find("t.gz"), std::string::npos) << e;
  EXPECT_NE(e.find("truncated"), std::string::npos) << e;
}

TEST_F(IdxTest, RejectsTruncatedPayload) {
  auto b = idx_bytes({10, 4, 4});
  b.resize(b.size() - 7);
  write_gz(dir / "p.gz", b);
  const std::string e = error_of(dir / "p.gz");
  EXPECT_NE(e.find("truncated"), std::string::npos) << e;
  EXPECT_NE(e.find("160"), std::string::npos) << e;  // says how many bytes were promised
}

TEST_F(IdxTest, RejectsCorruptFiles) {
  auto b = idx_bytes({2, 2});
  b[0] = 0x12;
  write_plain(dir / "magic", b);
  EXPECT_NE(error_of(dir / "magic").find("magic"), std::string::npos);
  auto t = idx_bytes({2, 2});
  t[2] = 0x0D;  // float
  write_plain(dir / "type", t);
  EXPECT_NE(error_of(dir / "type").find("type"), std::string::npos);
  auto extra = idx_bytes({2, 2});
  extra.push_back(1);
  write_plain(dir / "extra", extra);
  EXPECT_NE(error_of(dir / "extra").find("unexpected bytes"), std::string::npos);
  write_plain(dir / "dims", idx_bytes({2, 2}));
  EXPECT_NE(error_of(dir / "dims", 3).find("expected 3"), std::string::npos);
  // Garbage after a gzip header: corrupt deflate data.
  std::vector<std::uint8_t> g = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff, 0x00, 0x12};
  write_plain(dir / "g.gz", g);
  const std::string e = error_of(dir / "g.gz");
  EXPECT_FALSE(e.empty());
  EXPECT_NE(e.find("g.gz"), std::string::npos) << e;
  write_plain(dir / "short", {0, 0});
  EXPECT_NE(error_of(dir / "short").find("too short"), std::string::npos);
}

// A gzip bomb: a valid IDX header followed by 1 GiB + 1 MiB of zeros compresses to about 1 MB
// but would inflate past the reader's 1 GiB cap; it must stop there with a message, not try to
// allocate more.
TEST_F(IdxTest, GzipBombStopsAtTheSizeCap) {
  const fs::path p = dir / "bomb.gz";
  gzFile f = gzopen(p.c_str(), "wb1");
  ASSERT_NE(f, nullptr);
  const auto header = idx_bytes({1});  // claims one byte of data
  gzwrite(f, header.data(), static_cast<unsigned>(header.size()));
  const std::vector<std::uint8_t> zeros(std::size_t{1} << 20, 0);
  for (int i = 0; i < 1025; ++i) gzwrite(f, zeros.data(), static_cast<unsigned>(zeros.size()));
  gzclose(f);
  EXPECT_LT(fs::file_size(p), std::uintmax_t{16} << 20);
  const std::string e = error_of(p);
  EXPECT_NE(e.find("more than 1024 MiB"), std::string::npos) << e;
  EXPECT_NE(e.find("bomb.gz"), std::string::npos) << e;
}

TEST_F(IdxTest, MissingDatasetSaysHowToInstall) {
  try {
    (void)fashion_mnist::load(dir / "nowhere", false);
    FAIL() << "expected dataset_error";
  } catch (const dataset_error& e) {
    EXPECT_NE(std::string(e.what()).find("apt-get install dataset-fashion-mnist"), std::string::npos) << e.what();
  }
  // The folder exists but a file is missing.
  try {
    (void)fashion_mnist::load(dir, false);
    FAIL() << "expected dataset_error";
  } catch (const dataset_error& e) {
    EXPECT_NE(std::string(e.what()).find("t10k-images-idx3-ubyte"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("dataset-fashion-mnist"), std::string::npos) << e.what();
  }
}

TEST(FashionMnist, SplitsTheTestSetInHalves) {
  if (!fs::exists(std::string(default_fashion_mnist_dir) + "/t10k-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "dataset-fashion-mnist not installed";
  const auto d = fashion_mnist::load(default_fashion_mnist_dir, false);
  EXPECT_EQ(d.tune.size(), 5000u);
  EXPECT_EQ(d.test.size(), 5000u);
  EXPECT_EQ(d.train.size(), 0u);
  const idx_array labels = read_idx(std::string(default_fashion_mnist_dir) + "/t10k-labels-idx1-ubyte.gz", 1);
  EXPECT_EQ(d.tune.labels[0], labels.data[0]);
  EXPECT_EQ(d.test.labels[0], labels.data[5000]);
  EXPECT_EQ(d.test.labels[4999], labels.data[9999]);
}

}  // namespace
}  // namespace approxtune::dnn
