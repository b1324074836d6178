#include "kiln/tokenizer/vocab.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "kiln/gguf/gguf_file.h"

namespace kiln::tokenizer {
namespace {

const std::string kFixtures = KILN_FIXTURES_DIR;

bool Contains(const std::vector<TokenId>& ids, TokenId id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

TEST(VocabTest, SentencePieceVocabFromTinyLlama) {
  auto file = gguf::GgufFile::Open(kFixtures + "/models/tiny-llama-q8_0.gguf");
  Vocab v = Vocab::FromGguf(file);
  EXPECT_EQ(v.kind, TokenizerKind::kSentencePiece);
  EXPECT_EQ(v.size(), 32064u);
  EXPECT_EQ(v.scores.size(), v.size());
  ASSERT_TRUE(v.special.bos.has_value());
  EXPECT_EQ(v.pieces[*v.special.bos], "<s>");
  EXPECT_TRUE(v.special.add_bos);
  EXPECT_EQ(v.Find("<0x0A>").value_or(-1), 13);
  EXPECT_EQ(v.types[13], TokenType::kByte);
  // phi-3's turn end is an end-of-generation token.
  auto end = v.Find("<|end|>");
  ASSERT_TRUE(end.has_value());
  EXPECT_TRUE(Contains(v.special.end_of_generation, *end));
  EXPECT_TRUE(v.chat_template.has_value());
}

TEST(VocabTest, BytePairVocabFromTinyQwen2) {
  auto file = gguf::GgufFile::Open(kFixtures + "/models/tiny-qwen2-q8_0.gguf");
  Vocab v = Vocab::FromGguf(file);
  EXPECT_EQ(v.kind, TokenizerKind::kBytePairBpe);
  EXPECT_EQ(v.size(), 50259u);
  EXPECT_FALSE(v.merges.empty());
  auto im_end = v.Find("<|im_end|>");
  ASSERT_TRUE(im_end.has_value());
  EXPECT_TRUE(Contains(v.special.end_of_generation, *im_end));
}

// A GGUF file with nothing but a tokenizer: model "gpt2" or "llama" and these pieces, all of
// type `type` (so that the fixups, not the file, decide what becomes control).
std::vector<std::uint8_t> TokenizerOnlyGguf(const std::string& model,
                                            const std::vector<std::string>& pieces,
                                            TokenType type) {
  std::vector<std::uint8_t> out;
  auto put = [&](auto value) {
    std::uint8_t bytes[sizeof(value)];
    std::memcpy(bytes, &value, sizeof(value));
    out.insert(out.end(), bytes, bytes + sizeof(value));
  };
  auto put_string = [&](const std::string& s) {
    put(static_cast<std::uint64_t>(s.size()));
    out.insert(out.end(), s.begin(), s.end());
  };
  constexpr std::uint32_t kInt32 = 5, kString = 8, kArray = 9;
  put(std::uint32_t{0x46554747});  // "GGUF"
  put(std::uint32_t{3});
  put(std::uint64_t{0});  // tensors
  put(std::uint64_t{4});  // metadata entries
  put_string("tokenizer.ggml.model");
  put(kString);
  put_string(model);
  put_string("tokenizer.ggml.tokens");
  put(kArray);
  put(kString);
  put(static_cast<std::uint64_t>(pieces.size()));
  for (const auto& p : pieces) put_string(p);
  put_string("tokenizer.ggml.token_type");
  put(kArray);
  put(kInt32);
  put(static_cast<std::uint64_t>(pieces.size()));
  for (std::size_t i = 0; i < pieces.size(); ++i) put(static_cast<std::int32_t>(type));
  put_string("tokenizer.ggml.merges");
  put(kArray);
  put(kString);
  put(std::uint64_t{1});
  put_string("a b");
  return out;
}

Vocab VocabOf(const std::vector<std::uint8_t>& bytes) {
  return Vocab::FromGguf(gguf::GgufFile::Parse(bytes, "test.gguf"));
}

TEST(VocabTest, ChatAndFillInMiddleMarkersBecomeControlTokens) {
  auto bytes = TokenizerOnlyGguf(
      "gpt2",
      {"a", "b", "<|im_end|>", "<|fim_prefix|>", "<|file_sep|>", "</s>", "<|channel|>", "im_end"},
      TokenType::kNormal);
  Vocab v = VocabOf(bytes);
  EXPECT_EQ(v.types[0], TokenType::kNormal);
  EXPECT_EQ(v.types[2], TokenType::kControl);
  EXPECT_EQ(v.types[3], TokenType::kControl);
  EXPECT_EQ(v.types[4], TokenType::kControl);
  EXPECT_EQ(v.types[5], TokenType::kControl);
  EXPECT_EQ(v.types[6], TokenType::kUserDefined);  // gpt-oss: always rendered
  EXPECT_EQ(v.types[7], TokenType::kNormal);
  // The fill-in-the-middle prefix starts a prompt; it does not end generation.
  EXPECT_EQ(v.special.end_of_generation, (std::vector<TokenId>{2, 4, 5}));
}

TEST(VocabTest, HarmonyEndAndGemmaEndOfSentenceDoNotEndGeneration) {
  Vocab harmony = VocabOf(TokenizerOnlyGguf("gpt2", {"a", "b", "<|end|>", "<|return|>", "<|call|>"},
                                            TokenType::kControl));
  EXPECT_EQ(harmony.special.end_of_generation, (std::vector<TokenId>{3, 4}));
  EXPECT_EQ(harmony.types[2], TokenType::kUserDefined);
  Vocab phi = VocabOf(TokenizerOnlyGguf("gpt2", {"a", "b", "<|end|>"}, TokenType::kControl));
  EXPECT_EQ(phi.special.end_of_generation, std::vector<TokenId>{2});

  Vocab gemma = VocabOf(
      TokenizerOnlyGguf("gpt2", {"a", "b", "</s>", "<|tool_response>"}, TokenType::kUserDefined));
  EXPECT_EQ(gemma.special.end_of_generation, std::vector<TokenId>{3});
  EXPECT_EQ(gemma.types[2], TokenType::kNormal);
}

TEST(VocabTest, Phi3EndOfSentenceIsAControlTokenThatEndsGeneration) {
  auto file = gguf::GgufFile::Open(kFixtures + "/vocab/ggml-vocab-phi-3.gguf");
  Vocab v = Vocab::FromGguf(file);
  ASSERT_EQ(v.pieces[2], "</s>");  // user-defined in the file
  EXPECT_EQ(v.types[2], TokenType::kControl);
  EXPECT_TRUE(Contains(v.special.end_of_generation, 2));
  EXPECT_TRUE(Contains(v.special.end_of_generation, *v.special.eos));
  EXPECT_TRUE(Contains(v.special.end_of_generation, *v.Find("<|end|>")));
  EXPECT_FALSE(Contains(v.special.end_of_generation, *v.Find("<|user|>")));
}

TEST(VocabTest, EveryFixtureVocabularyLoads) {
  for (const auto& entry : std::filesystem::directory_iterator(kFixtures + "/vocab")) {
    SCOPED_TRACE(entry.path().string());
    auto file = gguf::GgufFile::Open(entry.path().string());
    Vocab v = Vocab::FromGguf(file);
    EXPECT_GT(v.size(), 1000u);
    EXPECT_FALSE(v.pre.empty());
  }
}

}  // namespace
}  // namespace kiln::tokenizer
