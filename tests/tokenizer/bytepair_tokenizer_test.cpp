#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "kiln/base/error.h"
#include "kiln/gguf/gguf_file.h"
#include "kiln/tokenizer/tokenizer.h"
#include "kiln/tokenizer/tokenizer_kinds.h"

namespace kiln::tokenizer {
namespace {

const std::string kFixtures = KILN_FIXTURES_DIR;

std::unique_ptr<Tokenizer> Load(const std::string& path) {
  return detail::CreateBytePairTokenizer(Vocab::FromGguf(gguf::GgufFile::Open(path)));
}

const Tokenizer& Qwen2() {
  static const std::unique_ptr<Tokenizer> tokenizer =
      Load(kFixtures + "/models/tiny-qwen2-q8_0.gguf");
  return *tokenizer;
}

// Text in many scripts and shapes; free of ASCII control characters other than \t \n \r, which
// some vocabularies (Falcon's) have no byte tokens for.
const std::string& Corpus() {
  static const std::string corpus =
      "The quick brown fox jumps over the lazy dog. I'm sure you'll see it's what they've done, "
      "we'd DON'T SHOUT.\n\n"
      "Über Äpfel, naïve café, Ångström, façade, œuvre, straße, ŁÓDŹ, Český Krumlov.\r\n"
      "Добрый день! Как дела? Ελληνικά γράμματα. Հայերեն. ქართული.\n"
      "日本語のテキスト、中文文本，한국어 텍스트。全角：ＡＢＣ１２３！\n"
      "العربية עברית हिन्दी ভাষা தமிழ் ภาษาไทย ພາສາລາວ ဗမာ ខ្មែរ\n"
      "🦙🚀🙂👨\u200d👩\u200d👧\u200d👦 ✔️ ©®™ e\u0301 \u200b\u200c\u200d "
      "zero "
      "width\n"
      "ŉ ǅ ẞ ﬁ ﬀ Ⅻ ① ⁴ ₂ ½ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕓𝕠𝕝𝕕 𐍈 𓀀 ∀x∈ℝ: x²≥0 ∑∫√∞≠≈\n"
      "    indented code\n\tfor (int i = 0; i < n; ++i) { x += i; }\n"
      "def f(x):\n    return x**2  # square\n"
      "1 12 123 1234 12345 123456 3.14159 -42 1e10 0x1F 1,000,000.00 2024-07-26T12:00:00Z\n"
      "https://example.com/path?q=1&r=two#frag user@example.org C:\\Windows\\System32\n"
      "snake_case camelCase PascalCase kebab-case SCREAMING_CASE\n"
      "a\u00a0b\u2009c\u3000d   trailing spaces   \n\n\n"
      "\"quoted\" 'single' «guillemets» „Anführung“ 「括弧」 (parens) [brackets] {braces} <angle>\n"
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!!!!!!!!!!!!????........------______======";
  return corpus;
}

TEST(BytePairTokenizerTest, MatchesTheOracleOnTinyQwen2) {
  std::ifstream in(kFixtures + "/oracle/tiny-qwen2.tokenize.json");
  ASSERT_TRUE(in) << "missing oracle file";
  nlohmann::json cases = nlohmann::json::parse(in);
  ASSERT_GT(cases.size(), 100u);
  int checked = 0;
  for (const auto& c : cases) {
    const std::string text = c["text"];
    const bool add_special = c["add_special"];
    const bool parse_special = c["parse_special"];
    const std::vector<TokenId> expected = c["ids"];
    SCOPED_TRACE(testing::Message() << "text=" << testing::PrintToString(text) << " add_special="
                                    << add_special << " parse_special=" << parse_special);
    std::vector<TokenId> ids = Qwen2().Encode(text, {add_special, parse_special});
    EXPECT_EQ(ids, expected);
    // Byte-level BPE loses nothing: special tokens come back when rendered.
    EXPECT_EQ(Qwen2().Decode(ids, {.render_special = true}), text);
    if (!parse_special) {
      EXPECT_EQ(Qwen2().Decode(ids), text);
    }
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(cases.size()));
}

TEST(BytePairTokenizerTest, EveryBytePairFixtureVocabularyRoundTrips) {
  int vocabularies = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kFixtures + "/vocab")) {
    Vocab vocab = Vocab::FromGguf(gguf::GgufFile::Open(entry.path().string()));
    if (vocab.kind != TokenizerKind::kBytePairBpe) continue;
    SCOPED_TRACE(entry.path().filename().string() + " pre=" + vocab.pre);
    auto tokenizer = detail::CreateBytePairTokenizer(std::move(vocab));
    for (bool parse_special : {false, true}) {
      std::vector<TokenId> ids = tokenizer->Encode(Corpus(), {false, parse_special});
      EXPECT_EQ(tokenizer->Decode(ids), Corpus());
    }
    // Merges happen: English is far shorter in tokens than in bytes (BOS may be added).
    const std::string english = "The quick brown fox jumps over the lazy dog.";
    EXPECT_LE(tokenizer->Encode(english, {}).size(), 13u);
    ++vocabularies;
  }
  EXPECT_EQ(vocabularies, 8);  // gpt-2, deepseek-llm, deepseek-coder, falcon, starcoder, mpt,
                               // refact, gpt-neox
}

TEST(BytePairTokenizerTest, Gpt2VocabularyGivesGpt2Ids) {
  auto gpt2 = Load(kFixtures + "/vocab/ggml-vocab-gpt-2.gguf");
  EXPECT_EQ(gpt2->Encode("Hello world", {}), (std::vector<TokenId>{15496, 995}));
  EXPECT_EQ(gpt2->Encode(" Hello world", {}), (std::vector<TokenId>{18435, 995}));
  // The same vocabulary as tiny-qwen2's, so the same ids on a long text.
  EXPECT_EQ(gpt2->Encode(Corpus(), {}), Qwen2().Encode(Corpus(), {}));
}

TEST(BytePairTokenizerTest, DeepSeekCoderSplitsDigitsAndDeepSeekLlmKeepsThemTogether) {
  auto coder = Load(kFixtures + "/vocab/ggml-vocab-deepseek-coder.gguf");
  std::vector<TokenId> ids = coder->Encode("12345", {.add_special = false});
  EXPECT_EQ(ids.size(), 5u);
  auto llm = Load(kFixtures + "/vocab/ggml-vocab-deepseek-llm.gguf");
  // DeepSeek LLM's vocabulary has no multi-digit tokens either: one token per digit.
  EXPECT_EQ(llm->Encode("12345", {.add_special = false}).size(), 5u);
  // Its BOS is added as the file asks.
  std::vector<TokenId> with_bos = llm->Encode("hi", {});
  ASSERT_FALSE(with_bos.empty());
  EXPECT_EQ(with_bos[0], 100000);
}

TEST(BytePairTokenizerTest, UserDefinedTokensMatchAlwaysAndDecodeAsText) {
  auto llm = Load(kFixtures + "/vocab/ggml-vocab-deepseek-llm.gguf");
  auto o_slash = llm->vocab().Find("ø");
  ASSERT_TRUE(o_slash.has_value());
  EXPECT_EQ(llm->vocab().types[*o_slash], TokenType::kUserDefined);
  EXPECT_EQ(llm->Encode("ø", {.add_special = false}), (std::vector<TokenId>{*o_slash}));
  EXPECT_EQ(llm->TokenToBytes(*o_slash), "ø");
}

TEST(BytePairTokenizerTest, TokenToBytesReversesTheByteAlphabet) {
  EXPECT_EQ(Qwen2().TokenToBytes(220), " ");
  EXPECT_EQ(Qwen2().TokenToBytes(198), "\n");
  EXPECT_EQ(Qwen2().TokenToBytes(15496), "Hello");
  EXPECT_EQ(Qwen2().TokenToBytes(18435), " Hello");
  // A token may be part of a character: 'é' is 0xC3 0xA9.
  std::vector<TokenId> ids = Qwen2().Encode("\xc3", {});
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_EQ(Qwen2().TokenToBytes(ids[0]), "\xc3");
}

TEST(BytePairTokenizerTest, ControlTokensRenderOnlyWhenAsked) {
  const TokenId im_end = 50258;
  ASSERT_EQ(Qwen2().vocab().pieces[im_end], "<|im_end|>");
  EXPECT_EQ(Qwen2().TokenToBytes(im_end), "");
  EXPECT_EQ(Qwen2().TokenToBytes(im_end, {.render_special = true}), "<|im_end|>");
  std::vector<TokenId> ids = {15496, im_end, 995};
  EXPECT_EQ(Qwen2().Decode(ids), "Hello world");
  EXPECT_EQ(Qwen2().Decode(ids, {.render_special = true}), "Hello<|im_end|> world");
}

TEST(BytePairTokenizerTest, OutOfRangeIdsAreErrors) {
  const auto size = static_cast<TokenId>(Qwen2().vocab().size());
  EXPECT_THROW(Qwen2().TokenToBytes(size), Error);
  EXPECT_THROW(Qwen2().TokenToBytes(-1), Error);
  std::vector<TokenId> ids = {15496, size + 7};
  EXPECT_THROW(Qwen2().Decode(ids), Error);
  IncrementalDecoder stream(Qwen2());
  EXPECT_THROW(stream.Push(-5), Error);
}

TEST(BytePairTokenizerTest, BytesThatAreNotUtf8RoundTrip) {
  const std::string text = "ok \xff\xfe\xc3 broken \xe2\x82 end\xf0\x9f";
  EXPECT_EQ(Qwen2().Decode(Qwen2().Encode(text, {})), text);
}

TEST(BytePairTokenizerTest, LongWordsEncodeAndRoundTrip) {
  const std::string word(200000, 'a');
  std::vector<TokenId> ids = Qwen2().Encode(word, {});
  EXPECT_LE(ids.size(), word.size() / 4);  // 'aaaa' is gpt-2's longest run
  EXPECT_EQ(Qwen2().Decode(ids), word);
  std::string mixed;
  for (int i = 0; i < 20000; ++i) mixed += "ab\xc3\xa9\xe4\xb8\xad";
  EXPECT_EQ(Qwen2().Decode(Qwen2().Encode(mixed, {})), mixed);
}

TEST(BytePairTokenizerTest, IncrementalDecodingReassemblesTheText) {
  std::vector<TokenId> ids = Qwen2().Encode(Corpus(), {});
  IncrementalDecoder stream(Qwen2());
  std::string text;
  for (TokenId id : ids) text += stream.Push(id);
  text += stream.Flush();
  EXPECT_EQ(text, Corpus());
}

TEST(BytePairTokenizerTest, ConcurrentEncodesAgree) {
  const std::vector<TokenId> expected = Qwen2().Encode(Corpus(), {});
  std::vector<std::vector<TokenId>> results(4);
  std::vector<std::thread> threads;
  for (auto& result : results) {
    threads.emplace_back([&result] {
      for (int i = 0; i < 20; ++i) result = Qwen2().Encode(Corpus(), {});
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& result : results) EXPECT_EQ(result, expected);
}

// A small byte-level vocabulary written by hand, to pin the merge order exactly.
Vocab MakeVocab(std::string pre, std::vector<std::string> pieces, std::vector<std::string> merges) {
  Vocab v;
  v.kind = TokenizerKind::kBytePairBpe;
  v.model = "gpt2";
  v.pre = std::move(pre);
  v.pieces = std::move(pieces);
  v.types.assign(v.pieces.size(), TokenType::kNormal);
  v.merges = std::move(merges);
  for (std::size_t i = 0; i < v.pieces.size(); ++i) {
    v.piece_to_id.emplace(v.pieces[i], static_cast<TokenId>(i));
  }
  return v;
}

TEST(BytePairTokenizerTest, LowerRankMergesFirst) {
  // Ids: a=0 b=1 c=2 ab=3 bc=4 abc=5.
  const std::vector<std::string> pieces = {"a", "b", "c", "ab", "bc", "abc"};
  auto bc_first = detail::CreateBytePairTokenizer(MakeVocab("gpt-2", pieces, {"b c", "a bc"}));
  EXPECT_EQ(bc_first->Encode("abc", {}), (std::vector<TokenId>{5}));
  auto ab_first =
      detail::CreateBytePairTokenizer(MakeVocab("gpt-2", pieces, {"a b", "b c", "a bc"}));
  EXPECT_EQ(ab_first->Encode("abc", {}), (std::vector<TokenId>{3, 2}));
}

TEST(BytePairTokenizerTest, EqualRanksMergeLeftmostFirst) {
  auto t = detail::CreateBytePairTokenizer(MakeVocab("gpt-2", {"a", "aa"}, {"a a"}));
  EXPECT_EQ(t->Encode("aaa", {}), (std::vector<TokenId>{1, 0}));
  EXPECT_EQ(t->Encode("aaaaa", {}), (std::vector<TokenId>{1, 1, 0}));
}

TEST(BytePairTokenizerTest, IgnoreMergesTakesWholeWordsThatAreTokens) {
  const std::vector<std::string> pieces = {"a", "b", "c", "ab", "abc"};
  auto gpt2 = detail::CreateBytePairTokenizer(MakeVocab("gpt-2", pieces, {"a b"}));
  EXPECT_EQ(gpt2->Encode("abc", {}), (std::vector<TokenId>{3, 2}));
  auto llama3 = detail::CreateBytePairTokenizer(MakeVocab("llama3", pieces, {"a b"}));
  EXPECT_EQ(llama3->Encode("abc", {}), (std::vector<TokenId>{4}));
  EXPECT_EQ(llama3->Encode("abca", {}), (std::vector<TokenId>{3, 2, 0}));
}

TEST(BytePairTokenizerTest, BytesWithoutATokenAreDroppedAndBadMergesSkipped) {
  testing::internal::CaptureStderr();
  auto t = detail::CreateBytePairTokenizer(MakeVocab("gpt-2", {"a", "b", "ab"}, {"a b", "a z"}));
  std::string logged = testing::internal::GetCapturedStderr();
  EXPECT_NE(logged.find("merges skipped"), std::string::npos) << logged;
  EXPECT_EQ(t->Encode("azb ab", {}), (std::vector<TokenId>{0, 1, 2}));
}

TEST(BytePairTokenizerTest, UnknownPreTokenizerFallsBackToDefault) {
  Vocab vocab = Vocab::FromGguf(gguf::GgufFile::Open(kFixtures + "/models/tiny-qwen2-q8_0.gguf"));
  vocab.pre = "not-a-real-pre-tokenizer";
  testing::internal::CaptureStderr();
  auto t = detail::CreateBytePairTokenizer(std::move(vocab));
  std::string logged = testing::internal::GetCapturedStderr();
  EXPECT_NE(logged.find("not-a-real-pre-tokenizer"), std::string::npos) << logged;
  // llama.cpp's default splits "'" from "s" (punctuation first), unlike GPT-2's expression.
  std::vector<TokenId> ids = t->Encode("it's", {});
  EXPECT_EQ(t->Decode(ids), "it's");
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_EQ(Qwen2().Encode("it's", {}).size(), 2u);
  EXPECT_EQ(t->Decode(t->Encode(Corpus(), {})), Corpus());
}

TEST(BytePairTokenizerTest, RefusesSentencePieceVocabularies) {
  Vocab vocab = MakeVocab("default", {"a"}, {"a a"});
  vocab.kind = TokenizerKind::kSentencePiece;
  EXPECT_THROW(detail::CreateBytePairTokenizer(std::move(vocab)), Error);
}

}  // namespace
}  // namespace kiln::tokenizer
