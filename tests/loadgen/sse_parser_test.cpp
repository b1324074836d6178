#include "kiln/loadgen/sse_parser.h"

#include <gtest/gtest.h>

namespace kiln::loadgen {
namespace {

std::vector<SseEvent> FeedInPieces(const std::string& body, std::size_t piece) {
  SseParser p;
  std::vector<SseEvent> all;
  for (std::size_t i = 0; i < body.size(); i += piece) {
    for (auto& e : p.Feed(std::string_view(body).substr(i, piece))) all.push_back(e);
  }
  return all;
}

TEST(SseParser, SameEventsWhateverTheChunkBoundaries) {
  const std::string body =
      ": comment\r\n\r\ndata: {\"a\":1}\r\n\r\nevent: error\ndata: line1\ndata: line2\n\n"
      "data:nospace\r\rid: 7\nretry: 10\ndata: [DONE]\n\n";
  for (std::size_t piece : {1u, 2u, 3u, 5u, 7u, 1000u}) {
    SCOPED_TRACE(piece);
    const auto events = FeedInPieces(body, piece);
    ASSERT_EQ(events.size(), 4u);
    EXPECT_EQ(events[0].data, "{\"a\":1}");
    EXPECT_EQ(events[0].event, "message");
    EXPECT_EQ(events[1].event, "error");
    EXPECT_EQ(events[1].data, "line1\nline2");
    EXPECT_EQ(events[2].data, "nospace");
    EXPECT_EQ(events[3].data, "[DONE]");
  }
}

TEST(SseParser, CrLfSplitAcrossChunksIsOneLineEnd) {
  SseParser p;
  EXPECT_TRUE(p.Feed("data: x\r").empty());
  // The '\n' completes the "\r\n" (not a blank line); the next "\r\n" dispatches.
  EXPECT_TRUE(p.Feed("\n").empty());
  const auto events = p.Feed("\r\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "x");
}

TEST(SseParser, UnterminatedEventIsReportedNotDispatched) {
  SseParser p;
  EXPECT_TRUE(p.Feed("data: partial\n").empty());
  EXPECT_TRUE(p.HasPartialEvent());
  SseParser q;
  q.Feed("data: whole\n\n");
  EXPECT_FALSE(q.HasPartialEvent());
}

TEST(InterpretStreamData, ChatContentCompletionTextUsageDoneAndErrors) {
  EXPECT_TRUE(InterpretStreamData("[DONE]").done);
  EXPECT_EQ(InterpretStreamData(R"({"choices":[{"delta":{"content":"hi"}}]})").content_pieces, 1);
  // A role-only first delta or an empty string is not content: TTFT waits for real text.
  EXPECT_EQ(InterpretStreamData(R"({"choices":[{"delta":{"role":"assistant"}}]})").content_pieces,
            0);
  EXPECT_EQ(InterpretStreamData(R"({"choices":[{"delta":{"content":""}}]})").content_pieces, 0);
  EXPECT_EQ(InterpretStreamData(R"({"choices":[{"text":"a"}]})").content_pieces, 1);
  const auto usage =
      InterpretStreamData(R"({"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":34}})");
  EXPECT_EQ(usage.content_pieces, 0);
  EXPECT_EQ(usage.prompt_tokens, 12);
  EXPECT_EQ(usage.completion_tokens, 34);
  EXPECT_FALSE(InterpretStreamData(R"({"choices":[],"usage":null})").completion_tokens);
  EXPECT_EQ(InterpretStreamData(R"({"error":{"message":"overloaded"}})").error, "overloaded");
  EXPECT_TRUE(InterpretStreamData("{not json").error.has_value());
}

}  // namespace
}  // namespace kiln::loadgen
