#include "kiln/tokenizer/special_token_matcher.h"

#include <gtest/gtest.h>

#include <string>

#include "kiln/gguf/gguf_file.h"

namespace kiln::tokenizer {
namespace {

Vocab MakeVocab(const std::vector<std::pair<std::string, TokenType>>& tokens) {
  Vocab v;
  for (const auto& [piece, type] : tokens) {
    v.piece_to_id.emplace(piece, static_cast<TokenId>(v.pieces.size()));
    v.pieces.push_back(piece);
    v.types.push_back(type);
  }
  return v;
}

// Fragments as readable strings: plain text as is, tokens as #id.
std::vector<std::string> Show(const std::vector<SpecialTokenMatcher::Fragment>& fragments) {
  std::vector<std::string> out;
  for (const auto& f : fragments) {
    out.push_back(f.token >= 0 ? "#" + std::to_string(f.token) : std::string(f.text));
  }
  return out;
}

using Strings = std::vector<std::string>;

TEST(SpecialTokenMatcherTest, MatchesLeftmostLongest) {
  Vocab v = MakeVocab({{"a", TokenType::kNormal},
                       {"<a>", TokenType::kControl},
                       {"<a><b>", TokenType::kControl},
                       {"b>", TokenType::kControl},
                       {"<b", TokenType::kControl}});
  SpecialTokenMatcher m(v);
  EXPECT_EQ(Show(m.Split("x<a><b>y", true)), (Strings{"x", "#2", "y"}));
  EXPECT_EQ(Show(m.Split("x<a><b", true)), (Strings{"x", "#1", "#4"}));
  // Leftmost wins over longer matches further right: "<b" starts before "b>".
  EXPECT_EQ(Show(m.Split("<b>", true)), (Strings{"#4", ">"}));
  EXPECT_EQ(Show(m.Split("<a><a>", true)), (Strings{"#1", "#1"}));
  EXPECT_EQ(Show(m.Split("", true)), Strings{});
  EXPECT_EQ(Show(m.Split("plain", true)), Strings{"plain"});
  // The normal token "a" is never split out.
  EXPECT_EQ(Show(m.Split("a<", true)), Strings{"a<"});
}

TEST(SpecialTokenMatcherTest, ControlAndUnknownOnlyWithParseSpecial) {
  Vocab v = MakeVocab({{"<unk>", TokenType::kUnknown},
                       {"<s>", TokenType::kControl},
                       {"<tool>", TokenType::kUserDefined},
                       {"<unused0>", TokenType::kUnused},
                       {"<0x41>", TokenType::kByte}});
  SpecialTokenMatcher m(v);
  std::string text = "<s>a<unk>b<tool>c<unused0><0x41>";
  EXPECT_EQ(Show(m.Split(text, true)), (Strings{"#1", "a", "#0", "b", "#2", "c<unused0><0x41>"}));
  EXPECT_EQ(Show(m.Split(text, false)), (Strings{"<s>a<unk>b", "#2", "c<unused0><0x41>"}));
}

TEST(SpecialTokenMatcherTest, DuplicateTextsMatchTheFirstId) {
  Vocab v = MakeVocab({{"<x>", TokenType::kControl}, {"<x>", TokenType::kUserDefined}});
  SpecialTokenMatcher m(v);
  EXPECT_EQ(Show(m.Split("<x>", true)), Strings{"#0"});
  EXPECT_EQ(Show(m.Split("<x>", false)), Strings{"#1"});
}

TEST(SpecialTokenMatcherTest, ThousandsOfTokensSharingAFirstByte) {
  // deepseek-llm has about 2400 user-defined "[PAD...]" tokens; text full of '[' must stay fast
  // and match exactly them.
  Vocab v = Vocab::FromGguf(
      gguf::GgufFile::Open(std::string(KILN_FIXTURES_DIR) + "/vocab/ggml-vocab-deepseek-llm.gguf"));
  SpecialTokenMatcher m(v);
  TokenId pad = *v.Find("[PAD100015]");
  EXPECT_EQ(Show(m.Split("x[PAD100015]y", false)), (Strings{"x", "#" + std::to_string(pad), "y"}));
  std::string brackets;
  for (int i = 0; i < 200000; ++i) brackets += "[[1, 2], [3]] ";
  auto fragments = m.Split(brackets, false);
  ASSERT_EQ(fragments.size(), 1u);
  EXPECT_EQ(fragments[0].text.size(), brackets.size());
}

}  // namespace
}  // namespace kiln::tokenizer
