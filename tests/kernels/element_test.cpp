// The shared host+device element functions against brute-force enumerations of the rules in
// reference/knobs.md, and the software half rounding against the compiler's _Float16.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "approxtune/kernels/ops.hpp"
#include "detail/approx_element.hpp"

namespace {

namespace d = approxtune::kernels::detail;

// The reference rule, enumerated: the rows that are not skipped.
std::vector<int> kept_rows(int h, int x, int s) {
  std::vector<int> rows;
  for (int r = 0; r < h; ++r) {
    const bool skipped = r >= s && (r - s) % x == 0;
    if (!skipped) rows.push_back(r);
  }
  return rows;
}

TEST(PerforationMap, CompactToRealIsTheListOfKeptRows) {
  for (int x = 2; x <= 6; ++x) {
    for (int s = 0; s < x; ++s) {
      for (int h = 1; h <= 40; ++h) {
        SCOPED_TRACE(testing::Message() << "h=" << h << " x=" << x << " s=" << s);
        const std::vector<int> rows = kept_rows(h, x, s);
        ASSERT_EQ(d::perf_computed_count(h, x, s), static_cast<int>(rows.size()));
        for (int k = 0; k < static_cast<int>(rows.size()); ++k) {
          ASSERT_EQ(d::perf_compact_to_real(k, x, s), rows[k]) << "k=" << k;
          ASSERT_EQ(d::perf_real_to_compact(rows[k], x, s), k) << "row=" << rows[k];
        }
        for (int r = 0; r < h; ++r) {
          ASSERT_EQ(d::perf_is_skipped(r, x, s), r >= s && (r - s) % x == 0);
        }
      }
    }
  }
}

TEST(PerforationMap, ReferenceCountFormulaWhenHExceedsOffset) {
  // h_eff = h - floor((h - s) / x) - ((h - s) % x > 0 ? 1 : 0), literally.
  for (int x = 2; x <= 4; ++x) {
    for (int s = 0; s < x; ++s) {
      for (int h = s + 1; h <= 64; ++h) {
        const int expected = h - (h - s) / x - ((h - s) % x > 0 ? 1 : 0);
        EXPECT_EQ(d::perf_computed_count(h, x, s), expected) << h << " " << x << " " << s;
      }
    }
  }
}

TEST(PerforationMap, InterpolationSourcesFollowTheRules) {
  for (int h = 2; h <= 12; ++h) {
    for (int r = 0; r < h; ++r) {
      const d::interp_sources src = d::perf_interp_sources(r, h);
      if (r == 0) {
        EXPECT_EQ(src.a, 1);
        EXPECT_EQ(src.b, 1);
      } else if (r == h - 1) {
        EXPECT_EQ(src.a, h - 2);
        EXPECT_EQ(src.b, h - 2);
      } else {
        EXPECT_EQ(src.a, r - 1);
        EXPECT_EQ(src.b, r + 1);
      }
    }
  }
  // A copy is exact: the mean of a value with itself.
  EXPECT_EQ(d::perf_interp_value(0.1f, 0.1f), 0.1f);
  EXPECT_EQ(d::perf_interp_value(1.0f, 2.0f), 1.5f);
}

// Filter sampling, enumerated straight from the reference text.
bool ref_sample_skipped(int f, int channels, int kh, int kw, int e, int off) {
  (void)channels;
  const int plane = kh * kw;
  if (plane % e != 0) return f >= off && (f - off) % e == 0;
  const int c = f / plane;
  const int j = f % plane;
  return j % e == (off + c) % e;
}

TEST(SamplingMap, KeptIndicesMatchBruteForce) {
  const int filters[][2] = {{1, 1}, {1, 3}, {2, 2}, {3, 3}, {5, 5}, {2, 3}, {4, 4}, {3, 4}};
  for (const auto& f : filters) {
    for (int channels : {1, 2, 3, 5, 16}) {
      for (int e = 2; e <= 4; ++e) {
        for (int off = 0; off < e; ++off) {
          const int plane = f[0] * f[1];
          const int n = channels * plane;
          SCOPED_TRACE(testing::Message() << "filter " << f[0] << "x" << f[1] << " C=" << channels
                                          << " e=" << e << " off=" << off);
          std::vector<int> kept;
          for (int i = 0; i < n; ++i) {
            EXPECT_EQ(d::samp_is_skipped(i, plane, e, off),
                      ref_sample_skipped(i, channels, f[0], f[1], e, off));
            if (!ref_sample_skipped(i, channels, f[0], f[1], e, off)) kept.push_back(i);
          }
          ASSERT_EQ(d::samp_kept_count(channels, plane, e, off), static_cast<int>(kept.size()));
          if (plane % e != 0 && n > off) {
            // The reference's kept-length formula for the irregular case.
            EXPECT_EQ(static_cast<int>(kept.size()),
                      n - (n - off) / e - ((n - off) % e > 0 ? 1 : 0));
          }
          for (int t = 0; t < static_cast<int>(kept.size()); ++t) {
            ASSERT_EQ(d::samp_compact_to_flat(t, channels, plane, e, off), kept[t]) << "t=" << t;
          }
        }
      }
    }
  }
  EXPECT_FLOAT_EQ(d::samp_scale(2), 2.0f);
  EXPECT_FLOAT_EQ(d::samp_scale(3), 1.5f);
  EXPECT_FLOAT_EQ(d::samp_scale(4), 4.0f / 3.0f);
}

TEST(ReductionSampling, SkipsFloorOfTheFractionEvenly) {
  const int fractions[][2] = {{1, 2}, {2, 5}, {1, 4}};
  for (const auto& fr : fractions) {
    for (int n = 1; n <= 49; ++n) {
      int skipped = 0;
      for (int j = 0; j < n; ++j) skipped += d::red_is_skipped(j, fr[0], fr[1]) ? 1 : 0;
      EXPECT_EQ(skipped, n * fr[0] / fr[1]) << n << " " << fr[0] << "/" << fr[1];
    }
  }
  // 2x2 window at 50 %: elements 1 and 3 are skipped.
  EXPECT_FALSE(d::red_is_skipped(0, 1, 2));
  EXPECT_TRUE(d::red_is_skipped(1, 1, 2));
  EXPECT_FALSE(d::red_is_skipped(2, 1, 2));
  EXPECT_TRUE(d::red_is_skipped(3, 1, 2));
}

float via_float16(float x) { return static_cast<float>(static_cast<_Float16>(x)); }

bool same_bits(float a, float b) {
  std::uint32_t x = 0;
  std::uint32_t y = 0;
  std::memcpy(&x, &a, 4);
  std::memcpy(&y, &b, 4);
  return x == y;
}

TEST(HalfRounding, MatchesCompilerFloat16OnEdgesAndRandomBits) {
  const float edges[] = {0.0f,
                         -0.0f,
                         1.0f,
                         -1.0f,
                         65504.0f,
                         65519.99f,
                         65520.0f,
                         1e6f,
                         6.1035156e-5f,
                         6.0e-5f,
                         5.9604645e-8f,
                         2.9802322e-8f,
                         2.98024e-8f,
                         1e-9f,
                         0.1f,
                         1.0009765625f,
                         1.00048828125f,
                         1.00146484375f,
                         std::numeric_limits<float>::infinity()};
  for (float x : edges) {
    EXPECT_TRUE(same_bits(d::round_half(x), via_float16(x))) << x;
    EXPECT_TRUE(same_bits(d::round_half(-x), via_float16(-x))) << -x;
  }
  EXPECT_TRUE(std::isnan(d::round_half(std::numeric_limits<float>::quiet_NaN())));
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE(testing::Message() << "seed=" << seed);
  std::mt19937 rng(seed);
  std::uniform_int_distribution<std::uint32_t> bits;
  for (int i = 0; i < 2000000; ++i) {
    std::uint32_t u = bits(rng);
    if ((u & 0x7f800000u) == 0x7f800000u) continue;  // NaN payloads differ legitimately
    // Bias towards the half range so the subnormal and normal paths are both hit often.
    if (i % 2 == 0) u = (u & 0x80000000u) | (0x33000000u + u % (0x47800000u - 0x33000000u));
    float x = 0.0f;
    std::memcpy(&x, &u, 4);
    ASSERT_TRUE(same_bits(d::round_half(x), via_float16(x))) << "x=" << x << " bits=" << u;
  }
  // All 65536 half values round-trip through the float conversion.
  for (std::uint32_t h = 0; h < 65536; ++h) {
    const float f = d::half_bits_to_float_value(static_cast<std::uint16_t>(h));
    if (std::isnan(f)) continue;
    ASSERT_TRUE(
        same_bits(f, static_cast<float>(std::bit_cast<_Float16>(static_cast<std::uint16_t>(h)))))
        << h;
    ASSERT_EQ(d::half_from_float_bits(f), h);
  }
  EXPECT_EQ(approxtune::kernels::round_to_half(0.1f), via_float16(0.1f));
}

}  // namespace
