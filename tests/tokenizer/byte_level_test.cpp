#include "kiln/tokenizer/byte_level.h"

#include <gtest/gtest.h>

#include <set>

namespace kiln::tokenizer::detail {
namespace {

TEST(ByteLevelTest, PrintableBytesStandForThemselvesOthersFollowU0100) {
  EXPECT_EQ(ByteToCodepoint('!'), U'!');
  EXPECT_EQ(ByteToCodepoint('~'), U'~');
  EXPECT_EQ(ByteToCodepoint(0xe9), U'\u00e9');
  EXPECT_EQ(ByteToCodepoint(0x00), U'\u0100');
  EXPECT_EQ(ByteToCodepoint('\n'), U'\u010a');  // 'Ċ'
  EXPECT_EQ(ByteToCodepoint(' '), U'\u0120');   // 'Ġ'
  EXPECT_EQ(ByteToCodepoint(0x7f), U'\u0121');
  EXPECT_EQ(ByteToCodepoint(0xa0), U'\u0142');
  EXPECT_EQ(ByteToCodepoint(0xad), U'\u0143');  // the last one
}

TEST(ByteLevelTest, TheMappingIsABijection) {
  std::set<char32_t> seen;
  for (int b = 0; b < 256; ++b) {
    char32_t cp = ByteToCodepoint(static_cast<std::uint8_t>(b));
    EXPECT_TRUE(seen.insert(cp).second) << b;
    EXPECT_EQ(CodepointToByte(cp), b);
  }
  EXPECT_EQ(CodepointToByte(U' '), -1);
  EXPECT_EQ(CodepointToByte(U'\u0144'), -1);
  EXPECT_EQ(CodepointToByte(U'\u4e2d'), -1);
}

TEST(ByteLevelTest, EncodeAndDecodeRoundTripEveryByte) {
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  std::string encoded = EncodeBytes(all);
  bool exact = false;
  EXPECT_EQ(DecodeBytes(encoded, &exact), all);
  EXPECT_TRUE(exact);
  EXPECT_EQ(EncodeBytes(" hi\n"), "\u0120hi\u010a");
}

TEST(ByteLevelTest, CharactersOutsideTheAlphabetAreKeptAsText) {
  bool exact = true;
  EXPECT_EQ(DecodeBytes("\u0120a b\u4e2d", &exact), " a b\u4e2d");
  EXPECT_FALSE(exact);
  EXPECT_EQ(DecodeBytes("\xc4"), "\xc4");  // a truncated character is copied, not dropped
}

}  // namespace
}  // namespace kiln::tokenizer::detail
