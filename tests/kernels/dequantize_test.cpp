#include "kiln/kernels/dequantize.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "kiln/base/error.h"
#include "kiln/gguf/gguf_file.h"
#include "kiln/kernels/blocks.h"
#include "kiln/kernels/fp16.h"

namespace kiln::kernels {
namespace {

using gguf::TensorType;

template <typename Block>
std::vector<float> Decode(TensorType type, const Block& block, int n) {
  std::vector<float> out(static_cast<std::size_t>(n));
  DequantizeRow(type, &block, out.data(), n);
  return out;
}

// ---- Hand-made blocks with values worked out from ggml's definitions ----

TEST(DequantizeTest, Q4_0LowNibblesAreTheFirstHalf) {
  BlockQ4_0 b{};
  b.d = F32ToF16(0.5f);
  for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<std::uint8_t>(j | ((15 - j) << 4));
  std::vector<float> y = Decode(TensorType::kQ4_0, b, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], (j - 8) * 0.5f) << j;
    EXPECT_EQ(y[j + 16], (7 - j) * 0.5f) << j;
  }
}

TEST(DequantizeTest, Q4_1AddsTheMinimum) {
  BlockQ4_1 b{};
  b.d = F32ToF16(0.25f);
  b.m = F32ToF16(-1.0f);
  for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<std::uint8_t>(j | ((15 - j) << 4));
  std::vector<float> y = Decode(TensorType::kQ4_1, b, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], j * 0.25f - 1.0f) << j;
    EXPECT_EQ(y[j + 16], (15 - j) * 0.25f - 1.0f) << j;
  }
}

// qh is a little-endian word: bit j is the fifth bit of element j.
TEST(DequantizeTest, Q5_0AndQ5_1FifthBits) {
  const std::uint32_t qh = (1u << 0) | (1u << 5) | (1u << 16) | (1u << 31);
  BlockQ5_0 b0{};
  BlockQ5_1 b1{};
  b0.d = F32ToF16(2.0f);
  b1.d = F32ToF16(2.0f);
  b1.m = F32ToF16(3.0f);
  for (int k = 0; k < 4; ++k) {
    b0.qh[k] = b1.qh[k] = static_cast<std::uint8_t>(qh >> (8 * k));
  }
  for (int j = 0; j < 16; ++j) {
    b0.qs[j] = b1.qs[j] = static_cast<std::uint8_t>(j | ((15 - j) << 4));
  }
  std::vector<float> y0 = Decode(TensorType::kQ5_0, b0, 32);
  std::vector<float> y1 = Decode(TensorType::kQ5_1, b1, 32);
  for (int e = 0; e < 32; ++e) {
    int q = (e < 16 ? e : 31 - e) + (((qh >> e) & 1) ? 16 : 0);
    EXPECT_EQ(y0[e], (q - 16) * 2.0f) << e;
    EXPECT_EQ(y1[e], q * 2.0f + 3.0f) << e;
  }
  EXPECT_EQ(y0[5], 10.0f);   // (5 | 16) - 16 = 5
  EXPECT_EQ(y0[6], -20.0f);  // 6 - 16
  EXPECT_EQ(y0[16], 30.0f);  // high nibble of qs[0] is 15, fifth bit set: 31 - 16
  EXPECT_EQ(y1[17], 31.0f);  // high nibble of qs[1] is 14, no fifth bit: 14 * 2 + 3
}

TEST(DequantizeTest, Q8Types) {
  BlockQ8_0 b0{};
  BlockQ8_1 b1{};
  BlockQ8_K bk{};
  b0.d = b1.d = F32ToF16(2.0f);
  b1.s = F32ToF16(123.0f);  // a cached sum; not part of the values
  for (int j = 0; j < 32; ++j) b0.qs[j] = b1.qs[j] = static_cast<std::int8_t>(j - 16);
  bk.d = 0.125f;
  for (int j = 0; j < 256; ++j) bk.qs[j] = static_cast<std::int8_t>(j - 128);
  std::vector<float> y0 = Decode(TensorType::kQ8_0, b0, 32);
  std::vector<float> y1 = Decode(TensorType::kQ8_1, b1, 32);
  std::vector<float> yk = Decode(TensorType::kQ8_K, bk, 256);
  for (int j = 0; j < 32; ++j) {
    EXPECT_EQ(y0[j], (j - 16) * 2.0f);
    EXPECT_EQ(y1[j], (j - 16) * 2.0f);
  }
  for (int j = 0; j < 256; ++j) EXPECT_EQ(yk[j], (j - 128) * 0.125f);
}

TEST(DequantizeTest, FloatTypes) {
  std::vector<float> f32 = {1.5f, -2.0f, 1e-30f, 3e38f};
  std::vector<std::uint16_t> f16 = {0x3c00, 0xc000, 0x7bff, 0x0001};
  std::vector<std::uint16_t> bf16 = {0x3f80, 0xbf80, 0x4049, 0x0000};
  std::vector<float> out(4);
  DequantizeRow(TensorType::kF32, f32.data(), out.data(), 4);
  EXPECT_EQ(out, f32);
  DequantizeRow(TensorType::kF16, f16.data(), out.data(), 4);
  EXPECT_EQ(out, (std::vector<float>{1.0f, -2.0f, 65504.0f, 5.9604645e-8f}));
  DequantizeRow(TensorType::kBF16, bf16.data(), out.data(), 4);
  EXPECT_EQ(out, (std::vector<float>{1.0f, -1.0f, 3.140625f, 0.0f}));
}

// Bytes set by hand; expected values worked out from ggml's dequantize_row_q2_K.
TEST(DequantizeTest, Q2_KHandBlock) {
  BlockQ2_K b{};
  b.d = F32ToF16(1.0f);
  b.dmin = F32ToF16(0.5f);
  b.scales[0] = 0x32;  // scale 2, min 3 for elements 0..15
  b.scales[1] = 0x01;  // scale 1, min 0 for 16..31
  b.scales[2] = 0x15;  // scale 5, min 1 for 32..47
  b.qs[0] = 0xE4;      // 2-bit quants 0, 1, 2, 3 of elements 0, 32, 64, 96
  b.qs[16] = 0x03;     // element 16: 3
  std::vector<float> y = Decode(TensorType::kQ2_K, b, 256);
  EXPECT_EQ(y[0], -1.5f);
  EXPECT_EQ(y[1], -1.5f);
  EXPECT_EQ(y[16], 3.0f);
  EXPECT_EQ(y[32], 4.5f);
  EXPECT_EQ(y[33], -0.5f);
  EXPECT_EQ(y[64], 0.0f);
  EXPECT_EQ(y[255], 0.0f);
}

TEST(DequantizeTest, Q3_KHandBlock) {
  BlockQ3_K b{};
  b.d = F32ToF16(1.0f);
  b.scales[0] = 0x21;  // scale 0 low bits 1, scale 8 low bits 2
  b.scales[8] = 0x0C;  // top bits of scale 4 are 3
  b.qs[0] = 0xE4;      // low bits 0, 1, 2, 3 of elements 0, 32, 64, 96
  b.hmask[0] = 0x02;   // element 32 has its high bit: no -4
  std::vector<float> y = Decode(TensorType::kQ3_K, b, 256);
  EXPECT_EQ(y[0], 124.0f);  // scale 1 - 32 = -31, q = 0 - 4
  EXPECT_EQ(y[1], 124.0f);
  EXPECT_EQ(y[32], -32.0f);   // scale -32, q = 1
  EXPECT_EQ(y[64], -32.0f);   // scale 48 - 32 = 16, q = 2 - 4
  EXPECT_EQ(y[96], 32.0f);    // scale -32, q = 3 - 4
  EXPECT_EQ(y[128], 120.0f);  // scale 2 - 32 = -30, q = -4
}

TEST(DequantizeTest, Q4_KHandBlock) {
  BlockQ4_K b{};
  b.d = F32ToF16(1.0f);
  b.dmin = F32ToF16(1.0f);
  const std::uint8_t scales[12] = {0x41, 2, 3, 4, 5, 6, 7, 8, 0x21, 0, 0, 0};
  std::memcpy(b.scales, scales, 12);
  b.qs[0] = 0x93;   // element 0: 3, element 32: 9
  b.qs[64] = 0x05;  // element 128: 5
  std::vector<float> y = Decode(TensorType::kQ4_K, b, 256);
  EXPECT_EQ(y[0], 1 * 3 - 5.0f);
  EXPECT_EQ(y[1], -5.0f);
  EXPECT_EQ(y[32], 2 * 9 - 6.0f);
  EXPECT_EQ(y[33], -6.0f);
  EXPECT_EQ(y[64], -7.0f);
  EXPECT_EQ(y[96], -8.0f);
  EXPECT_EQ(y[128], 17 * 5 - 2.0f);  // scale (1 | 1 << 4), min 2
  EXPECT_EQ(y[160], 0.0f);
}

TEST(DequantizeTest, Q5_KHandBlock) {
  BlockQ5_K b{};
  b.d = F32ToF16(1.0f);
  b.dmin = F32ToF16(1.0f);
  const std::uint8_t scales[12] = {1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0};
  std::memcpy(b.scales, scales, 12);
  b.qs[0] = 0x93;
  b.qh[0] = 0x05;  // fifth bits of elements 0 (bit 0) and 64 (bit 2)
  b.qh[1] = 0x02;  // fifth bit of element 33
  std::vector<float> y = Decode(TensorType::kQ5_K, b, 256);
  EXPECT_EQ(y[0], 19.0f);       // 3 + 16
  EXPECT_EQ(y[32], 18.0f);      // 2 * 9
  EXPECT_EQ(y[33], 32.0f);      // 2 * 16
  EXPECT_EQ(y[64], 3 * 16.0f);  // 3 * (0 + 16)
  EXPECT_EQ(y[1], 0.0f);
}

TEST(DequantizeTest, Q6_KHandBlock) {
  BlockQ6_K b{};
  b.d = F32ToF16(0.5f);
  b.scales[0] = 1;
  b.scales[1] = -1;
  b.scales[2] = 2;
  b.scales[4] = 3;
  b.scales[6] = 4;
  b.scales[8] = 5;
  b.ql[0] = 0x21;
  b.ql[32] = 0x43;
  b.qh[0] = 0xE4;
  b.ql[64] = 0x0F;
  b.qh[32] = 0x03;
  std::vector<float> y = Decode(TensorType::kQ6_K, b, 256);
  EXPECT_EQ(y[0], 0.5f * 1 * (1 - 32));
  EXPECT_EQ(y[16], 0.5f * -1 * -32);
  EXPECT_EQ(y[32], 0.5f * 2 * (3 + 16 - 32));
  EXPECT_EQ(y[64], 0.5f * 3 * (2 + 32 - 32));
  EXPECT_EQ(y[96], 0.5f * 4 * (4 + 48 - 32));
  EXPECT_EQ(y[128], 0.5f * 5 * (15 + 48 - 32));
  EXPECT_EQ(y[129], 0.5f * 5 * -32);
}

// ---- Random quants packed the way ggml's quantizers pack them, decoded back ----

class Lcg {
 public:
  explicit Lcg(std::uint32_t seed) : state_(seed) {}
  int Next(int bound) {
    state_ = state_ * 1664525u + 1013904223u;
    return static_cast<int>((state_ >> 8) % static_cast<std::uint32_t>(bound));
  }

 private:
  std::uint32_t state_;
};

void PackTwoBitPlanes(const int* L, std::uint8_t* qs) {
  for (int j = 0; j < 256; j += 128) {
    for (int l = 0; l < 32; ++l) {
      qs[j / 4 + l] =
          static_cast<std::uint8_t>((L[j + l] & 3) | (L[j + l + 32] & 3) << 2 |
                                    (L[j + l + 64] & 3) << 4 | (L[j + l + 96] & 3) << 6);
    }
  }
}

void PackScaleMin(const int* sc, const int* mn, std::uint8_t* out) {
  std::memset(out, 0, 12);
  for (int j = 0; j < 8; ++j) {
    if (j < 4) {
      out[j] = static_cast<std::uint8_t>(sc[j]);
      out[j + 4] = static_cast<std::uint8_t>(mn[j]);
    } else {
      out[j + 4] = static_cast<std::uint8_t>((sc[j] & 0xF) | ((mn[j] & 0xF) << 4));
      out[j - 4] |= static_cast<std::uint8_t>((sc[j] >> 4) << 6);
      out[j] |= static_cast<std::uint8_t>((mn[j] >> 4) << 6);
    }
  }
}

TEST(DequantizeTest, Q2_KRandomBlocks) {
  Lcg rng(1);
  for (int trial = 0; trial < 20; ++trial) {
    int L[256], sc[16], mn[16];
    for (int& v : L) v = rng.Next(4);
    BlockQ2_K b{};
    for (int j = 0; j < 16; ++j) {
      sc[j] = rng.Next(16);
      mn[j] = rng.Next(16);
      b.scales[j] = static_cast<std::uint8_t>(sc[j] | mn[j] << 4);
    }
    PackTwoBitPlanes(L, b.qs);
    b.d = F32ToF16(0.75f);
    b.dmin = F32ToF16(0.25f);
    std::vector<float> y = Decode(TensorType::kQ2_K, b, 256);
    for (int e = 0; e < 256; ++e) {
      ASSERT_EQ(y[e], 0.75f * sc[e / 16] * L[e] - 0.25f * mn[e / 16]) << e;
    }
  }
}

TEST(DequantizeTest, Q3_KRandomBlocks) {
  Lcg rng(2);
  for (int trial = 0; trial < 20; ++trial) {
    int L[256], sc[16];
    for (int& v : L) v = rng.Next(8);
    BlockQ3_K b{};
    for (int j = 0; j < 16; ++j) {
      sc[j] = rng.Next(64) - 32;
      int biased = sc[j] + 32;
      if (j < 8) {
        b.scales[j] = static_cast<std::uint8_t>(biased & 0xF);
      } else {
        b.scales[j - 8] |= static_cast<std::uint8_t>((biased & 0xF) << 4);
      }
      b.scales[j % 4 + 8] |= static_cast<std::uint8_t>((biased >> 4) << (2 * (j / 4)));
    }
    for (int e = 0; e < 256; ++e) {
      if (L[e] > 3) b.hmask[e % 32] |= static_cast<std::uint8_t>(1 << (e / 32));
    }
    PackTwoBitPlanes(L, b.qs);
    b.d = F32ToF16(0.5f);
    std::vector<float> y = Decode(TensorType::kQ3_K, b, 256);
    for (int e = 0; e < 256; ++e) ASSERT_EQ(y[e], 0.5f * sc[e / 16] * (L[e] - 4)) << e;
  }
}

TEST(DequantizeTest, Q4_KAndQ5_KRandomBlocks) {
  Lcg rng(3);
  for (int trial = 0; trial < 20; ++trial) {
    int L[256], sc[8], mn[8];
    for (int& v : L) v = rng.Next(32);
    for (int j = 0; j < 8; ++j) {
      sc[j] = rng.Next(64);
      mn[j] = rng.Next(64);
    }
    BlockQ4_K b4{};
    BlockQ5_K b5{};
    PackScaleMin(sc, mn, b4.scales);
    PackScaleMin(sc, mn, b5.scales);
    b4.d = b5.d = F32ToF16(0.5f);
    b4.dmin = b5.dmin = F32ToF16(0.25f);
    for (int c = 0; c < 4; ++c) {
      for (int l = 0; l < 32; ++l) {
        int lo = L[64 * c + l], hi = L[64 * c + 32 + l];
        b4.qs[32 * c + l] = static_cast<std::uint8_t>((lo & 0xF) | (hi & 0xF) << 4);
        b5.qs[32 * c + l] = b4.qs[32 * c + l];
        if (lo > 15) b5.qh[l] |= static_cast<std::uint8_t>(1 << (2 * c));
        if (hi > 15) b5.qh[l] |= static_cast<std::uint8_t>(2 << (2 * c));
      }
    }
    std::vector<float> y4 = Decode(TensorType::kQ4_K, b4, 256);
    std::vector<float> y5 = Decode(TensorType::kQ5_K, b5, 256);
    for (int e = 0; e < 256; ++e) {
      int s = e / 32;
      ASSERT_EQ(y4[e], 0.5f * sc[s] * (L[e] & 0xF) - 0.25f * mn[s]) << e;
      ASSERT_EQ(y5[e], 0.5f * sc[s] * L[e] - 0.25f * mn[s]) << e;
    }
  }
}

TEST(DequantizeTest, Q6_KRandomBlocks) {
  Lcg rng(4);
  for (int trial = 0; trial < 20; ++trial) {
    int L[256], sc[16];
    for (int& v : L) v = rng.Next(64);
    BlockQ6_K b{};
    for (int j = 0; j < 16; ++j) {
      sc[j] = rng.Next(256) - 128;
      b.scales[j] = static_cast<std::int8_t>(sc[j]);
    }
    for (int j = 0; j < 256; j += 128) {
      std::uint8_t* ql = b.ql + j / 2;
      std::uint8_t* qh = b.qh + j / 4;
      for (int l = 0; l < 32; ++l) {
        ql[l] = static_cast<std::uint8_t>((L[j + l] & 0xF) | (L[j + l + 64] & 0xF) << 4);
        ql[l + 32] = static_cast<std::uint8_t>((L[j + l + 32] & 0xF) | (L[j + l + 96] & 0xF) << 4);
        qh[l] = static_cast<std::uint8_t>((L[j + l] >> 4) | (L[j + l + 32] >> 4) << 2 |
                                          (L[j + l + 64] >> 4) << 4 | (L[j + l + 96] >> 4) << 6);
      }
    }
    b.d = F32ToF16(0.25f);
    std::vector<float> y = Decode(TensorType::kQ6_K, b, 256);
    for (int e = 0; e < 256; ++e) ASSERT_EQ(y[e], 0.25f * sc[e / 16] * (L[e] - 32)) << e;
  }
}

TEST(DequantizeTest, RowsOfManyBlocksAndUnalignedSource) {
  std::vector<BlockQ8_0> blocks(5);
  for (int i = 0; i < 5; ++i) {
    blocks[i].d = F32ToF16(static_cast<float>(i + 1));
    for (int j = 0; j < 32; ++j) blocks[i].qs[j] = static_cast<std::int8_t>(j);
  }
  // Shift the bytes by one so that no block sits at its natural alignment.
  std::vector<std::uint8_t> bytes(sizeof(BlockQ8_0) * 5 + 1);
  std::memcpy(bytes.data() + 1, blocks.data(), sizeof(BlockQ8_0) * 5);
  std::vector<float> y(160);
  DequantizeRow(TensorType::kQ8_0, bytes.data() + 1, y.data(), 160);
  for (int i = 0; i < 5; ++i) {
    for (int j = 0; j < 32; ++j) ASSERT_EQ(y[32 * i + j], static_cast<float>((i + 1) * j));
  }
}

TEST(DequantizeTest, RejectsUnsupportedTypesAndPartialBlocks) {
  std::vector<std::uint8_t> bytes(1024);
  std::vector<float> y(256);
  try {
    DequantizeRow(TensorType::kIQ2_XXS, bytes.data(), y.data(), 256);
    FAIL() << "IQ2_XXS decoded";
  } catch (const Error& e) {
    std::string message = e.what();
    EXPECT_NE(message.find("IQ2_XXS"), std::string::npos) << message;
    EXPECT_NE(message.find("Q4_K"), std::string::npos) << message;  // lists what works
    EXPECT_NE(message.find("BF16"), std::string::npos) << message;
  }
  EXPECT_THROW(DequantizeRow(TensorType::kQ4_0, bytes.data(), y.data(), 33), Error);
  EXPECT_THROW(DequantizeRow(TensorType::kQ6_K, bytes.data(), y.data(), 128), Error);
  EXPECT_THROW(DequantizeRow(TensorType::kF16, bytes.data(), y.data(), -1), Error);
  EXPECT_FALSE(IsSupportedWeightType(TensorType::kI32));
  EXPECT_FALSE(IsSupportedWeightType(TensorType::kIQ4_XS));
  for (TensorType t : SupportedWeightTypes()) EXPECT_TRUE(IsSupportedWeightType(t));
  EXPECT_EQ(SupportedWeightTypes().size(), 15u);
}

TEST(DequantizeTest, RowSizeBytes) {
  EXPECT_EQ(RowSizeBytes(TensorType::kF32, 7), 28u);
  EXPECT_EQ(RowSizeBytes(TensorType::kBF16, 3), 6u);
  EXPECT_EQ(RowSizeBytes(TensorType::kQ4_0, 64), 36u);
  EXPECT_EQ(RowSizeBytes(TensorType::kQ6_K, 512), 420u);
  EXPECT_EQ(RowSizeBytes(TensorType::kQ8_K, 0), 0u);
  EXPECT_THROW(RowSizeBytes(TensorType::kQ4_K, 255), Error);
  EXPECT_THROW(RowSizeBytes(TensorType::kQ8_0, -32), Error);
}

// ---- Real files: the same random weights quantized by llama.cpp in several formats ----

std::string ModelPath(const std::string& name) {
  return std::string(KILN_FIXTURES_DIR) + "/models/" + name + ".gguf";
}

std::vector<float> DequantizeTensor(const gguf::TensorInfo& t) {
  std::vector<float> out(t.element_count);
  const std::int64_t row = static_cast<std::int64_t>(t.shape[0]);
  const std::size_t row_bytes = RowSizeBytes(t.type, row);
  for (std::uint64_t r = 0; r < t.rows(); ++r) {
    DequantizeRow(t.type, t.data + r * row_bytes, out.data() + r * row, row);
  }
  return out;
}

// ||a - b|| / ||b||
double RelativeRms(const std::vector<float>& a, const std::vector<float>& b) {
  double err = 0, ref = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    double d = static_cast<double>(a[i]) - b[i];
    err += d * d;
    ref += static_cast<double>(b[i]) * b[i];
  }
  return std::sqrt(err / ref);
}

// Compares every tensor of `model` whose type differs from the same tensor in `reference`, with
// the largest relative RMS difference allowed for each type. A bit-layout mistake scrambles values
// and lands near sqrt(2); honest quantization noise stays at what the bit width implies.
void CompareWithReference(const std::string& model, const std::string& reference,
                          const std::map<TensorType, double>& bound, int expected_comparisons) {
  gguf::GgufFile file = gguf::GgufFile::Open(ModelPath(model));
  gguf::GgufFile ref = gguf::GgufFile::Open(ModelPath(reference));
  int compared = 0;
  std::map<TensorType, double> worst;
  for (const gguf::TensorInfo& t : file.tensors()) {
    const gguf::TensorInfo& r = ref.RequireTensor(t.name);
    ASSERT_EQ(t.shape, r.shape) << t.name;
    if (t.type == r.type) continue;
    ASSERT_TRUE(bound.count(t.type)) << t.name << " has unexpected type " << gguf::NameOf(t.type);
    double rel = RelativeRms(DequantizeTensor(t), DequantizeTensor(r));
    EXPECT_LT(rel, bound.at(t.type))
        << model << " " << t.name << " (" << gguf::NameOf(t.type) << ") against " << reference;
    worst[t.type] = std::max(worst[t.type], rel);
    ++compared;
  }
  for (const auto& [type, rel] : worst) {
    std::printf("  %s: %s worst relative RMS vs %s = %.4f\n", model.c_str(),
                std::string(gguf::NameOf(type)).c_str(), reference.c_str(), rel);
  }
  EXPECT_EQ(compared, expected_comparisons);
}

TEST(DequantizeFixtureTest, LlamaQ4_0MatchesQ8_0) {
  CompareWithReference("tiny-llama-q4_0", "tiny-llama-q8_0",
                       {{TensorType::kQ4_0, 0.11}, {TensorType::kQ6_K, 0.025}}, 23);
}

TEST(DequantizeFixtureTest, LlamaQ4_K_MMatchesQ8_0) {
  CompareWithReference("tiny-llama-q4_k_m", "tiny-llama-q8_0",
                       {{TensorType::kQ4_K, 0.09}, {TensorType::kQ6_K, 0.025}}, 23);
}

TEST(DequantizeFixtureTest, Qwen2Q6_KMatchesQ8_0) {
  CompareWithReference("tiny-qwen2-q6_k", "tiny-qwen2-q8_0", {{TensorType::kQ6_K, 0.025}}, 15);
}

// The two check-llama files hold the same weights; Q5_K is the finer of the two.
TEST(DequantizeFixtureTest, CheckLlamaQ4_1MatchesQ5_K) {
  CompareWithReference("check-llama-q4_1", "check-llama-q5_k_m", {{TensorType::kQ4_1, 0.11}}, 15);
}

}  // namespace
}  // namespace kiln::kernels
