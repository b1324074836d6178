#include "kiln/model/kv_cache.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kiln/base/error.h"
#include "kiln/kernels/dequantize.h"
#include "kiln/kernels/fp16.h"

namespace kiln::model {
namespace {

ModelConfig SmallConfig() {
  ModelConfig c;
  c.block_count = 2;
  c.head_count = 4;
  c.head_count_kv = 2;
  c.key_length = 8;
  c.value_length = 6;
  return c;
}

float KeyAt(const KvCache& cache, int layer, int block, int slot, int head, int i) {
  kernels::RowsView rows = cache.Keys(layer, block, head).From(slot);
  if (rows.type == gguf::TensorType::kF16) {
    return kernels::F16ToF32(static_cast<const std::uint16_t*>(rows.data)[i]);
  }
  return static_cast<const float*>(rows.data)[i];
}

float ValueAt(const KvCache& cache, int layer, int block, int slot, int head, int i) {
  kernels::RowsView rows = cache.Values(layer, block, head).From(slot);
  if (rows.type == gguf::TensorType::kF16) {
    return kernels::F16ToF32(static_cast<const std::uint16_t*>(rows.data)[i]);
  }
  return static_cast<const float*>(rows.data)[i];
}

class KvCacheTest : public ::testing::TestWithParam<gguf::TensorType> {};

TEST_P(KvCacheTest, EverySlotOfEveryLayerAndBlockIsItsOwn) {
  KvCache cache(SmallConfig(), {.num_blocks = 3, .block_size = 4, .type = GetParam()});
  EXPECT_EQ(cache.bytes(),
            2u * 3 * 4 * 2 * (8 + 6) * (GetParam() == gguf::TensorType::kF16 ? 2 : 4));
  // A distinct integer below 2048 (exact in F16 too) for every element.
  auto key = [](int l, int b, int s, int h, int i) {
    return static_cast<float>((((l * 3 + b) * 4 + s) * 2 + h) * 8 + i);
  };
  auto value = [&](int l, int b, int s, int h, int i) { return -key(l, b, s, h, i) - 1; };
  for (int l = 0; l < 2; ++l) {
    for (int b = 0; b < 3; ++b) {
      for (int s = 0; s < 4; ++s) {
        std::vector<float> k(16), v(12);
        for (int h = 0; h < 2; ++h) {
          for (int i = 0; i < 8; ++i) k[h * 8 + i] = key(l, b, s, h, i);
          for (int i = 0; i < 6; ++i) v[h * 6 + i] = value(l, b, s, h, i);
        }
        cache.Store(l, b, s, k.data(), v.data());
      }
    }
  }
  for (int l = 0; l < 2; ++l) {
    for (int b = 0; b < 3; ++b) {
      for (int s = 0; s < 4; ++s) {
        for (int h = 0; h < 2; ++h) {
          for (int i = 0; i < 8; ++i) ASSERT_EQ(KeyAt(cache, l, b, s, h, i), key(l, b, s, h, i));
          for (int i = 0; i < 6; ++i)
            ASSERT_EQ(ValueAt(cache, l, b, s, h, i), value(l, b, s, h, i));
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Types, KvCacheTest,
                         ::testing::Values(gguf::TensorType::kF32, gguf::TensorType::kF16));

TEST(KvCacheErrorsTest, RejectsUnsupportedTypesAndEmptyPools) {
  try {
    KvCache cache(SmallConfig(),
                  {.num_blocks = 1, .block_size = 16, .type = gguf::TensorType::kQ4_0});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Q4_0 is not supported; use one of F32, F16, Q8_0"),
              std::string::npos)
        << e.what();
  }
  // Heads of 8 and 6 cannot be cut into Q8_0's blocks of 32.
  EXPECT_THROW(KvCache(SmallConfig(), {.num_blocks = 1, .type = gguf::TensorType::kQ8_0}), Error);
  EXPECT_THROW(KvCache(SmallConfig(), {.num_blocks = 0}), Error);
  EXPECT_THROW(KvCache(SmallConfig(), {.num_blocks = 1, .block_size = 0}), Error);
}

TEST(KvCacheErrorsTest, F16RoundsToNearestHalf) {
  KvCache cache(SmallConfig(), {.num_blocks = 1, .block_size = 1});
  std::vector<float> k(16, 1.0f + 1.0f / 4096), v(12, 3.14159f);
  cache.Store(1, 0, 0, k.data(), v.data());
  EXPECT_EQ(KeyAt(cache, 1, 0, 0, 1, 7), 1.0f);  // halfway rounds to even
  EXPECT_EQ(ValueAt(cache, 1, 0, 0, 0, 0), kernels::F16ToF32(kernels::F32ToF16(3.14159f)));
}

TEST(KvCacheErrorsTest, Q8_0HoldsEachHeadWithinHalfAQuantizationStep) {
  ModelConfig c = SmallConfig();
  c.key_length = 32;
  c.value_length = 64;
  KvCache cache(c, {.num_blocks = 2, .block_size = 3, .type = gguf::TensorType::kQ8_0});
  EXPECT_EQ(cache.bytes(), 2u * 2 * 3 * 2 * (34 + 68));
  std::vector<float> k(64), v(128);
  for (int i = 0; i < 64; ++i) k[i] = (i < 32 ? 1.0f : 100.0f) * std::sin(i + 1.0f);
  for (int i = 0; i < 128; ++i) v[i] = std::cos(i * 0.3f);
  cache.Store(1, 1, 2, k.data(), v.data());
  std::vector<float> back(64);
  for (int h = 0; h < 2; ++h) {
    kernels::RowsView rows = cache.Keys(1, 1, h).From(2);
    kernels::DequantizeRow(gguf::TensorType::kQ8_0, rows.data, back.data(), 32);
    // Each head has its own scale: head 0's small values keep their precision. Half a step,
    // plus the rounding of the scale to F16.
    const float step = (h == 0 ? 1.0f : 100.0f) / 127;
    for (int i = 0; i < 32; ++i) EXPECT_NEAR(back[i], k[h * 32 + i], step * 0.6f) << h << i;
    rows = cache.Values(1, 1, h).From(2);
    kernels::DequantizeRow(gguf::TensorType::kQ8_0, rows.data, back.data(), 64);
    for (int i = 0; i < 64; ++i) EXPECT_NEAR(back[i], v[h * 64 + i], 0.6f / 127) << h << i;
  }
}

}  // namespace
}  // namespace kiln::model
