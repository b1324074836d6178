#include "kiln/engine/stop_matcher.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "kiln/base/error.h"

namespace kiln::engine {
namespace {

// Feeds `tokens` and records what a client would see.
struct Transcript {
  std::vector<std::string> emitted;  // per Consume call
  std::string text;                  // everything emitted, plus Flush if no stop
  bool stopped = false;
  int32_t stop_index = -1;
};

Transcript Feed(const std::vector<std::string>& stops, const std::vector<std::string>& tokens) {
  StopMatcher matcher(stops);
  Transcript t;
  for (const std::string& token : tokens) {
    const StopMatcher::Output out = matcher.Consume(token);
    t.emitted.emplace_back(out.text);
    t.text += out.text;
    if (out.stopped) {
      t.stopped = true;
      t.stop_index = out.stop_index;
      break;
    }
  }
  if (!t.stopped) t.text += matcher.Flush();
  return t;
}

TEST(StopMatcherTest, WithoutStopStringsEverythingPassesStraightThrough) {
  const Transcript t = Feed({}, {"Hello", ", ", "world"});
  EXPECT_EQ(t.emitted, (std::vector<std::string>{"Hello", ", ", "world"}));
  EXPECT_FALSE(t.stopped);
}

TEST(StopMatcherTest, StopStringSplitOverThreeTokens) {
  const Transcript t = Feed({"STOP"}, {"abc ST", "O", "P tail", "more"});
  EXPECT_EQ(t.emitted, (std::vector<std::string>{"abc ", "", ""}));
  EXPECT_TRUE(t.stopped);
  EXPECT_EQ(t.stop_index, 0);
  EXPECT_EQ(t.text, "abc ");
}

TEST(StopMatcherTest, FalsePartialMatchIsHeldThenReleased) {
  StopMatcher matcher({"</end>"});
  EXPECT_EQ(matcher.Consume("a<").text, "a");
  EXPECT_EQ(matcher.held_bytes(), 1u);
  EXPECT_EQ(matcher.Consume("/e").text, "");
  EXPECT_EQ(matcher.held_bytes(), 3u);
  const StopMatcher::Output out = matcher.Consume("x>");
  EXPECT_EQ(out.text, "</ex>");
  EXPECT_FALSE(out.stopped);
  EXPECT_EQ(matcher.held_bytes(), 0u);
}

TEST(StopMatcherTest, ReleasesOnlyWhatCanNoLongerMatch) {
  // "aaab" against "aab": after "aaa" the last two a's may still start the stop string.
  StopMatcher matcher({"aab"});
  EXPECT_EQ(matcher.Consume("a").text, "");
  EXPECT_EQ(matcher.Consume("a").text, "");
  EXPECT_EQ(matcher.Consume("a").text, "a");
  const StopMatcher::Output out = matcher.Consume("b");
  EXPECT_TRUE(out.stopped);
  EXPECT_EQ(out.text, "");
}

TEST(StopMatcherTest, WhenOneStopStringIsAPrefixOfAnotherTheFirstCompletedWins) {
  for (const auto& stops :
       {std::vector<std::string>{"ab", "abcd"}, std::vector<std::string>{"abcd", "ab"}}) {
    const Transcript t = Feed(stops, {"x", "abcd", "y"});
    EXPECT_TRUE(t.stopped);
    EXPECT_EQ(t.text, "x");
    EXPECT_EQ(stops[static_cast<size_t>(t.stop_index)], "ab");
  }
  // Held while "abcd" is still possible, released once it is not: "abx" contains no stop at all.
  const Transcript t = Feed({"abcd", "abd"}, {"ab", "x"});
  EXPECT_FALSE(t.stopped);
  EXPECT_EQ(t.emitted, (std::vector<std::string>{"", "abx"}));
}

TEST(StopMatcherTest, WhenStopStringsEndTogetherTheLongestWins) {
  const Transcript t = Feed({"bc", "abc"}, {"xab", "c!"});
  EXPECT_TRUE(t.stopped);
  EXPECT_EQ(t.stop_index, 1);
  EXPECT_EQ(t.text, "x");
}

TEST(StopMatcherTest, StopStringAtTheVeryStart) {
  const Transcript t = Feed({"\n\n"}, {"\n\nHello"});
  EXPECT_TRUE(t.stopped);
  EXPECT_EQ(t.text, "");
}

TEST(StopMatcherTest, TokenCompletesAStopStringInItsMiddle) {
  const Transcript t = Feed({"END"}, {"one E", "NDtwo three"});
  EXPECT_EQ(t.emitted, (std::vector<std::string>{"one ", ""}));
  EXPECT_EQ(t.text, "one ");
  // Also entirely inside one token, with text on both sides.
  EXPECT_EQ(Feed({"END"}, {"oneENDtwo"}).text, "one");
}

TEST(StopMatcherTest, MultibyteStopStringsAcrossTokenBoundaries) {
  // "。" is E3 80 82; here split between tokens byte by byte, as byte-level BPE can.
  const Transcript t = Feed({"。"}, {"你好", "\xE3", "\x80", "\x82", "再见"});
  EXPECT_TRUE(t.stopped);
  EXPECT_EQ(t.text, "你好");
  // "好吗" and "好的" share the first character: held, then released whole.
  StopMatcher matcher({"好吗"});
  EXPECT_EQ(matcher.Consume("说好").text, "说");
  EXPECT_EQ(matcher.Consume("的").text, "好的");
  // Held text always ends on a character boundary when the input is whole characters.
  EXPECT_EQ(matcher.Consume("好").text, "");
  EXPECT_EQ(matcher.Flush(), "好");
}

TEST(StopMatcherTest, AfterAStopNothingMoreIsEmitted) {
  StopMatcher matcher({"x"});
  EXPECT_TRUE(matcher.Consume("ax").stopped);
  const StopMatcher::Output out = matcher.Consume("more");
  EXPECT_TRUE(out.stopped);
  EXPECT_EQ(out.stop_index, 0);
  EXPECT_EQ(out.text, "");
  EXPECT_EQ(matcher.Flush(), "");
}

TEST(StopMatcherTest, RejectsEmptyStopStrings) {
  EXPECT_THROW(StopMatcher({"a", ""}), Error);
}

// The reference: scan the whole text byte by byte for the first position where some stop string
// ends (longest one if several), and compute the minimal hold as the longest suffix that is a
// proper prefix of a stop string.
struct Reference {
  std::string output;
  int32_t stop_index = -1;
};

Reference ReferenceStop(const std::vector<std::string>& stops, const std::string& text) {
  for (size_t end = 1; end <= text.size(); ++end) {
    int32_t best = -1;
    for (size_t k = 0; k < stops.size(); ++k) {
      const std::string& s = stops[k];
      if (s.size() <= end && text.compare(end - s.size(), s.size(), s) == 0 &&
          (best < 0 || s.size() > stops[static_cast<size_t>(best)].size())) {
        best = static_cast<int32_t>(k);
      }
    }
    if (best >= 0) return {text.substr(0, end - stops[static_cast<size_t>(best)].size()), best};
  }
  return {text, -1};
}

size_t ReferenceHold(const std::vector<std::string>& stops, const std::string& text) {
  size_t hold = 0;
  for (const std::string& s : stops) {
    for (size_t len = std::min(s.size() - 1, text.size()); len > hold; --len) {
      if (text.compare(text.size() - len, len, s, 0, len) == 0) {
        hold = len;
        break;
      }
    }
  }
  return hold;
}

// Any split of any text into tokens gives the byte-stream answer, and holds back exactly the
// minimal text at every step.
TEST(StopMatcherTest, RandomTextsAndSplitsMatchTheByteStreamReference) {
  std::mt19937 rng(31);
  auto random_string = [&](size_t min_len, size_t max_len) {
    std::string s(min_len + rng() % (max_len - min_len + 1), 'a');
    for (char& c : s) c = static_cast<char>('a' + rng() % 3);
    return s;
  };
  for (int trial = 0; trial < 3000; ++trial) {
    std::vector<std::string> stops(1 + rng() % 3);
    for (auto& s : stops) s = random_string(1, 5);
    const std::string text = random_string(0, 30);
    const Reference want = ReferenceStop(stops, text);

    StopMatcher matcher(stops);
    std::string got;
    std::string consumed;
    bool stopped = false;
    size_t pos = 0;
    while (pos < text.size() && !stopped) {
      const size_t len = std::min(text.size() - pos, size_t{1} + rng() % 6);
      const std::string token = text.substr(pos, len);
      pos += len;
      consumed += token;
      const StopMatcher::Output out = matcher.Consume(token);
      got += out.text;
      stopped = out.stopped;
      if (stopped) {
        ASSERT_EQ(out.stop_index, want.stop_index) << "trial " << trial;
      } else {
        ASSERT_EQ(matcher.held_bytes(), ReferenceHold(stops, consumed)) << "trial " << trial;
        ASSERT_EQ(got + consumed.substr(got.size()), consumed);
      }
    }
    if (!stopped) got += matcher.Flush();
    ASSERT_EQ(stopped, want.stop_index >= 0) << "trial " << trial << " text " << text;
    ASSERT_EQ(got, want.output) << "trial " << trial << " text " << text;
  }
}

}  // namespace
}  // namespace kiln::engine
