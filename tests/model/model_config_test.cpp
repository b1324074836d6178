#include "kiln/model/model_config.h"

#include <gtest/gtest.h>

#include "kiln/base/error.h"
#include "synthetic_model.h"

namespace kiln::model {
namespace {

using testing::SyntheticModel;
using testing::SyntheticSpec;

const std::string kFixtures = KILN_FIXTURES_DIR;

ModelConfig ConfigOf(const std::string& model) {
  return ReadModelConfig(gguf::GgufFile::Open(kFixtures + "/models/" + model + ".gguf"));
}

ModelConfig ConfigOf(const testing::GgufBuilder& builder) {
  std::vector<std::uint8_t> bytes = builder.Build();
  return ReadModelConfig(gguf::GgufFile::Parse(bytes, "synthetic.gguf"));
}

std::string ErrorOf(const testing::GgufBuilder& builder) {
  try {
    ConfigOf(builder);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ModelConfigTest, TinyLlama) {
  ModelConfig c = ConfigOf("tiny-llama-q4_k_m");
  EXPECT_EQ(c.architecture, Architecture::kLlama);
  EXPECT_EQ(c.name, "tiny-llama");
  EXPECT_EQ(c.context_length, 4096);
  EXPECT_EQ(c.embedding_length, 256);
  EXPECT_EQ(c.block_count, 3);
  EXPECT_EQ(c.feed_forward_length, 768);
  EXPECT_EQ(c.head_count, 4);
  EXPECT_EQ(c.head_count_kv, 2);
  EXPECT_EQ(c.key_length, 64);
  EXPECT_EQ(c.value_length, 64);
  EXPECT_FLOAT_EQ(c.rms_epsilon, 1e-5f);
  EXPECT_EQ(c.vocab_size, 32064);
  EXPECT_EQ(c.rope.style, RopeStyle::kNormal);
  EXPECT_EQ(c.rope.dimension_count, 64);
  EXPECT_DOUBLE_EQ(c.rope.freq_base, 10000.0);
  EXPECT_EQ(c.rope.scaling, RopeScaling::kNone);
  EXPECT_FALSE(c.rope.has_freq_factors);
}

TEST(ModelConfigTest, Qwen2AndQwen3UseNeoxRopeAndQwen3HasItsOwnHeadSize) {
  ModelConfig q2 = ConfigOf("tiny-qwen2-q6_k");
  EXPECT_EQ(q2.architecture, Architecture::kQwen2);
  EXPECT_EQ(q2.rope.style, RopeStyle::kNeox);
  EXPECT_EQ(q2.head_count_kv, 4);
  EXPECT_EQ(q2.vocab_size, 50259);

  ModelConfig q3 = ConfigOf("tiny-qwen3-bf16");
  EXPECT_EQ(q3.architecture, Architecture::kQwen3);
  EXPECT_EQ(q3.rope.style, RopeStyle::kNeox);
  EXPECT_EQ(q3.embedding_length, 256);
  EXPECT_EQ(q3.head_count, 4);
  EXPECT_EQ(q3.head_count_kv, 1);
  EXPECT_EQ(q3.key_length, 128);
  EXPECT_EQ(q3.rope.dimension_count, 128);
  EXPECT_EQ(q3.q_width(), 512);
  EXPECT_EQ(q3.attention_out_width(), 512);

  ModelConfig check = ConfigOf("check-llama-q4_1");
  EXPECT_EQ(check.key_length, 128);
  EXPECT_DOUBLE_EQ(check.rope.freq_base, 500000.0);
  EXPECT_EQ(check.vocab_size, 32000);
}

TEST(ModelConfigTest, UnsupportedArchitectureListsTheSupportedOnes) {
  try {
    ReadModelConfig(gguf::GgufFile::Open(kFixtures + "/vocab/ggml-vocab-falcon.gguf"));
    FAIL() << "falcon accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'falcon'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("llama, qwen2, qwen3"), std::string::npos) << e.what();
  }
  testing::GgufBuilder b = SyntheticModel({});
  b.Erase("general.architecture");
  EXPECT_NE(ErrorOf(b).find("general.architecture is missing"), std::string::npos);
}

TEST(ModelConfigTest, MissingAndInconsistentKeysAreNamed) {
  testing::GgufBuilder b = SyntheticModel({});
  b.Erase("llama.embedding_length");
  EXPECT_NE(ErrorOf(b).find("llama.embedding_length is missing"), std::string::npos) << ErrorOf(b);

  b = SyntheticModel({});
  b.Set("llama.attention.head_count_kv", std::uint32_t{3});
  EXPECT_NE(ErrorOf(b).find("4 heads cannot be shared evenly by 3"), std::string::npos)
      << ErrorOf(b);

  b = SyntheticModel({});
  b.Set("llama.rope.dimension_count", std::uint32_t{24});
  EXPECT_NE(ErrorOf(b).find("at most the head size 16"), std::string::npos) << ErrorOf(b);

  b = SyntheticModel({});
  b.Set("llama.block_count", std::uint32_t{0});
  EXPECT_NE(ErrorOf(b).find("llama.block_count = 0 is out of range"), std::string::npos)
      << ErrorOf(b);
}

TEST(ModelConfigTest, RopeScalingTypes) {
  testing::GgufBuilder b = SyntheticModel({});
  b.Set("llama.rope.scaling.type", "linear");
  b.Set("llama.rope.scaling.factor", 4.0f);
  ModelConfig c = ConfigOf(b);
  EXPECT_EQ(c.rope.scaling, RopeScaling::kLinear);
  EXPECT_DOUBLE_EQ(c.rope.factor, 4.0);

  b.Erase("llama.rope.scaling.type");  // a factor alone means linear
  EXPECT_EQ(ConfigOf(b).rope.scaling, RopeScaling::kLinear);

  b.Set("llama.rope.scaling.type", "yarn");
  b.Set("llama.rope.scaling.original_context_length", std::uint32_t{128});
  c = ConfigOf(b);
  EXPECT_EQ(c.rope.scaling, RopeScaling::kYarn);
  EXPECT_EQ(c.rope.original_context_length, 128);

  b.Set("llama.rope.scaling.type", "longrope");
  EXPECT_NE(ErrorOf(b).find("RoPE scaling 'longrope' is not supported"), std::string::npos)
      << ErrorOf(b);

  b = SyntheticModel({.rope_freqs = true});
  EXPECT_TRUE(ConfigOf(b).rope.has_freq_factors);
}

TEST(ModelConfigTest, VocabSizeFallsBackToTheEmbeddingTensor) {
  testing::GgufBuilder b = SyntheticModel({.vocab = 123});
  b.Erase("llama.vocab_size");
  EXPECT_EQ(ConfigOf(b).vocab_size, 123);
}

}  // namespace
}  // namespace kiln::model
