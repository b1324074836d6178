#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "kiln/base/error.h"
#include "kiln/tokenizer/tokenizer.h"
#include "kiln/tokenizer/tokenizer_kinds.h"
#include "tokenizer/spm_fixtures.h"

namespace kiln::tokenizer {
namespace {

using testing::kBaichuan;
using testing::kLlamaSpm;
using testing::kPhi3;
using testing::kTinyLlama;
using testing::SpmTokenizer;

constexpr EncodeOptions kPlain{.add_special = false, .parse_special = false};
constexpr EncodeOptions kWithBos{.add_special = true, .parse_special = false};
constexpr EncodeOptions kParseSpecial{.add_special = false, .parse_special = true};

struct OracleCase {
  std::string text;
  EncodeOptions options;
  std::vector<TokenId> ids;
};

std::vector<OracleCase> LoadOracle() {
  std::ifstream in(testing::kFixtures + "/oracle/tiny-llama.tokenize.json");
  EXPECT_TRUE(in.good());
  auto json = nlohmann::json::parse(in);
  std::vector<OracleCase> cases;
  for (const auto& c : json) {
    cases.push_back({c.at("text").get<std::string>(),
                     {c.at("add_special").get<bool>(), c.at("parse_special").get<bool>()},
                     c.at("ids").get<std::vector<TokenId>>()});
  }
  return cases;
}

std::string Describe(const OracleCase& c) {
  return nlohmann::json(c.text).dump() + " add_special=" + std::to_string(c.options.add_special) +
         " parse_special=" + std::to_string(c.options.parse_special);
}

std::string Hex(std::string_view bytes) {
  std::string out;
  for (char c : bytes) out += fmt::format("{:02x} ", static_cast<unsigned char>(c));
  return out;
}

std::vector<std::string> Pieces(const Tokenizer& t, const std::vector<TokenId>& ids) {
  std::vector<std::string> out;
  for (TokenId id : ids) out.push_back(t.vocab().pieces.at(id));
  return out;
}

// ---- The oracle: llama.cpp's tokenization of the tiny-llama (phi-3) vocabulary ----

TEST(SentencePieceOracleTest, EveryCaseMatchesExactly) {
  const Tokenizer& t = SpmTokenizer(kTinyLlama);
  auto cases = LoadOracle();
  ASSERT_EQ(cases.size(), 144u);
  int passed = 0;
  for (const auto& c : cases) {
    SCOPED_TRACE(Describe(c));
    auto ids = t.Encode(c.text, c.options);
    EXPECT_EQ(ids, c.ids);
    passed += ids == c.ids;
  }
  EXPECT_EQ(passed, static_cast<int>(cases.size()));
}

TEST(SentencePieceOracleTest, DecodingOracleIdsGivesTheTextBack) {
  const Tokenizer& t = SpmTokenizer(kTinyLlama);
  int checked = 0;
  for (const auto& c : LoadOracle()) {
    // Parsed special tokens are followed by an added space prefix, which decoding keeps.
    if (c.options.parse_special && c.ids != t.Encode(c.text, {c.options.add_special, false})) {
      continue;
    }
    SCOPED_TRACE(Describe(c));
    EXPECT_EQ(t.Decode(c.ids), c.text);
    ++checked;
  }
  EXPECT_EQ(checked, 140);  // all but the four cases with parsed special tokens
}

TEST(SentencePieceOracleTest, LlamaSpmAgreesWherePhi3SharesItsVocabulary) {
  // phi-3's vocabulary is llama's plus chat tokens from id 32000 on, with the same pieces and
  // scores below, so llama-spm must tokenize every case that uses none of those tokens alike.
  const Tokenizer& t = SpmTokenizer(kLlamaSpm);
  int checked = 0;
  for (const auto& c : LoadOracle()) {
    if (std::any_of(c.ids.begin(), c.ids.end(), [](TokenId id) { return id >= 32000; })) continue;
    SCOPED_TRACE(Describe(c));
    EXPECT_EQ(t.Encode(c.text, c.options), c.ids);
    ++checked;
  }
  EXPECT_EQ(checked, 142);  // all but the two that parse phi-3's chat tokens
}

// ---- Hand-checked encodings ----

TEST(SentencePieceTokenizerTest, LlamaSpmHandCheckedEncodings) {
  const Tokenizer& t = SpmTokenizer(kLlamaSpm);
  EXPECT_EQ(t.Encode("Hello world"), (std::vector<TokenId>{1, 15043, 3186}));
  // From llama.cpp's tokenizer tests for this vocabulary.
  const std::vector<std::pair<std::string, std::vector<TokenId>>> cases = {
      {"", {}},
      {" ", {259}},
      {"  ", {1678}},
      {"   ", {268}},
      {"\t", {29871, 12}},
      {"\n", {29871, 13}},
      {"\t\n", {29871, 12, 13}},
      {"Hello world", {15043, 3186}},
      {" Hello world", {29871, 15043, 3186}},
      {"Hello World", {15043, 2787}},
      {" Hello World!", {29871, 15043, 2787, 29991}},
      {"Hello, world!", {15043, 29892, 3186, 29991}},
      {" this is 🦙.cpp", {29871, 445, 338, 29871, 243, 162, 169, 156, 29889, 8223}},
      {"w048 7tuijk dsdfhu",
       {281, 29900, 29946, 29947, 29871, 29955, 9161, 13535, 18031, 2176, 6905}},
      {"нещо на Български", {1538, 4851, 665, 1386, 29713, 1305}},
      {"Hello", {15043}},
      {" Hello", {29871, 15043}},
      {"  Hello", {259, 15043}},
      {"   Hello", {1678, 15043}},
      {"    Hello", {268, 15043}},
      {"    Hello\n    Hello", {268, 15043, 13, 1678, 15043}},
  };
  for (const auto& [text, ids] : cases) {
    SCOPED_TRACE(text);
    EXPECT_EQ(t.Encode(text, kPlain), ids);
  }
}

TEST(SentencePieceTokenizerTest, BaichuanMergesWholeWordsAndFallsBackToBytes) {
  const Tokenizer& t = SpmTokenizer(kBaichuan);
  EXPECT_EQ(Pieces(t, t.Encode("Hello world", kPlain)),
            (std::vector<std::string>{"▁Hello", "▁world"}));
  // Scores decide: "世界" (-2132) merges first, then "▁你" (-9226) wins over "你好" (-24562),
  // and "▁你好" is no piece.
  EXPECT_EQ(Pieces(t, t.Encode("你好世界", kPlain)),
            (std::vector<std::string>{"▁你", "好", "世界"}));
  EXPECT_EQ(Pieces(t, t.Encode("𐍈", kPlain)),
            (std::vector<std::string>{"▁", "<0xF0>", "<0x90>", "<0x8D>", "<0x88>"}));
  // Its byte tokens do not start at id 3, unlike llama's.
  EXPECT_EQ(t.Encode("\x01", kPlain).back(), *t.vocab().Find("<0x01>"));
}

TEST(SentencePieceTokenizerTest, SpacePrefixOnlyAtStartAndAfterSpecialTokens) {
  const Tokenizer& t = SpmTokenizer(kTinyLlama);
  auto hello = *t.vocab().Find("▁Hello");
  auto end = *t.vocab().Find("<|end|>");
  EXPECT_EQ(t.Encode("Hello<|end|>Hello", kParseSpecial),
            (std::vector<TokenId>{hello, end, hello}));
  // Without parse_special the second Hello follows '>' and gets no prefix.
  auto plain = t.Encode("Hello<|end|>Hello", kPlain);
  EXPECT_EQ(plain.front(), hello);
  EXPECT_EQ(plain.back(), *t.vocab().Find("Hello"));
  EXPECT_EQ(std::count(plain.begin(), plain.end(), end), 0);
}

// ---- Special tokens ----

TEST(SentencePieceTokenizerTest, ControlTokensAreParsedOnlyWhenAsked) {
  const Tokenizer& t = SpmTokenizer(kTinyLlama);
  for (const char* text : {"<|end|>", "<|user|>", "<|assistant|>", "<|endoftext|>", "<s>"}) {
    SCOPED_TRACE(text);
    TokenId id = *t.vocab().Find(text);
    EXPECT_EQ(t.Encode(text, kParseSpecial), std::vector<TokenId>{id});
    auto plain = t.Encode(text, kPlain);
    EXPECT_GT(plain.size(), 1u);
    EXPECT_EQ(std::count(plain.begin(), plain.end(), id), 0);
    EXPECT_EQ(t.Decode(plain), text);
  }
}

TEST(SentencePieceTokenizerTest, Phi3EndOfSentenceIsTreatedAsControl) {
  // phi-3 marks "</s>" user-defined, but llama.cpp treats it as an end-of-generation control
  // token: matched only with parse_special, decoded only with render_special.
  const Tokenizer& t = SpmTokenizer(kPhi3);
  EXPECT_EQ(t.vocab().types[2], TokenType::kControl);
  EXPECT_EQ(t.Encode("</s>", kParseSpecial), std::vector<TokenId>{2});
  EXPECT_EQ(Pieces(t, t.Encode("</s>", kPlain)), (std::vector<std::string>{"▁</", "s", ">"}));
  EXPECT_EQ(t.TokenToBytes(2), "");
  EXPECT_EQ(t.TokenToBytes(2, {.render_special = true}), "</s>");
}

TEST(SentencePieceTokenizerTest, BosAndEosFollowTheVocabulary) {
  const Tokenizer& t = SpmTokenizer(kLlamaSpm);
  EXPECT_EQ(t.Encode("", kWithBos), std::vector<TokenId>{1});
  EXPECT_EQ(t.Encode("Hello", kWithBos), (std::vector<TokenId>{1, 15043}));
  Vocab v = t.vocab();
  v.special.add_eos = true;
  v.special.add_bos = false;
  auto with_eos = detail::CreateSentencePieceTokenizer(std::move(v));
  EXPECT_EQ(with_eos->Encode("Hello"), (std::vector<TokenId>{15043, 2}));
  EXPECT_EQ(with_eos->Encode("Hello", kPlain), (std::vector<TokenId>{15043}));
}

// ---- Decoding ----

TEST(SentencePieceTokenizerTest, TokenToBytesByTokenType) {
  const Tokenizer& t = SpmTokenizer(kTinyLlama);
  const DecodeOptions special{.render_special = true};
  EXPECT_EQ(t.TokenToBytes(15043), " Hello");  // normal: ▁ is a space
  EXPECT_EQ(t.TokenToBytes(259), "  ");
  EXPECT_EQ(t.TokenToBytes(13), "\n");     // <0x0A>
  EXPECT_EQ(t.TokenToBytes(243), "\xF0");  // a lone byte
  EXPECT_EQ(t.TokenToBytes(1), "");        // control <s>
  EXPECT_EQ(t.TokenToBytes(1, special), "<s>");
  EXPECT_EQ(t.TokenToBytes(32007), "");  // control <|end|>
  EXPECT_EQ(t.TokenToBytes(32007, special), "<|end|>");
  EXPECT_EQ(t.TokenToBytes(32011), "");  // unknown-type [PAD32011]
  EXPECT_EQ(t.TokenToBytes(32011, special), "[PAD32011]");
  EXPECT_EQ(t.TokenToBytes(15043, special), " Hello");
  EXPECT_THROW(t.TokenToBytes(-1), Error);
  EXPECT_THROW(t.TokenToBytes(static_cast<TokenId>(t.vocab().size())), Error);
}

TEST(SentencePieceTokenizerTest, DecodeStripsExactlyOneLeadingSpace) {
  const Tokenizer& t = SpmTokenizer(kLlamaSpm);
  EXPECT_EQ(t.Decode(std::vector<TokenId>{1, 15043, 3186}), "Hello world");
  // "▁" then "▁Hello": only the first space is the prefix's.
  EXPECT_EQ(t.Decode(std::vector<TokenId>{1, 29871, 15043}), " Hello");
  EXPECT_EQ(t.Decode(std::vector<TokenId>{259}), " ");
  // A rendered BOS comes first, so no space is stripped (as Hugging Face decodes it).
  EXPECT_EQ(t.Decode(std::vector<TokenId>{1, 15043}, {.render_special = true}), "<s> Hello");
  // Without the space prefix nothing is stripped.
  Vocab v = t.vocab();
  v.add_space_prefix = false;
  auto no_prefix = detail::CreateSentencePieceTokenizer(std::move(v));
  EXPECT_EQ(no_prefix->Decode(std::vector<TokenId>{15043}), " Hello");
  EXPECT_EQ(no_prefix->Encode("Hello", kPlain), std::vector<TokenId>{*t.vocab().Find("Hello")});
}

TEST(SentencePieceTokenizerTest, ParsedSpecialTokensDecodeWithTheirSpacePrefix) {
  // Hugging Face's legacy SentencePiece behaviour: text after a special token gets a space
  // prefix, which decoding keeps. Not a round trip, but what the model saw.
  const Tokenizer& t = SpmTokenizer(kTinyLlama);
  std::string text = "<|user|>\nHello<|end|>\n<|assistant|>";
  auto ids = t.Encode(text, {.add_special = true, .parse_special = true});
  EXPECT_EQ(t.Decode(ids, {.render_special = true}), "<s><|user|> \nHello<|end|> \n<|assistant|>");
  EXPECT_EQ(t.Decode(ids), "\nHello \n");
}

// ---- Round trips ----

TEST(SentencePieceTokenizerTest, RoundTripsTheCorpusOnEveryVocabulary) {
  for (const char* fixture : testing::kAllSpmFixtures) {
    const Tokenizer& t = SpmTokenizer(fixture);
    for (const std::string& text : testing::RoundTripCorpus()) {
      SCOPED_TRACE(std::string(fixture) + ": " + nlohmann::json(text).dump());
      auto ids = t.Encode(text, kWithBos);
      ASSERT_FALSE(ids.empty());
      EXPECT_EQ(ids.front(), *t.vocab().special.bos);
      for (TokenId id : ids) {
        ASSERT_TRUE(t.vocab().IsValid(id));
        EXPECT_NE(id, *t.vocab().special.unk);  // byte fallback covers everything
      }
      EXPECT_EQ(t.Decode(ids), text);
    }
  }
}

TEST(SentencePieceTokenizerTest, LiteralSpaceMarkerDecodesAsSpace) {
  // SentencePiece cannot tell U+2581 in the input from an escaped space: like Hugging Face and
  // llama.cpp, it comes back as a space.
  const Tokenizer& t = SpmTokenizer(kLlamaSpm);
  EXPECT_EQ(t.Encode("a▁b", kPlain), t.Encode("a b", kPlain));
  EXPECT_EQ(t.Decode(t.Encode("a▁b", kPlain)), "a b");
}

TEST(SentencePieceTokenizerTest, InvalidUtf8EncodesAsBytesAndDecodesBack) {
  // Bytes outside well-formed characters become byte tokens one by one; the spaces and
  // characters around them are tokenized as usual.
  const Tokenizer& t = SpmTokenizer(kLlamaSpm);
  EXPECT_EQ(t.Encode("\xFF Hello", kPlain), (std::vector<TokenId>{29871, 0xFF + 3, 15043}));
  for (std::string text :
       {std::string("\xFF\xFE x"), std::string("abc\xE2\x82"),
        std::string("\x80\x80 lone continuations"), std::string("\xC3("),
        std::string("\xED\xA0\x80 surrogate"), std::string("\xF8\x88\x80\x80\x80")}) {
    SCOPED_TRACE(Hex(text));
    EXPECT_EQ(t.Decode(t.Encode(text, kPlain)), text);
  }
}

TEST(SentencePieceTokenizerTest, LongTextRoundTrips) {
  const Tokenizer& t = SpmTokenizer(kTinyLlama);
  std::string text;
  while (text.size() < 200000) {
    for (const std::string& s : testing::RoundTripCorpus()) text += s + " ";
  }
  auto ids = t.Encode(text, kPlain);
  EXPECT_LT(ids.size(), text.size());
  EXPECT_EQ(t.Decode(ids), text);
  // No spaces at all: one long run of symbols to merge.
  std::string run(100000, 'a');
  EXPECT_EQ(t.Decode(t.Encode(run, kPlain)), run);
}

TEST(SentencePieceTokenizerTest, ConcurrentEncodesAgree) {
  const Tokenizer& t = SpmTokenizer(kTinyLlama);
  const auto& corpus = testing::RoundTripCorpus();
  std::vector<std::vector<TokenId>> expected;
  for (const auto& text : corpus) expected.push_back(t.Encode(text));
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&, k] {
      for (int round = 0; round < 20; ++round) {
        for (std::size_t i = 0; i < corpus.size(); ++i) {
          if (t.Encode(corpus[i]) != expected[i]) ++mismatches[k];
          if (t.Decode(expected[i]) != corpus[i]) ++mismatches[k];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

// ---- The merge algorithm on small hand-made vocabularies ----

Vocab TinyVocab(std::vector<std::pair<std::string, float>> pieces, bool byte_tokens) {
  Vocab v;
  v.model = "llama";
  v.add_space_prefix = false;
  auto add = [&](std::string piece, float score, TokenType type) {
    v.piece_to_id.emplace(piece, static_cast<TokenId>(v.pieces.size()));
    v.pieces.push_back(std::move(piece));
    v.scores.push_back(score);
    v.types.push_back(type);
  };
  add("<unk>", 0, TokenType::kUnknown);
  add("<s>", 0, TokenType::kControl);
  add("</s>", 0, TokenType::kControl);
  v.special.unk = 0;
  v.special.bos = 1;
  v.special.eos = 2;
  if (byte_tokens) {
    for (int b = 0; b < 256; ++b) add(fmt::format("<0x{:02X}>", b), 0, TokenType::kByte);
  }
  for (auto& [piece, score] : pieces) add(piece, score, TokenType::kNormal);
  return v;
}

std::vector<std::string> TinyPieces(const Vocab& v, std::string_view text) {
  auto t = detail::CreateSentencePieceTokenizer(v);
  return Pieces(*t, t->Encode(text, kPlain));
}

TEST(SentencePieceMergeTest, HighestScoringPairMergesFirst) {
  auto v = TinyVocab({{"a", -1}, {"b", -1}, {"c", -1}, {"ab", -5}, {"bc", -2}}, true);
  EXPECT_EQ(TinyPieces(v, "abc"), (std::vector<std::string>{"a", "bc"}));
  v = TinyVocab({{"a", -1}, {"b", -1}, {"c", -1}, {"ab", -2}, {"bc", -5}}, true);
  EXPECT_EQ(TinyPieces(v, "abc"), (std::vector<std::string>{"ab", "c"}));
  // A merged symbol keeps merging: "ab" + "c" once "abc" exists.
  v = TinyVocab({{"a", -1}, {"b", -1}, {"c", -1}, {"ab", -2}, {"bc", -5}, {"abc", -9}}, true);
  EXPECT_EQ(TinyPieces(v, "abc"), (std::vector<std::string>{"abc"}));
}

TEST(SentencePieceMergeTest, TiesGoToTheLeftmostPair) {
  auto v = TinyVocab({{"a", -1}, {"b", -1}, {"c", -1}, {"ab", -3}, {"bc", -3}}, true);
  EXPECT_EQ(TinyPieces(v, "abc"), (std::vector<std::string>{"ab", "c"}));
  v = TinyVocab({{"a", -1}, {"aa", -1}}, true);
  EXPECT_EQ(TinyPieces(v, "aaaaa"), (std::vector<std::string>{"aa", "aa", "a"}));
  // No scores at all: every pair ties.
  v = TinyVocab({{"x", 0}, {"y", 0}, {"xy", 0}, {"yx", 0}}, true);
  v.scores.clear();
  EXPECT_EQ(TinyPieces(v, "yxy"), (std::vector<std::string>{"yx", "y"}));
}

TEST(SentencePieceMergeTest, PiecesSpanningWordsAreMergedWhenTheVocabularyHasThem) {
  // Most vocabularies have no piece with a space marker after another character, and the
  // tokenizer then merges word by word; this one does, so merges must cross the space.
  auto v = TinyVocab({{"a", -1}, {"b", -1}, {"▁", -1}, {"a▁", -2}, {"a▁b", -3}, {"▁b", -4}}, true);
  EXPECT_EQ(TinyPieces(v, "a b"), (std::vector<std::string>{"a▁b"}));
  EXPECT_EQ(TinyPieces(v, "b a b"), (std::vector<std::string>{"b", "▁", "a▁b"}));
  v = TinyVocab({{"a", -1}, {"b", -1}, {"▁", -1}, {"▁b", -4}, {"▁▁", -1}, {"▁▁b", -1}}, true);
  EXPECT_EQ(TinyPieces(v, "a  b b"), (std::vector<std::string>{"a", "▁▁b", "▁b"}));
}

TEST(SentencePieceMergeTest, UnknownCharactersFallBackToBytesOrUnk) {
  auto with_bytes = TinyVocab({{"a", -1}, {"▁", -1}, {"▁a", -1}}, true);
  EXPECT_EQ(TinyPieces(with_bytes, "aé a"),
            (std::vector<std::string>{"a", "<0xC3>", "<0xA9>", "▁a"}));
  // Without byte tokens each unknown character is one <unk>.
  auto without = TinyVocab({{"a", -1}, {"▁", -1}, {"▁a", -1}}, false);
  EXPECT_EQ(TinyPieces(without, "aéü a"), (std::vector<std::string>{"a", "<unk>", "<unk>", "▁a"}));
  without.special.unk.reset();
  auto t = detail::CreateSentencePieceTokenizer(without);
  EXPECT_THROW(t->Encode("é", kPlain), Error);
  EXPECT_EQ(t->Encode("a a", kPlain).size(), 2u);
}

TEST(SentencePieceMergeTest, UserDefinedTokensAreAlwaysMatchedAndDecodedVerbatim) {
  auto v = TinyVocab({{"a", -1}, {"▁", -1}, {"▁a", -1}}, true);
  v.add_space_prefix = true;
  v.pieces.push_back("<tool▁call>");
  v.scores.push_back(0);
  v.types.push_back(TokenType::kUserDefined);
  auto tool = static_cast<TokenId>(v.pieces.size() - 1);
  v.piece_to_id.emplace(v.pieces.back(), tool);
  auto t = detail::CreateSentencePieceTokenizer(v);
  auto ids = t->Encode("a<tool▁call>a", kPlain);
  EXPECT_EQ(Pieces(*t, ids), (std::vector<std::string>{"▁a", "<tool▁call>", "▁a"}));
  EXPECT_EQ(t->TokenToBytes(tool), "<tool▁call>");
  EXPECT_EQ(t->Decode(ids), "a<tool▁call> a");
}

TEST(SentencePieceMergeTest, RejectsMalformedVocabularies) {
  auto v = TinyVocab({{"a", -1}}, true);
  v.types[3] = TokenType::kByte;
  v.pieces[3] = "<0xZZ>";
  EXPECT_THROW(detail::CreateSentencePieceTokenizer(v), Error);
  v = TinyVocab({{"a", -1}}, true);
  v.scores.pop_back();
  EXPECT_THROW(detail::CreateSentencePieceTokenizer(v), Error);
  v = TinyVocab({{"a", -1}}, true);
  v.kind = TokenizerKind::kBytePairBpe;
  EXPECT_THROW(detail::CreateSentencePieceTokenizer(v), Error);
}

}  // namespace
}  // namespace kiln::tokenizer
