/**
 * @file tensor.hpp
 * @brief NCHW float32 tensors: an owning `tensor` and non-owning views that the ops take.
 */
#pragma once

#include <cstddef>
#include <string>
#include <type_traits>
#include <vector>

namespace approxtune::kernels {

/** @brief The shape of an NCHW tensor (batch, channels, height, width). */
struct shape4 {
  int n = 0;  ///< batch
  int c = 0;  ///< channels (output channels for conv weights, OIHW)
  int h = 0;  ///< height
  int w = 0;  ///< width

  /** @brief Number of elements. */
  constexpr std::size_t size() const noexcept {
    return static_cast<std::size_t>(n) * static_cast<std::size_t>(c) * static_cast<std::size_t>(h) *
           static_cast<std::size_t>(w);
  }
  /** @brief Elements of one image (c * h * w). */
  constexpr std::size_t image_size() const noexcept {
    return static_cast<std::size_t>(c) * static_cast<std::size_t>(h) * static_cast<std::size_t>(w);
  }
  /** @brief Elements of one channel plane (h * w). */
  constexpr std::size_t plane_size() const noexcept {
    return static_cast<std::size_t>(h) * static_cast<std::size_t>(w);
  }
  /** @brief "[n,c,h,w]", for error messages. */
  std::string to_string() const;

  // Spelled out rather than defaulted: the CUDA translation units compile this header as C++17.
  friend constexpr bool operator==(const shape4& a, const shape4& b) {
    return a.n == b.n && a.c == b.c && a.h == b.h && a.w == b.w;
  }
  friend constexpr bool operator!=(const shape4& a, const shape4& b) { return !(a == b); }
};

/**
 * @brief A non-owning NCHW view: a pointer and a shape. `T` is `float` or `const float`.
 *
 * Ops take views so that an inference engine can hand them slices of its own preallocated
 * buffers; a `basic_view<float>` converts implicitly to a `basic_view<const float>`.
 */
template <class T>
struct basic_view {
  T* data = nullptr;
  shape4 shape{};

  constexpr basic_view() = default;
  constexpr basic_view(T* d, shape4 s) : data(d), shape(s) {}
  template <class U,
            class = std::enable_if_t<!std::is_same_v<U, T> && std::is_convertible_v<U*, T*>>>
  constexpr basic_view(const basic_view<U>& other)  // NOLINT(google-explicit-constructor)
      : data(other.data), shape(other.shape) {}

  /** @brief Element (n, c, h, w); no bounds check. */
  constexpr T& at(int n, int c, int h, int w) const noexcept {
    return data[((static_cast<std::size_t>(n) * shape.c + c) * shape.h + h) * shape.w + w];
  }
  /** @brief Image @p n as a batch-1 view. */
  constexpr basic_view image(int n) const noexcept {
    return {data + static_cast<std::size_t>(n) * shape.image_size(),
            {1, shape.c, shape.h, shape.w}};
  }
  constexpr std::size_t size() const noexcept { return shape.size(); }
};

using tensor_view = basic_view<float>;
using const_tensor_view = basic_view<const float>;

/** @brief An owning NCHW float32 tensor (host memory). */
class tensor {
 public:
  tensor() = default;
  /** @brief A tensor of shape @p s filled with @p fill. */
  explicit tensor(shape4 s, float fill = 0.0f) : shape_(s), data_(s.size(), fill) {}
  /** @brief A tensor of shape @p s holding @p values (size must match). */
  tensor(shape4 s, std::vector<float> values);

  const shape4& shape() const noexcept { return shape_; }
  std::size_t size() const noexcept { return data_.size(); }
  float* data() noexcept { return data_.data(); }
  const float* data() const noexcept { return data_.data(); }
  float& at(int n, int c, int h, int w) noexcept { return view().at(n, c, h, w); }
  float at(int n, int c, int h, int w) const noexcept { return cview().at(n, c, h, w); }

  /**
   * @brief Changes the shape; keeps the allocation when it is large enough (so an engine can
   * reuse one buffer for batches of different sizes). Contents are unspecified afterwards.
   */
  void resize(shape4 s);

  tensor_view view() noexcept { return {data_.data(), shape_}; }
  const_tensor_view cview() const noexcept { return {data_.data(), shape_}; }
  operator tensor_view() noexcept { return view(); }  // NOLINT(google-explicit-constructor)
  operator const_tensor_view() const noexcept {
    return cview();
  }  // NOLINT(google-explicit-constructor)

 private:
  shape4 shape_{};
  std::vector<float> data_;
};

}  // namespace approxtune::kernels
