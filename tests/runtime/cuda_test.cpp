// CUDA RAII wrappers and checked calls: no device here, so the host-side behaviour is tested;
// tests that need a device skip without one.
#include <gtest/gtest.h>

#include "approxtune/runtime/cuda.hpp"
#include "approxtune/runtime/engine.hpp"

using namespace approxtune;

TEST(cuda, checked_calls_throw_with_file_line_and_what) {
  EXPECT_NO_THROW(APPROXTUNE_CUDA_TRY(0));
  try {
    APPROXTUNE_CUDA_TRY(2);  // cudaErrorMemoryAllocation
    FAIL();
  } catch (const cuda_error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("cuda_test.cpp:"), std::string::npos) << m;
    EXPECT_EQ(m.rfind("2 failed at ", 0), 0u) << m;  // the call text, then where
  }
  EXPECT_NO_THROW(APPROXTUNE_CUDA_CHECK_LOG(2));  // logs, never throws
}

TEST(cuda, no_device_means_zero_devices_and_no_crash) {
  const int n = cuda::device_count();
  EXPECT_GE(n, 0);
  if (!cuda::built_with_cuda()) {
    EXPECT_EQ(n, 0);
  }
  std::size_t gpus = 0;
  for (const auto& d : discover_devices()) gpus += d.kind == "gpu";
  EXPECT_EQ(gpus, static_cast<std::size_t>(n));
}

TEST(cuda, streams_need_a_device) {
  if (cuda::device_count() > 0) GTEST_SKIP() << "a CUDA device is present";
  EXPECT_THROW(cuda::stream s(0), cuda_error);
  EXPECT_THROW(cuda::event e(0), cuda_error);
}

TEST(cuda, stream_and_event_timing_on_a_device) {
  if (cuda::device_count() == 0) GTEST_SKIP() << "no CUDA device";
  cuda::stream s(0);
  cuda::event a(0), b(0);
  a.record(s);
  b.record(s);
  EXPECT_GE(cuda::elapsed_ms(a, b), 0.0f);
  cuda::stream moved(std::move(s));
  EXPECT_EQ(s.get(), nullptr);
  EXPECT_NE(moved.get(), nullptr);
  moved.synchronize();
}
