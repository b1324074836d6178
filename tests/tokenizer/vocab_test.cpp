#include "kiln/tokenizer/vocab.h"

#include <gtest/gtest.h>

#include <algorithm>
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
