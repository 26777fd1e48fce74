// knob -> kernel variant for each device, and the mismatch errors.
#include <gtest/gtest.h>

#include "approxtune/kernels/variants.hpp"
#include "approxtune/knobs/catalogue.hpp"
#include "approxtune/knobs/mapping.hpp"

namespace {

namespace kn = approxtune::knobs;
namespace k = approxtune::kernels;

const kn::knob_catalogue& ref() { return kn::knob_catalogue::reference(); }

TEST(Mapping, ConvVariantsOfEveryConvKnob) {
  EXPECT_EQ(kn::conv_variant_for(ref().at(11), kn::device_kind::cpu), k::exact_conv());
  EXPECT_EQ(kn::conv_variant_for(ref().at(12), kn::device_kind::gpu),
            k::exact_conv(k::precision::fp16));
  EXPECT_EQ(kn::conv_variant_for(ref().at(121), kn::device_kind::cpu), k::perforated_cols(2, 0));
  EXPECT_EQ(kn::conv_variant_for(ref().at(124), kn::device_kind::cpu), k::perforated_rows(2, 1));
  EXPECT_EQ(kn::conv_variant_for(ref().at(138), kn::device_kind::gpu), k::perforated_rows(4, 3));
  EXPECT_EQ(kn::conv_variant_for(ref().at(153), kn::device_kind::gpu),
            k::perforated_rows(2, 0, k::precision::fp16));
  EXPECT_EQ(kn::conv_variant_for(ref().at(235), kn::device_kind::cpu), k::filter_sampling(3, 2));
  EXPECT_EQ(kn::conv_variant_for(ref().at(269), kn::device_kind::gpu),
            k::filter_sampling(4, 3, k::precision::fp16));
  // fp16 twins differ from their fp32 twin (ID - 30) only in precision.
  for (int id : {151, 160, 168, 261, 265, 269}) {
    k::conv_variant v16 = kn::conv_variant_for(ref().at(id), kn::device_kind::gpu);
    k::conv_variant v32 = kn::conv_variant_for(ref().at(id - 30), kn::device_kind::gpu);
    EXPECT_EQ(v16.prec, k::precision::fp16);
    v16.prec = k::precision::fp32;
    EXPECT_EQ(v16, v32) << id;
  }
}

TEST(Mapping, Fp16OnCpuOnlyAsExplicitSimulation) {
  EXPECT_THROW(kn::conv_variant_for(ref().at(151), kn::device_kind::cpu), kn::knob_mismatch_error);
  EXPECT_EQ(kn::conv_variant_for(ref().at(151), kn::device_kind::cpu, kn::fp16_on_cpu::simulate),
            k::perforated_cols(2, 0, k::precision::fp16));
  EXPECT_EQ(
      kn::dense_variant_for(ref().at(12), kn::device_kind::cpu, kn::fp16_on_cpu::simulate).prec,
      k::precision::fp16);
  // Simulation does not lift the op-kind check.
  EXPECT_THROW(
      kn::dense_variant_for(ref().at(151), kn::device_kind::cpu, kn::fp16_on_cpu::simulate),
      kn::knob_mismatch_error);
}

TEST(Mapping, DensePoolAndElementwise) {
  EXPECT_EQ(kn::dense_variant_for(ref().at(11), kn::device_kind::cpu).prec, k::precision::fp32);
  EXPECT_EQ(kn::dense_variant_for(ref().at(12), kn::device_kind::gpu).prec, k::precision::fp16);
  EXPECT_THROW(kn::dense_variant_for(ref().at(121), kn::device_kind::cpu), kn::knob_mismatch_error);
  EXPECT_EQ(kn::pool_variant_for(ref().at(41), kn::op_kind::pool_max, kn::device_kind::cpu),
            k::sampled_pool(1, 2));
  EXPECT_EQ(kn::pool_variant_for(ref().at(43), kn::op_kind::pool_mean, kn::device_kind::cpu),
            k::sampled_pool(2, 5));
  EXPECT_EQ(kn::pool_variant_for(ref().at(46), kn::op_kind::pool_mean, kn::device_kind::gpu),
            k::sampled_pool(1, 4, k::precision::fp16));
  EXPECT_EQ(kn::pool_variant_for(ref().at(11), kn::op_kind::pool_max, kn::device_kind::cpu),
            k::exact_pool());
  EXPECT_THROW(kn::pool_variant_for(ref().at(41), kn::op_kind::conv, kn::device_kind::cpu),
               kn::knob_mismatch_error);
  EXPECT_THROW(kn::pool_variant_for(ref().at(42), kn::op_kind::pool_max, kn::device_kind::cpu),
               kn::knob_mismatch_error);
  EXPECT_THROW(kn::conv_variant_for(ref().at(41), kn::device_kind::cpu), kn::knob_mismatch_error);
  EXPECT_EQ(kn::elementwise_precision_for(ref().at(12), kn::op_kind::relu, kn::device_kind::gpu),
            k::precision::fp16);
  EXPECT_THROW(
      kn::elementwise_precision_for(ref().at(121), kn::op_kind::relu, kn::device_kind::cpu),
      kn::knob_mismatch_error);
}

}  // namespace
