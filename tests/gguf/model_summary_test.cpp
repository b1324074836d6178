#include "kiln/gguf/model_summary.h"

#include <gtest/gtest.h>

#include "kiln/base/error.h"
#include "kiln/gguf/file_type.h"
#include "kiln/gguf/gguf_writer.h"

namespace kiln::gguf {
namespace {

const std::string kModels = std::string(KILN_FIXTURES_DIR) + "/models/";

// A small model of architecture "toy" whose weights are all zero; the summary reads none of them.
class ToyModel {
 public:
  ToyModel() {
    w.Set("general.architecture", Value("toy"));
    w.Set("toy.embedding_length", Value(std::uint32_t{512}));
    w.Set("toy.attention.head_count", Value(std::uint32_t{8}));
    w.Set("tokenizer.ggml.tokens", Value::ArrayOf(std::vector<std::string>{"<s>", "</s>", "a"}));
  }
  void Tensor(const std::string& name, TensorType type, std::vector<std::uint64_t> shape) {
    std::uint64_t elements = 1;
    for (auto d : shape) elements *= d;
    w.AddOwnedTensor(name, type, shape, std::vector<std::uint8_t>(RowBytes(type, elements)));
  }
  ModelSummary Summary() {
    bytes = w.Serialize();
    file = std::make_unique<GgufFile>(GgufFile::Parse(bytes, "toy.gguf"));
    return Summarize(*file);
  }

  GgufWriter w;
  std::vector<std::uint8_t> bytes;
  std::unique_ptr<GgufFile> file;
};

TEST(ModelSummaryTest, DerivesHeadSizesAndDefaultsFromTheArchitecturePrefix) {
  ToyModel m;
  m.w.Set("toy.context_length", Value(std::uint64_t{8192}));
  m.w.Set("toy.attention.layer_norm_epsilon", Value(1e-6f));
  m.w.Set("llama.block_count", Value(std::uint32_t{99}));  // another architecture's key: ignored
  ModelSummary s = m.Summary();
  EXPECT_EQ(s.architecture, "toy");
  EXPECT_EQ(s.context_length, 8192u);
  EXPECT_FALSE(s.block_count.has_value());
  EXPECT_EQ(s.head_count, 8u);
  EXPECT_EQ(s.head_count_kv, 8u);  // absent: as many KV heads as heads
  EXPECT_EQ(s.key_length, 64u);    // absent: embedding / heads
  EXPECT_EQ(s.value_length, 64u);
  EXPECT_FLOAT_EQ(static_cast<float>(*s.norm_eps), 1e-6f);
  EXPECT_EQ(s.vocab_size, 3u);
  EXPECT_FALSE(s.has_chat_template);
  EXPECT_FALSE(s.name.has_value());
}

TEST(ModelSummaryTest, ExplicitKeyLengthAndPerLayerArrays) {
  ToyModel m;
  m.w.Set("toy.attention.key_length", Value(std::uint32_t{128}));
  m.w.Set("toy.attention.value_length", Value(std::uint32_t{96}));
  m.w.Set("toy.feed_forward_length", Value::ArrayOf(std::vector<std::int32_t>{768, 1024, 896}));
  m.w.Set("toy.attention.head_count_kv", Value::ArrayOf(std::vector<std::uint32_t>{2, 4}));
  ModelSummary s = m.Summary();
  EXPECT_EQ(s.key_length, 128u);
  EXPECT_EQ(s.value_length, 96u);
  EXPECT_EQ(s.feed_forward_length, 1024u);
  EXPECT_EQ(s.head_count_kv, 4u);
}

TEST(ModelSummaryTest, SpecialTokensCarryTheirText) {
  ToyModel m;
  m.w.Set("tokenizer.ggml.bos_token_id", Value(std::uint32_t{0}));
  m.w.Set("tokenizer.ggml.eos_token_id", Value(std::int32_t{1}));
  m.w.Set("tokenizer.ggml.padding_token_id", Value(std::uint32_t{7}));  // outside the vocabulary
  m.w.Set("tokenizer.ggml.eot_token_id", Value(std::int32_t{-1}));
  m.w.Set("tokenizer.chat_template", Value("{{ messages }}"));
  ModelSummary s = m.Summary();
  ASSERT_EQ(s.special_tokens.size(), 4u);
  EXPECT_EQ(s.special_tokens[0].role, "bos");
  EXPECT_EQ(s.special_tokens[0].text, "<s>");
  EXPECT_EQ(s.special_tokens[1].role, "eos");
  EXPECT_EQ(s.special_tokens[1].text, "</s>");
  EXPECT_EQ(s.special_tokens[2].role, "eot");
  EXPECT_EQ(s.special_tokens[2].id, -1);
  EXPECT_FALSE(s.special_tokens[2].text.has_value());
  EXPECT_EQ(s.special_tokens[3].role, "pad");
  EXPECT_FALSE(s.special_tokens[3].text.has_value());
  EXPECT_TRUE(s.has_chat_template);
}

TEST(ModelSummaryTest, WrongTypesAreErrorsNamingFileAndKey) {
  ToyModel m;
  m.w.Set("toy.block_count", Value("three"));
  try {
    m.Summary();
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("toy.gguf: metadata 'toy.block_count'"), std::string::npos)
        << e.what();
  }
  ToyModel n;
  n.w.Set("tokenizer.ggml.bos_token_id", Value(1.5));
  EXPECT_THROW(n.Summary(), Error);
}

TEST(ModelSummaryTest, CountsTheMixAndGuessesTheFileTypeFromWeightMatrices) {
  ToyModel m;
  for (int i = 0; i < 4; ++i) {
    m.Tensor("blk." + std::to_string(i) + ".q", TensorType::kQ4_K, {256, 4});
    m.Tensor("blk." + std::to_string(i) + ".norm_a", TensorType::kF32, {256});
    m.Tensor("blk." + std::to_string(i) + ".norm_b", TensorType::kF32, {256});
  }
  m.Tensor("output", TensorType::kQ6_K, {256, 64});  // the largest, but only one matrix
  m.Tensor("blk.0.v", TensorType::kQ6_K, {256, 4});
  ModelSummary s = m.Summary();
  EXPECT_EQ(s.parameter_count, 4u * (1024 + 512) + 256 * 64 + 1024);
  EXPECT_EQ(s.tensor_count, 14u);
  ASSERT_EQ(s.quantization.size(), 3u);
  // Most bytes first.
  EXPECT_EQ(s.quantization[0].type, TensorType::kQ6_K);
  EXPECT_EQ(s.quantization[0].tensor_count, 2u);
  EXPECT_EQ(s.quantization[0].bytes, (64u + 4u) * 210u);
  EXPECT_EQ(s.quantization[1].type, TensorType::kF32);
  EXPECT_EQ(s.quantization[1].tensor_count, 8u);
  EXPECT_EQ(s.quantization[2].type, TensorType::kQ4_K);
  EXPECT_EQ(s.quantization[2].elements, 4u * 1024u);
  EXPECT_EQ(s.tensor_bytes, (64u + 4u) * 210u + 16u * 144u + 8u * 256u * 4u);
  EXPECT_TRUE(s.file_type_guessed);
  EXPECT_EQ(s.file_type, "MOSTLY_Q4_K_M");
  EXPECT_EQ(s.file_type_id, 15u);

  m.w.Set("general.file_type", Value(std::uint32_t{14}));
  s = m.Summary();
  EXPECT_FALSE(s.file_type_guessed);
  EXPECT_EQ(s.file_type, "MOSTLY_Q4_K_S");
  m.w.Set("general.file_type", Value(std::uint32_t{5}));  // retired by llama.cpp
  EXPECT_EQ(m.Summary().file_type, "UNKNOWN");
}

TEST(ModelSummaryTest, AllF32AndNoTensors) {
  ToyModel m;
  m.Tensor("w", TensorType::kF32, {4, 4});
  m.Tensor("b", TensorType::kF32, {4});
  EXPECT_EQ(m.Summary().file_type, "ALL_F32");

  ToyModel empty;
  ModelSummary s = empty.Summary();
  EXPECT_EQ(s.file_type, "");
  EXPECT_FALSE(s.file_type_id.has_value());
  EXPECT_EQ(s.parameter_count, 0u);
  EXPECT_EQ(s.bits_per_weight(), 0.0);
}

TEST(ModelSummaryTest, FixtureQ4KMModel) {
  GgufFile f = GgufFile::Open(kModels + "tiny-llama-q4_k_m.gguf");
  ModelSummary s = Summarize(f);
  EXPECT_EQ(s.architecture, "llama");
  EXPECT_EQ(s.name, "tiny-llama");
  EXPECT_EQ(s.block_count, 3u);
  EXPECT_EQ(s.file_type, "MOSTLY_Q4_K_M");
  EXPECT_FALSE(s.file_type_guessed);
  std::uint64_t params = 0, bytes = 0;
  for (const TensorInfo& t : f.tensors()) {
    params += t.element_count;
    bytes += t.byte_size;
  }
  EXPECT_EQ(s.parameter_count, params);
  EXPECT_EQ(s.tensor_bytes, bytes);
  EXPECT_EQ(s.file_size, f.file_size());
}

TEST(FileTypeTest, NamesAndNumbers) {
  EXPECT_EQ(FileTypeName(15), "MOSTLY_Q4_K_M");
  EXPECT_EQ(FileTypeName(0), "ALL_F32");
  EXPECT_EQ(FileTypeName(32), "MOSTLY_BF16");
  EXPECT_FALSE(FileTypeName(4).has_value());
  EXPECT_FALSE(FileTypeName(1000).has_value());
  EXPECT_EQ(FileTypeFromName("q4_k_m"), 15u);
  EXPECT_EQ(FileTypeFromName("MOSTLY_Q8_0"), 7u);
  EXPECT_EQ(FileTypeFromName("f32"), 0u);
  EXPECT_EQ(FileTypeFromName("bf16"), 32u);
  EXPECT_FALSE(FileTypeFromName("q4_k").has_value());
  EXPECT_EQ(FileTypeForWeightType(TensorType::kQ5_K), 17u);
  EXPECT_EQ(FileTypeForWeightType(TensorType::kQ8_0), 7u);
  EXPECT_FALSE(FileTypeForWeightType(TensorType::kQ8_K).has_value());
  // Every guessable file type has a name.
  for (std::uint32_t raw = 0; raw < 64; ++raw) {
    if (!TraitsOf(raw)) continue;
    if (auto id = FileTypeForWeightType(static_cast<TensorType>(raw))) {
      EXPECT_TRUE(FileTypeName(*id).has_value()) << raw;
    }
  }
}

}  // namespace
}  // namespace kiln::gguf
