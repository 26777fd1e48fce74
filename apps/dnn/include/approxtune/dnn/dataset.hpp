/**
 * @file dataset.hpp
 * @brief IDX (MNIST-format) files, gzip'd or not, and the Fashion-MNIST splits.
 *
 * Fashion-MNIST comes from Debian's `dataset-fashion-mnist` package
 * (/usr/share/datasets/fashion-mnist). Splits, as ApproxTuner does it: the 60,000 training
 * images train the models; the 10,000 test images are split into a *tune* split (the first
 * 5,000) and a *test* split (the last 5,000).
 */
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "approxtune/kernels/tensor.hpp"

namespace approxtune::dnn {

/** @brief Where Debian's dataset-fashion-mnist package installs the files. */
inline constexpr const char* default_fashion_mnist_dir = "/usr/share/datasets/fashion-mnist";

/** @brief The contents of one IDX file: unsigned bytes with their dimensions. */
struct idx_array {
  std::vector<int> dims;           ///< e.g. {10000, 28, 28} for images, {10000} for labels
  std::vector<std::uint8_t> data;  ///< row-major, product(dims) bytes
};

/**
 * @brief Reads an IDX file of unsigned bytes (type code 0x08), gzip'd (by content) or plain.
 * Validates the magic number, the number of dimensions, that every dimension is positive, that
 * the payload holds exactly product(dims) bytes, and that the gzip stream is intact.
 * @param expected_ndims 1 for labels, 3 for images, 0 to accept any
 * @throws dataset_error naming the file and what is wrong (missing, truncated, corrupt, ...)
 */
idx_array read_idx(const std::filesystem::path& path, int expected_ndims = 0);

/** @brief Images as float NCHW [N,1,28,28] with pixel/255, and their labels. */
struct labeled_images {
  kernels::tensor images;
  std::vector<int> labels;
  int classes = 10;
  std::size_t size() const noexcept { return labels.size(); }
  /** @brief Images [first, first+count) as a copy. */
  labeled_images slice(std::size_t first, std::size_t count) const;
};

/** @brief The Fashion-MNIST data, split as ApproxTuner does. */
struct fashion_mnist {
  labeled_images train;  ///< 60,000 training images
  labeled_images tune;   ///< test images 0..4999
  labeled_images test;   ///< test images 5000..9999

  /**
   * @brief Loads from @p dir (default: the Debian package's folder).
   * @param load_train false skips the 60,000 training images (inference only)
   * @throws dataset_error; a missing folder or file says how to install the package
   */
  static fashion_mnist load(const std::filesystem::path& dir = default_fashion_mnist_dir,
                            bool load_train = true);
};

/**
 * @brief Loads an image file and a label file into float images (pixel/255).
 * @throws dataset_error if the counts differ, a label is out of [0, classes), or a file is bad
 */
labeled_images load_idx_pair(const std::filesystem::path& images, const std::filesystem::path& labels,
                             int classes = 10);

/** @brief The install hint used in missing-dataset messages. */
std::string dataset_install_hint();

}  // namespace approxtune::dnn
