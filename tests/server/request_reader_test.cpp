#include "kiln/server/request_reader.h"

#include <gtest/gtest.h>

namespace kiln::server {
namespace {

using Status = RequestReader::Status;

TEST(RequestReaderTest, ParsesByteByByteAndSplitsTarget) {
  RequestReader reader({1024, 1024});
  std::string input =
      "POST /v1/x?y=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello";
  std::string buffer;
  RequestReader::Result result;
  for (char c : input) {
    buffer.push_back(c);
    result = reader.Feed(buffer);
    buffer.erase(0, result.consumed);
    ASSERT_NE(result.status, Status::kError) << result.error;
    if (result.status == Status::kComplete) break;
  }
  ASSERT_EQ(result.status, Status::kComplete);
  EXPECT_TRUE(buffer.empty());
  bool keep_alive = false;
  HttpRequest request = reader.TakeRequest(&keep_alive);
  EXPECT_TRUE(keep_alive);
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.target, "/v1/x?y=1");
  EXPECT_EQ(request.path, "/v1/x");
  EXPECT_EQ(request.query, "y=1");
  EXPECT_EQ(request.body, "hello");
  EXPECT_EQ(request.Header("x-a"), "b");
}

TEST(RequestReaderTest, PipelinedRequestsLeaveTheRestUnconsumed) {
  RequestReader reader({1024, 1024});
  std::string input = "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\nConnection: close\r\n\r\n";
  auto first = reader.Feed(input);
  ASSERT_EQ(first.status, Status::kComplete);
  EXPECT_EQ(reader.TakeRequest(nullptr).path, "/a");
  input.erase(0, first.consumed);
  auto second = reader.Feed(input);
  ASSERT_EQ(second.status, Status::kComplete);
  EXPECT_EQ(second.consumed, input.size());
  bool keep_alive = true;
  EXPECT_EQ(reader.TakeRequest(&keep_alive).path, "/b");
  EXPECT_FALSE(keep_alive);
}

TEST(RequestReaderTest, ChunkedBodyIsDecoded) {
  RequestReader reader({1024, 1024});
  auto result = reader.Feed(
      "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  ASSERT_EQ(result.status, Status::kComplete);
  EXPECT_EQ(reader.TakeRequest(nullptr).body, "abcde");
}

TEST(RequestReaderTest, LimitsAndMalformedInputMapToStatuses) {
  {
    RequestReader reader({64, 1024});
    auto r = reader.Feed("GET / HTTP/1.1\r\nX: " + std::string(100, 'a') + "\r\n\r\n");
    EXPECT_EQ(r.status, Status::kError);
    EXPECT_EQ(r.http_status, 431);
  }
  {
    // Also when the header never ends.
    RequestReader reader({64, 1024});
    auto r = reader.Feed("GET / HTTP/1.1\r\nX: " + std::string(100, 'a'));
    EXPECT_EQ(r.http_status, 431);
  }
  {
    RequestReader reader({1024, 10});
    auto r = reader.Feed("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n");
    EXPECT_EQ(r.http_status, 413);
  }
  for (std::string bad :
       {"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        "GET / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", "G@T / HTTP/1.1\r\n\r\n",
        "GET / HTTQ/1.1\r\n\r\n", "\x16\x03\x01\x02",
        // Request smuggling shapes: conflicting or unknown body framing.
        "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"}) {
    RequestReader reader({1024, 1024});
    auto r = reader.Feed(bad);
    EXPECT_EQ(r.status, Status::kError) << bad;
    EXPECT_EQ(r.http_status, 400) << bad;
    EXPECT_FALSE(r.error.empty());
  }
  RequestReader reader({1024, 1024});
  auto version = reader.Feed("GET / HTTP/1.2\r\n\r\n");
  EXPECT_EQ(version.http_status, 400);
  EXPECT_NE(version.error.find("HTTP version"), std::string::npos);
  reader.Reset();
  EXPECT_EQ(reader.Feed("OPTIONS * HTTP/1.1\r\n\r\n").http_status, 400);
}

TEST(RequestReaderTest, ReportsExpectContinue) {
  RequestReader reader({1024, 1024});
  auto r = reader.Feed("POST / HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-Continue\r\n\r\n");
  EXPECT_EQ(r.status, Status::kNeedMore);
  EXPECT_TRUE(reader.HeaderDone());
  EXPECT_TRUE(reader.ExpectsContinue());
  EXPECT_EQ(reader.Feed("abc").status, Status::kComplete);
}

}  // namespace
}  // namespace kiln::server
