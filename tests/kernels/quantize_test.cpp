#include "kiln/kernels/quantize.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "kiln/base/error.h"
#include "kiln/gguf/gguf_file.h"
#include "kiln/kernels/blocks.h"
#include "kiln/kernels/dequantize.h"
#include "kiln/kernels/fp16.h"

namespace kiln::kernels {
namespace {

using gguf::TensorType;

const std::vector<TensorType> kBlockTypes = {
    TensorType::kQ4_0, TensorType::kQ4_1, TensorType::kQ5_0, TensorType::kQ5_1,
    TensorType::kQ8_0, TensorType::kQ8_1, TensorType::kQ2_K, TensorType::kQ3_K,
    TensorType::kQ4_K, TensorType::kQ5_K, TensorType::kQ6_K, TensorType::kQ8_K,
};

// Largest relative RMS error allowed on Gaussian data, per type: about 15% above the worst of the
// sizes GaussianRoundTripErrorPerType measures (it prints them). F16 and BF16 are held to their
// exact worst case, half a unit in the last place (2^-11 and 2^-8).
const std::map<TensorType, double> kGaussianBound = {
    {TensorType::kQ4_0, 0.099},  {TensorType::kQ4_1, 0.089},  {TensorType::kQ5_0, 0.051},
    {TensorType::kQ5_1, 0.046},  {TensorType::kQ8_0, 0.0064}, {TensorType::kQ8_1, 0.0064},
    {TensorType::kQ2_K, 0.37},   {TensorType::kQ3_K, 0.178},  {TensorType::kQ4_K, 0.080},
    {TensorType::kQ5_K, 0.042},  {TensorType::kQ6_K, 0.020},  {TensorType::kQ8_K, 0.0086},
    {TensorType::kF16, 0.00049}, {TensorType::kBF16, 0.0039}, {TensorType::kF32, 0.0},
};

int BlockElements(TensorType type) {
  return static_cast<int>(gguf::TraitsOf(type).block_elements);
}

std::vector<float> RoundTrip(TensorType type, const std::vector<float>& x) {
  auto n = static_cast<std::int64_t>(x.size());
  std::vector<std::uint8_t> bytes(RowSizeBytes(type, n));
  QuantizeRow(type, x.data(), bytes.data(), n);
  std::vector<float> y(x.size());
  DequantizeRow(type, bytes.data(), y.data(), n);
  return y;
}

double RelativeRms(const std::vector<float>& got, const std::vector<float>& want) {
  double err = 0, ref = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    double d = static_cast<double>(got[i]) - want[i];
    err += d * d;
    ref += static_cast<double>(want[i]) * want[i];
  }
  return ref > 0 ? std::sqrt(err / ref) : std::sqrt(err);
}

std::vector<float> Gaussian(std::size_t n, std::uint32_t seed, float sigma = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, sigma);
  std::vector<float> x(n);
  for (float& v : x) v = dist(rng);
  return x;
}

std::string Name(TensorType t) {
  return std::string(gguf::NameOf(t));
}

TEST(QuantizeTest, GaussianRoundTripErrorPerType) {
  std::vector<TensorType> types = kBlockTypes;
  types.insert(types.end(), {TensorType::kF32, TensorType::kF16, TensorType::kBF16});
  for (TensorType type : types) {
    int block = BlockElements(type);
    // One block, a few, and many (awkward counts: 1, 3, 37 blocks of 32 or 256).
    for (int blocks : {1, 3, 37}) {
      std::vector<float> x = Gaussian(static_cast<std::size_t>(block) * blocks, 7 + blocks);
      double rel = RelativeRms(RoundTrip(type, x), x);
      EXPECT_LE(rel, kGaussianBound.at(type)) << Name(type) << " over " << blocks << " blocks";
      std::printf("  %-5s x%-2d blocks: relative RMS error %.5f\n", Name(type).c_str(), blocks,
                  rel);
    }
  }
}

// Each extra bit roughly halves the error. (How the absolute level compares with llama.cpp's own
// quantizer is pinned by the fixture tests below, on the same weights.)
TEST(QuantizeTest, MoreBitsMeanLessError) {
  std::vector<float> x = Gaussian(256 * 64, 99);
  auto err = [&](TensorType t) { return RelativeRms(RoundTrip(t, x), x); };
  double q2 = err(TensorType::kQ2_K), q3 = err(TensorType::kQ3_K), q4 = err(TensorType::kQ4_K);
  double q5 = err(TensorType::kQ5_K), q6 = err(TensorType::kQ6_K), q8 = err(TensorType::kQ8_K);
  EXPECT_LT(q4, 0.075);
  EXPECT_LT(q2, 0.4);
  EXPECT_LT(q3, 0.6 * q2);
  EXPECT_LT(q4, 0.6 * q3);
  EXPECT_LT(q5, 0.6 * q4);
  EXPECT_LT(q6, 0.6 * q5);
  EXPECT_LT(q8, 0.6 * q6);
  // The K types beat the legacy types of the same width (finer scales, searched).
  EXPECT_LT(q4, err(TensorType::kQ4_0));
  EXPECT_LT(q4, err(TensorType::kQ4_1));
  EXPECT_LT(q5, err(TensorType::kQ5_1));
}

TEST(QuantizeTest, AllZeroRowsStayZero) {
  for (TensorType type : kBlockTypes) {
    std::vector<float> x(static_cast<std::size_t>(BlockElements(type)) * 2, 0.0f);
    std::vector<float> y = RoundTrip(type, x);
    for (float v : y) ASSERT_EQ(v, 0.0f) << Name(type);
  }
}

TEST(QuantizeTest, ConstantRows) {
  for (TensorType type : kBlockTypes) {
    for (float c : {5.0f, -0.75f, 0.1f}) {
      std::vector<float> x(static_cast<std::size_t>(BlockElements(type)) * 2, c);
      std::vector<float> y = RoundTrip(type, x);
      for (float v : y) ASSERT_NEAR(v, c, 2e-3 * std::fabs(c)) << Name(type) << " constant " << c;
    }
  }
}

// One huge value per row: it sets its block's scale, so it must come back nearly exactly;
// the rest of its block loses precision, but the other blocks must not.
TEST(QuantizeTest, OutliersAreKeptAndStayLocal) {
  for (TensorType type : kBlockTypes) {
    int block = BlockElements(type);
    std::vector<float> x = Gaussian(static_cast<std::size_t>(block) * 8, 5);
    const std::size_t at = static_cast<std::size_t>(block) * 3 + 5;
    x[at] = 100.0f;
    std::vector<float> y = RoundTrip(type, x);
    EXPECT_NEAR(y[at], 100.0f, 2.0f) << Name(type);
    std::vector<float> others_x, others_y;
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (i / static_cast<std::size_t>(block) == 3) continue;
      others_x.push_back(x[i]);
      others_y.push_back(y[i]);
    }
    EXPECT_LE(RelativeRms(others_y, others_x), kGaussianBound.at(type) * 1.2) << Name(type);
  }
}

// Scale does not matter while the block scale fits half precision (Q8_K keeps a float scale).
TEST(QuantizeTest, LargeAndSmallMagnitudes) {
  for (TensorType type : kBlockTypes) {
    int block = BlockElements(type);
    std::vector<float> base = Gaussian(static_cast<std::size_t>(block) * 4, 11);
    double rel_one = RelativeRms(RoundTrip(type, base), base);
    for (float magnitude : {3e3f, 1e-2f}) {
      std::vector<float> x = base;
      for (float& v : x) v *= magnitude;
      double rel = RelativeRms(RoundTrip(type, x), x);
      EXPECT_LE(rel, rel_one * 1.25 + 1e-4) << Name(type) << " at magnitude " << magnitude;
    }
    // Far below half precision's smallest step the values are lost, but nothing breaks.
    std::vector<float> tiny = base;
    for (float& v : tiny) v *= 1e-9f;
    std::vector<float> y = RoundTrip(type, tiny);
    for (std::size_t i = 0; i < y.size(); ++i) {
      ASSERT_TRUE(std::isfinite(y[i])) << Name(type);
      ASSERT_LE(std::fabs(y[i] - tiny[i]), 1e-8f) << Name(type);
    }
  }
}

TEST(QuantizeTest, ScaleOverflowIsAnError) {
  for (TensorType type : kBlockTypes) {
    std::vector<float> x = Gaussian(static_cast<std::size_t>(BlockElements(type)), 3);
    for (float& v : x) v *= 1e8f;
    std::vector<std::uint8_t> bytes(RowSizeBytes(type, static_cast<std::int64_t>(x.size())));
    if (type == TensorType::kQ8_K) {
      std::vector<float> y = RoundTrip(type, x);
      EXPECT_LE(RelativeRms(y, x), kGaussianBound.at(type));
      continue;
    }
    try {
      QuantizeRow(type, x.data(), bytes.data(), static_cast<std::int64_t>(x.size()));
      ADD_FAILURE() << Name(type) << " accepted values near 1e8";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(Name(type)), std::string::npos) << e.what();
    }
  }
  std::vector<float> big = {1e5f, 1.0f};
  std::vector<std::uint16_t> half(2);
  EXPECT_THROW(QuantizeRow(TensorType::kF16, big.data(), half.data(), 2), Error);
  QuantizeRow(TensorType::kBF16, big.data(), half.data(), 2);
  EXPECT_EQ(Bf16ToF32(half[0]), 99840.0f);  // 1e5 to 8 mantissa bits
}

TEST(QuantizeTest, RejectsBadInput) {
  std::vector<float> x(256, 1.0f);
  std::vector<std::uint8_t> bytes(2048);
  x[17] = std::numeric_limits<float>::quiet_NaN();
  try {
    QuantizeRow(TensorType::kQ4_K, x.data(), bytes.data(), 256);
    FAIL() << "NaN quantized";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("element 17"), std::string::npos) << e.what();
  }
  x[17] = std::numeric_limits<float>::infinity();
  EXPECT_THROW(QuantizeRow(TensorType::kF32, x.data(), bytes.data(), 256), Error);
  x[17] = 1.0f;
  EXPECT_THROW(QuantizeRow(TensorType::kQ4_K, x.data(), bytes.data(), 128), Error);
  EXPECT_THROW(QuantizeRow(TensorType::kQ8_0, x.data(), bytes.data(), 31), Error);
  try {
    QuantizeRow(TensorType::kIQ4_NL, x.data(), bytes.data(), 32);
    FAIL() << "IQ4_NL quantized";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Q6_K"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(IsQuantizableType(TensorType::kQ3_K));
  EXPECT_FALSE(IsQuantizableType(TensorType::kIQ2_XS));
  for (TensorType t : QuantizableTypes()) EXPECT_TRUE(IsSupportedWeightType(t)) << Name(t);
}

TEST(QuantizeTest, UnalignedDestinationAndExactLevels) {
  // Values already on a Q8_0 grid come back exactly, whatever the destination's alignment.
  std::vector<float> x(64);
  for (int i = 0; i < 64; ++i) x[i] = static_cast<float>(i % 32 - 16) * 0.5f;
  x[0] = -63.5f;  // amax / 127 = 0.5, a half-precision value
  x[40] = 63.5f;
  std::vector<std::uint8_t> bytes(RowSizeBytes(TensorType::kQ8_0, 64) + 1);
  QuantizeRow(TensorType::kQ8_0, x.data(), bytes.data() + 1, 64);
  std::vector<float> y(64);
  DequantizeRow(TensorType::kQ8_0, bytes.data() + 1, y.data(), 64);
  EXPECT_EQ(y, x);
}

TEST(QuantizeTest, Q8SumsMatchTheirLevels) {
  std::vector<float> x = Gaussian(256 * 2, 21, 3.0f);
  std::vector<BlockQ8_K> k(2);
  QuantizeRow(TensorType::kQ8_K, x.data(), k.data(), 512);
  for (const BlockQ8_K& b : k) {
    int extreme = 0;
    for (int g = 0; g < 16; ++g) {
      int sum = 0;
      for (int j = 0; j < 16; ++j) sum += b.qs[16 * g + j];
      EXPECT_EQ(b.bsums[g], sum);
    }
    for (std::int8_t q : b.qs) {
      EXPECT_GE(q, -127);
      extreme = std::max(extreme, std::abs(static_cast<int>(q)));
    }
    EXPECT_EQ(extreme, 127);  // the largest value uses the full range
  }
  std::vector<BlockQ8_1> one(16);
  QuantizeRow(TensorType::kQ8_1, x.data(), one.data(), 512);
  for (const BlockQ8_1& b : one) {
    int sum = 0;
    for (std::int8_t q : b.qs) sum += q;
    EXPECT_NEAR(F16ToF32(b.s), F16ToF32(b.d) * sum, std::fabs(F16ToF32(b.d) * sum) * 1e-3 + 1e-6);
  }
}

TEST(QuantizeTest, Deterministic) {
  std::vector<float> x = Gaussian(256 * 3, 8);
  for (TensorType type : kBlockTypes) {
    std::size_t size = RowSizeBytes(type, 768);
    std::vector<std::uint8_t> a(size, 0x00), b(size, 0xff);
    QuantizeRow(type, x.data(), a.data(), 768);
    QuantizeRow(type, x.data(), b.data(), 768);
    EXPECT_EQ(a, b) << Name(type);
  }
}

// ---- Against llama.cpp's own output in the fixture models ----

std::string ModelPath(const std::string& name) {
  return std::string(KILN_FIXTURES_DIR) + "/models/" + name + ".gguf";
}

std::vector<float> DequantizeTensor(const gguf::TensorInfo& t) {
  std::vector<float> out(t.element_count);
  auto row = static_cast<std::int64_t>(t.shape[0]);
  std::size_t row_bytes = RowSizeBytes(t.type, row);
  for (std::uint64_t r = 0; r < t.rows(); ++r) {
    DequantizeRow(t.type, t.data + r * row_bytes, out.data() + r * row, row);
  }
  return out;
}

std::vector<std::uint8_t> QuantizeTensor(TensorType type, const std::vector<float>& x,
                                         std::int64_t row) {
  std::size_t row_bytes = RowSizeBytes(type, row);
  std::size_t rows = x.size() / static_cast<std::size_t>(row);
  std::vector<std::uint8_t> out(row_bytes * rows);
  for (std::size_t r = 0; r < rows; ++r) {
    QuantizeRow(type, x.data() + r * row, out.data() + r * row_bytes, row);
  }
  return out;
}

std::vector<float> DequantizeBytes(TensorType type, const std::vector<std::uint8_t>& bytes,
                                   std::size_t elements, std::int64_t row) {
  std::vector<float> out(elements);
  std::size_t row_bytes = RowSizeBytes(type, row);
  for (std::size_t r = 0; r < elements / static_cast<std::size_t>(row); ++r) {
    DequantizeRow(type, bytes.data() + r * row_bytes, out.data() + r * row, row);
  }
  return out;
}

// Quantizing the Q8_0 weights (which stand in for the original floats) must land as close to
// them as llama.cpp's own quantization of the original floats did.
void MatchLlamaCppQuality(const std::string& model, const std::string& reference, TensorType type) {
  gguf::GgufFile file = gguf::GgufFile::Open(ModelPath(model));
  gguf::GgufFile ref = gguf::GgufFile::Open(ModelPath(reference));
  double ours_sq = 0, theirs_sq = 0, ref_sq = 0;
  int tensors = 0;
  for (const gguf::TensorInfo& t : file.tensors()) {
    // The embedding and output matrices are large; the layers cover every code path.
    if (t.type != type || t.element_count > 1000000) continue;
    const gguf::TensorInfo& r = ref.RequireTensor(t.name);
    std::vector<float> want = DequantizeTensor(r);
    std::vector<float> theirs = DequantizeTensor(t);
    auto row = static_cast<std::int64_t>(t.shape[0]);
    std::vector<float> ours =
        DequantizeBytes(type, QuantizeTensor(type, want, row), want.size(), row);
    for (std::size_t i = 0; i < want.size(); ++i) {
      ours_sq += (ours[i] - want[i]) * static_cast<double>(ours[i] - want[i]);
      theirs_sq += (theirs[i] - want[i]) * static_cast<double>(theirs[i] - want[i]);
      ref_sq += static_cast<double>(want[i]) * want[i];
    }
    ++tensors;
  }
  ASSERT_GT(tensors, 0);
  double ours = std::sqrt(ours_sq / ref_sq), theirs = std::sqrt(theirs_sq / ref_sq);
  std::printf("  %s over %d tensors of %s: ours %.5f, llama.cpp %.5f (relative RMS vs %s)\n",
              Name(type).c_str(), tensors, model.c_str(), ours, theirs, reference.c_str());
  // llama.cpp's error includes the Q8_0 copy's own noise (about 0.005) on top of its
  // quantization error, ours does not: with equal quantizers ours is the smaller.
  EXPECT_LE(ours, theirs) << Name(type);
}

TEST(QuantizeFixtureTest, Q4_0AsGoodAsLlamaCpp) {
  MatchLlamaCppQuality("tiny-llama-q4_0", "tiny-llama-q8_0", TensorType::kQ4_0);
}
TEST(QuantizeFixtureTest, Q4_KAsGoodAsLlamaCpp) {
  MatchLlamaCppQuality("tiny-llama-q4_k_m", "tiny-llama-q8_0", TensorType::kQ4_K);
}
TEST(QuantizeFixtureTest, Q6_KAsGoodAsLlamaCpp) {
  MatchLlamaCppQuality("tiny-qwen2-q6_k", "tiny-qwen2-q8_0", TensorType::kQ6_K);
}

// Decoding a stored tensor and encoding it again must give back (nearly) the same values: the
// decoded values sit exactly on a grid our quantizer can find.
TEST(QuantizeFixtureTest, RequantizingDecodedTensorsReproducesThem) {
  struct Case {
    std::string model;
    TensorType type;
    double max_rel;  // relative RMS between the first and second decoding
  };
  const std::vector<Case> cases = {
      {"tiny-llama-q8_0", TensorType::kQ8_0, 0.0},
      {"tiny-llama-q4_0", TensorType::kQ4_0, 0.0},
      {"check-llama-q4_1", TensorType::kQ4_1, 0.0},
      {"check-llama-q5_k_m", TensorType::kQ5_K, 0.005},
      {"tiny-llama-q4_k_m", TensorType::kQ4_K, 0.001},
      {"tiny-qwen2-q6_k", TensorType::kQ6_K, 0.0005},
  };
  for (const Case& c : cases) {
    gguf::GgufFile file = gguf::GgufFile::Open(ModelPath(c.model));
    double worst = 0;
    std::size_t same_bytes = 0, total_bytes = 0;
    for (const gguf::TensorInfo& t : file.tensors()) {
      if (t.type != c.type || t.element_count > 1000000) continue;
      std::vector<float> first = DequantizeTensor(t);
      auto row = static_cast<std::int64_t>(t.shape[0]);
      std::vector<std::uint8_t> bytes = QuantizeTensor(c.type, first, row);
      std::vector<float> second = DequantizeBytes(c.type, bytes, first.size(), row);
      worst = std::max(worst, RelativeRms(second, first));
      for (std::size_t i = 0; i < bytes.size(); ++i) same_bytes += bytes[i] == t.data[i];
      total_bytes += bytes.size();
    }
    ASSERT_GT(total_bytes, 0u) << c.model;
    std::printf("  %s %s: requantized relative RMS %.6f, identical bytes %.2f%%\n", c.model.c_str(),
                Name(c.type).c_str(), worst,
                100.0 * static_cast<double>(same_bytes) / static_cast<double>(total_bytes));
    EXPECT_LE(worst, c.max_rel) << c.model;
    if (c.max_rel == 0) {
      EXPECT_EQ(same_bytes, total_bytes) << c.model;
    }
  }
}

}  // namespace
}  // namespace kiln::kernels
