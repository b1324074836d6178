#include "kiln/tokenizer/pretokenizer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kiln/base/error.h"

namespace kiln::tokenizer {
namespace {

using Pieces = std::vector<std::string>;

Pieces SplitWith(std::string_view pre, std::string_view text) {
  PreTokenizer p = PreTokenizer::ForName(pre);
  Pieces out;
  for (std::string_view piece : p.Split(text)) out.emplace_back(piece);
  return out;
}

TEST(PreTokenizerTest, Gpt2SplitsWordsContractionsAndNumbers) {
  EXPECT_EQ(SplitWith("gpt-2", "Hello world's 123"), (Pieces{"Hello", " world", "'s", " 123"}));
  EXPECT_EQ(SplitWith("gpt-2", "I'm sure they'll"), (Pieces{"I", "'m", " sure", " they", "'ll"}));
  // Contractions are case-sensitive in GPT-2's expression.
  EXPECT_EQ(SplitWith("gpt-2", "DON'T"), (Pieces{"DON", "'", "T"}));
  EXPECT_EQ(SplitWith("gpt-2", "x+=1;"), (Pieces{"x", "+=", "1", ";"}));
  EXPECT_EQ(SplitWith("gpt-2", "3.14159"), (Pieces{"3", ".", "14159"}));
}

TEST(PreTokenizerTest, Gpt2KeepsTheLastSpaceOfARunForTheNextWord) {
  EXPECT_EQ(SplitWith("gpt-2", "a   b"), (Pieces{"a", "  ", " b"}));
  EXPECT_EQ(SplitWith("gpt-2", "a   "), (Pieces{"a", "   "}));
  EXPECT_EQ(SplitWith("gpt-2", "\n\n\n"), (Pieces{"\n\n\n"}));
  EXPECT_EQ(SplitWith("gpt-2", "a\tb"), (Pieces{"a", "\t", "b"}));
  // U+00A0 and U+3000 are whitespace, but only ' ' joins the following word.
  EXPECT_EQ(SplitWith("gpt-2", "a\u00a0b\u3000c"), (Pieces{"a", "\u00a0", "b", "\u3000", "c"}));
}

TEST(PreTokenizerTest, WhitespaceIsUnicodeWhiteSpaceNotPcreBackslashS) {
  // U+180E (Mongolian vowel separator) is a format character, not White_Space, for Hugging Face
  // and llama.cpp; PCRE2's own \s would count it as a space and split " \u180E" apart.
  EXPECT_EQ(SplitWith("gpt-2", "x \u180ey"), (Pieces{"x", " \u180e", "y"}));
  EXPECT_EQ(detail::ToPcre2Pattern(R"(\s+(?!\S)|[^\s\p{L}]|\\s)"),
            R"(\p{White_Space}+(?!\P{White_Space})|[^\p{White_Space}\p{L}]|\\s)");
}

TEST(PreTokenizerTest, Llama3GroupsDigitsInThreesAndFoldsContractionCase) {
  EXPECT_EQ(SplitWith("llama3", "1234567"), (Pieces{"123", "456", "7"}));
  EXPECT_EQ(SplitWith("llama-bpe", "a 12345"), (Pieces{"a", " ", "123", "45"}));
  EXPECT_EQ(SplitWith("llama3", "DON'T"), (Pieces{"DON", "'T"}));
  // One non-letter may lead a word; punctuation keeps trailing newlines.
  EXPECT_EQ(SplitWith("llama3", "(hello) x!!\n\ny"), (Pieces{"(hello", ")", " x", "!!\n\n", "y"}));
  EXPECT_EQ(SplitWith("llama3", "Hello\n\n  world"), (Pieces{"Hello", "\n\n", " ", " world"}));
  PreTokenizer p = PreTokenizer::ForName("llama3");
  EXPECT_TRUE(p.ignore_merges());
  EXPECT_EQ(p.family(), "llama3");
}

TEST(PreTokenizerTest, Qwen2SplitsEveryDigit) {
  EXPECT_EQ(SplitWith("qwen2", "year 2024"), (Pieces{"year", " ", "2", "0", "2", "4"}));
  EXPECT_EQ(SplitWith("qwen2", "it's"), (Pieces{"it", "'s"}));
  EXPECT_FALSE(PreTokenizer::ForName("qwen2").ignore_merges());
}

TEST(PreTokenizerTest, DeepSeekLlmAppliesItsExpressionsInSequence) {
  // Newlines alone, cased-letter words, digit runs (DeepSeek LLM has no multi-digit merges, so
  // \p{N}+ tokenizes like single digits), CJK runs.
  EXPECT_EQ(SplitWith("deepseek-llm", "Hello world 123\n中文!"),
            (Pieces{"Hello", " world", " ", "123", "\n", "中文", "!"}));
  EXPECT_EQ(SplitWith("deepseek-llm", "end.  "), (Pieces{"end", ".", "  "}));
}

TEST(PreTokenizerTest, DeepSeekCoderSplitsSingleDigits) {
  EXPECT_EQ(SplitWith("deepseek-coder", "Hello world 123\n中文"),
            (Pieces{"Hello", " world", " ", "1", "2", "3", "\n", "中文"}));
  EXPECT_EQ(SplitWith("deepseek-coder", "f(x);"), (Pieces{"f", "(", "x", ");"}));
}

TEST(PreTokenizerTest, DeepSeekV3GroupsDigitsInThrees) {
  EXPECT_EQ(SplitWith("deepseek-v3", "x=12345"), (Pieces{"x", "=", "123", "45"}));
}

TEST(PreTokenizerTest, FalconSplitsPunctuationFirstAndDigitsInThrees) {
  EXPECT_EQ(SplitWith("falcon", "Hello, world! 1234"),
            (Pieces{"Hello", ",", " world", "!", " ", "123", "4"}));
}

TEST(PreTokenizerTest, StarCoderFamilySplitsDigitsBeforeWords) {
  for (std::string_view pre : {"starcoder", "refact", "smollm", "command-r"}) {
    SCOPED_TRACE(pre);
    EXPECT_EQ(SplitWith(pre, "abc123 x"), (Pieces{"abc", "1", "2", "3", " x"}));
  }
}

TEST(PreTokenizerTest, DefaultIsLlamaCppsFourExpressions) {
  EXPECT_EQ(SplitWith("default", "Hello world's 1234"),
            (Pieces{"Hello", " world", "'", "s", " ", "123", "4"}));
}

TEST(PreTokenizerTest, BloomAndVikingSplitAtSpacesAndSentencePunctuation) {
  EXPECT_EQ(SplitWith("bloom", "Hello, world."), (Pieces{"Hello", ",", " world", "."}));
  EXPECT_EQ(SplitWith("viking", "ab12 c"), (Pieces{"ab", "1", "2", " c"}));
}

TEST(PreTokenizerTest, TekkenAndGpt4oSplitAtCaseChanges) {
  EXPECT_EQ(SplitWith("tekken", "camelCase HTTPServer"), (Pieces{"camel", "Case", " HTTPServer"}));
  EXPECT_EQ(SplitWith("tekken", "12"), (Pieces{"1", "2"}));
  EXPECT_EQ(SplitWith("gpt-4o", "HelloWorld's 12345"),
            (Pieces{"Hello", "World's", " ", "123", "45"}));
}

TEST(PreTokenizerTest, BytesThatAreNotUtf8StandAlone) {
  EXPECT_EQ(SplitWith("gpt-2",
                      "ab\xff"
                      "cd"),
            (Pieces{"ab", "\xff", "cd"}));
  EXPECT_EQ(SplitWith("llama3", "\xc3 x\xe2\x82"), (Pieces{"\xc3", " x", "\xe2", "\x82"}));
}

TEST(PreTokenizerTest, ValidUtf8Prefix) {
  EXPECT_EQ(detail::ValidUtf8Prefix("abc"), 3u);
  EXPECT_EQ(detail::ValidUtf8Prefix("a\xc3\xa9z"), 4u);
  EXPECT_EQ(detail::ValidUtf8Prefix("a\xc0\x80"), 1u);          // overlong
  EXPECT_EQ(detail::ValidUtf8Prefix("a\xed\xa0\x80"), 1u);      // surrogate
  EXPECT_EQ(detail::ValidUtf8Prefix("a\xf4\x90\x80\x80"), 1u);  // above U+10FFFF
  EXPECT_EQ(detail::ValidUtf8Prefix("\xf0\x9f\xa6\x99!"), 5u);
  EXPECT_EQ(detail::ValidUtf8Prefix("ab\xe2\x82"), 2u);  // truncated
}

TEST(PreTokenizerTest, EveryFamilySplitsLosslesslyIntoNonEmptyPieces) {
  const std::string text =
      "The year 2024: naïve café, ÜBER-cool!\r\n\tДобрый день. 日本語のテキスト、中文，한국어 "
      "العربية עברית हिन्दी ภาษาไทย 🦙👨\u200d👩 x**2  # ok\n\n\n   trailing "
      " "
      " "
      "it's I'LL we'd \xff\xfe \u00a0\u2009\u3000 e\u0301 ①½ 1e10 -42 3.14";
  for (std::string_view name : SupportedPreTokenizers()) {
    SCOPED_TRACE(name);
    PreTokenizer p = PreTokenizer::ForName(name);
    std::string joined;
    for (std::string_view piece : p.Split(text)) {
      EXPECT_FALSE(piece.empty());
      joined += piece;
    }
    EXPECT_EQ(joined, text);
  }
}

TEST(PreTokenizerTest, LongRunsDoNotExhaustTheMatcher) {
  const std::vector<std::string> inputs = {std::string(100000, ' ') + "x", std::string(100000, 'a'),
                                           std::string(100000, '7'), std::string(50000, '!') + "\n",
                                           [] {
                                             std::string s;
                                             for (int i = 0; i < 20000; ++i) s += "\u4e2d\u0301";
                                             return s;
                                           }()};
  for (std::string_view name : SupportedPreTokenizers()) {
    SCOPED_TRACE(name);
    PreTokenizer p = PreTokenizer::ForName(name);
    for (const std::string& text : inputs) {
      std::size_t total = 0;
      for (std::string_view piece : p.Split(text)) total += piece.size();
      EXPECT_EQ(total, text.size());
    }
  }
}

TEST(PreTokenizerTest, AliasesResolveToTheirFamilies) {
  EXPECT_EQ(FindPreTokenizerSpec("llama-bpe").family, "llama3");
  EXPECT_EQ(FindPreTokenizerSpec("smaug-bpe").family, "dbrx");
  EXPECT_EQ(FindPreTokenizerSpec("chatglm-bpe").family, "dbrx");
  EXPECT_EQ(FindPreTokenizerSpec("stablelm2").family, "qwen2");
  EXPECT_EQ(FindPreTokenizerSpec("mpt").family, "gpt-2");
  EXPECT_EQ(FindPreTokenizerSpec("olmo").family, "gpt-2");
  EXPECT_EQ(FindPreTokenizerSpec("smollm").family, "starcoder");
  EXPECT_EQ(FindPreTokenizerSpec("exaone").family, "starcoder");
  EXPECT_EQ(FindPreTokenizerSpec("poro-chat").family, "bloom");
  EXPECT_EQ(FindPreTokenizerSpec("gpt3-finnish").family, "bloom");
  EXPECT_EQ(FindPreTokenizerSpec("jais").family, "gpt-2");
  EXPECT_EQ(FindPreTokenizerSpec("dbrx").family, "dbrx");
  EXPECT_FALSE(FindPreTokenizerSpec("dbrx").ignore_merges);
  EXPECT_TRUE(FindPreTokenizerSpec("tekken").ignore_merges);
  auto names = SupportedPreTokenizers();
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_GT(names.size(), 60u);
}

TEST(PreTokenizerTest, UnknownNameFallsBackToDefaultWithAWarning) {
  testing::internal::CaptureStderr();
  PreTokenizerSpec spec = FindPreTokenizerSpec("brand-new-model");
  std::string logged = testing::internal::GetCapturedStderr();
  EXPECT_EQ(spec.family, "default");
  EXPECT_NE(logged.find("unknown pre-tokenizer"), std::string::npos) << logged;
  EXPECT_NE(logged.find("brand-new-model"), std::string::npos) << logged;
}

TEST(PreTokenizerTest, KnownButUnsupportedNameIsAnError) {
  try {
    FindPreTokenizerSpec("kimi-k2");
    FAIL() << "expected kiln::Error";
  } catch (const Error& e) {
    std::string message = e.what();
    EXPECT_NE(message.find("kimi-k2"), std::string::npos) << message;
    EXPECT_NE(message.find("qwen2"), std::string::npos) << message;  // lists what is supported
  }
}

}  // namespace
}  // namespace kiln::tokenizer
