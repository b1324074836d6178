#include <fmt/format.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "kiln/tokenizer/tokenizer.h"
#include "tokenizer/spm_fixtures.h"

namespace kiln::tokenizer {
namespace {

using testing::IsValidUtf8;
using testing::kLlamaSpm;
using testing::kTinyLlama;
using testing::SpmTokenizer;

const std::string kReplacement = "\xEF\xBF\xBD";  // U+FFFD

TokenId ByteToken(const Tokenizer& t, unsigned char b) {
  return *t.vocab().Find(fmt::format("<0x{:02X}>", b));
}

// Pushes `ids` one at a time and returns every chunk, the last one from Flush.
std::vector<std::string> Stream(const Tokenizer& t, const std::vector<TokenId>& ids,
                                DecodeOptions options = {}) {
  IncrementalDecoder decoder(t, options);
  std::vector<std::string> chunks;
  for (TokenId id : ids) chunks.push_back(decoder.Push(id));
  chunks.push_back(decoder.Flush());
  return chunks;
}

std::string Join(const std::vector<std::string>& chunks) {
  std::string out;
  for (const auto& c : chunks) out += c;
  return out;
}

TEST(IncrementalDecoderTest, TokenByTokenEqualsDecodeOnEveryVocabulary) {
  for (const char* fixture : testing::kAllSpmFixtures) {
    const Tokenizer& t = SpmTokenizer(fixture);
    for (const std::string& text : testing::RoundTripCorpus()) {
      SCOPED_TRACE(std::string(fixture) + ": " + nlohmann::json(text).dump());
      auto ids = t.Encode(text);
      for (DecodeOptions options : {DecodeOptions{false}, DecodeOptions{true}}) {
        auto chunks = Stream(t, ids, options);
        for (const auto& chunk : chunks) EXPECT_TRUE(IsValidUtf8(chunk)) << chunk;
        EXPECT_EQ(chunks.back(), "");  // valid text leaves nothing for Flush
        EXPECT_EQ(Join(chunks), t.Decode(ids, options));
      }
      EXPECT_EQ(Join(Stream(t, ids)), text);
    }
  }
}

TEST(IncrementalDecoderTest, HoldsByteFallbackCharactersUntilComplete) {
  const Tokenizer& t = SpmTokenizer(kLlamaSpm);
  auto ids = t.Encode("🦙!", {.add_special = false});
  ASSERT_EQ(ids, (std::vector<TokenId>{29871, 243, 162, 169, 156, 29991}));
  EXPECT_EQ(Stream(t, ids), (std::vector<std::string>{"", "", "", "", "🦙", "!", ""}));
  // Two characters, each split across tokens, back to back.
  ids = t.Encode("𝔘𝔫", {.add_special = false});
  auto chunks = Stream(t, ids);
  EXPECT_EQ(Join(chunks), "𝔘𝔫");
  EXPECT_EQ(std::count(chunks.begin(), chunks.end(), "𝔘"), 1);
  EXPECT_EQ(std::count(chunks.begin(), chunks.end(), "𝔫"), 1);
}

TEST(IncrementalDecoderTest, FlushReplacesAnIncompleteCharacter) {
  const Tokenizer& t = SpmTokenizer(kLlamaSpm);
  IncrementalDecoder decoder(t);
  EXPECT_EQ(decoder.Push(ByteToken(t, 0xF0)), "");
  EXPECT_EQ(decoder.Push(ByteToken(t, 0x9F)), "");
  EXPECT_EQ(decoder.Flush(), kReplacement);
  EXPECT_EQ(decoder.Flush(), "");
  // The stream goes on; the first piece has been seen, so its space stays.
  EXPECT_EQ(decoder.Push(15043), " Hello");
  EXPECT_EQ(decoder.Flush(), "");
}

TEST(IncrementalDecoderTest, IllFormedBytesBecomeReplacementCharacters) {
  const Tokenizer& t = SpmTokenizer(kLlamaSpm);
  auto stream_bytes = [&](std::vector<unsigned char> bytes) {
    std::vector<TokenId> ids;
    for (unsigned char b : bytes) ids.push_back(ByteToken(t, b));
    auto chunks = Stream(t, ids);
    for (const auto& chunk : chunks) EXPECT_TRUE(IsValidUtf8(chunk));
    return Join(chunks);
  };
  const std::string r = kReplacement;
  EXPECT_EQ(stream_bytes({0x80}), r);                                // lone continuation
  EXPECT_EQ(stream_bytes({0xC0, 0xAF}), r + r);                      // overlong '/'
  EXPECT_EQ(stream_bytes({0xE0, 0x80, 0xAF}), r + r + r);            // overlong, 3 bytes
  EXPECT_EQ(stream_bytes({0xED, 0xA0, 0x80}), r + r + r);            // surrogate U+D800
  EXPECT_EQ(stream_bytes({0xF4, 0x90, 0x80, 0x80}), r + r + r + r);  // past U+10FFFF
  EXPECT_EQ(stream_bytes({0xFF, 'A'}), r + "A");
  EXPECT_EQ(stream_bytes({0xE2, 0x82, 'A'}), r + "A");  // truncated by ASCII
  EXPECT_EQ(stream_bytes({0xE2, 0x82, 0xAC}), "€");
  EXPECT_EQ(stream_bytes({0xE2, 0x82}), r);  // truncated by the end
}

TEST(IncrementalDecoderTest, StripsTheLeadingSpaceOnceLikeDecode) {
  const Tokenizer& t = SpmTokenizer(kLlamaSpm);
  // BOS decodes to nothing, "▁" loses its space, "▁Hello" keeps its own.
  std::vector<TokenId> ids = {1, 29871, 15043};
  EXPECT_EQ(Stream(t, ids), (std::vector<std::string>{"", "", " Hello", ""}));
  EXPECT_EQ(Join(Stream(t, ids)), t.Decode(ids));
  // A rendered BOS comes first, so no space is stripped.
  EXPECT_EQ(Stream(t, {1, 15043}, {.render_special = true}),
            (std::vector<std::string>{"<s>", " Hello", ""}));
  // Without a space prefix the vocabulary keeps every space.
  Vocab v = t.vocab();
  v.add_space_prefix = false;
  auto no_prefix = detail::CreateSentencePieceTokenizer(std::move(v));
  EXPECT_EQ(Stream(*no_prefix, {15043}), (std::vector<std::string>{" Hello", ""}));
}

TEST(IncrementalDecoderTest, SpecialTokensRenderOnlyWhenAsked) {
  const Tokenizer& t = SpmTokenizer(kTinyLlama);
  auto ids = t.Encode("<|user|>\nHi<|end|>", {.add_special = true, .parse_special = true});
  EXPECT_EQ(Join(Stream(t, ids)), "\nHi");
  EXPECT_EQ(Join(Stream(t, ids, {.render_special = true})), "<s><|user|> \nHi<|end|>");
}

}  // namespace
}  // namespace kiln::tokenizer
