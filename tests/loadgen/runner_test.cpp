// The load generator against a real HTTP server on loopback (the OpenAI-format test fixture).
#include "kiln/loadgen/runner.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "kiln/base/error.h"
#include "openai_test_server.h"

namespace kiln::loadgen {
namespace {

using testing::OpenAiTestServer;
using testing::TestServerOptions;

RunOptions Options(const OpenAiTestServer& server, std::int64_t requests) {
  RunOptions o;
  o.url = ParseServerUrl(server.url());
  o.model = "fixture";
  o.max_requests = requests;
  o.timeout = std::chrono::milliseconds(10'000);
  o.seed = 1;
  return o;
}

std::vector<BenchPrompt> Prompts(int n, int out) {
  return MakeSyntheticPrompts({.count = n, .input_len = 12, .output_len = out, .seed = 5}, {});
}

TEST(ParseServerUrl, HostPortPrefix) {
  const ServerUrl u = ParseServerUrl("http://localhost:8080/api/");
  EXPECT_EQ(u.host, "localhost");
  EXPECT_EQ(u.port, "8080");
  EXPECT_EQ(u.prefix, "/api");
  EXPECT_EQ(ParseServerUrl("http://example.org").port, "80");
  EXPECT_THROW(ParseServerUrl("https://example.org"), Error);
  EXPECT_THROW(ParseServerUrl("http://:80"), Error);
}

TEST(RunLevel, ClosedLoopKeepsConcurrencyAndAccountsTokens) {
  OpenAiTestServer server({.first_token_delay = std::chrono::milliseconds(30),
                           .token_delay = std::chrono::milliseconds(5)});
  const auto prompts = Prompts(7, 10);
  std::size_t progress_calls = 0;
  const LevelResult r = RunLevel(Options(server, 24), {.concurrency = 4}, prompts, {},
                                 [&](std::size_t done, std::size_t total) {
                                   ++progress_calls;
                                   EXPECT_EQ(done, progress_calls);
                                   EXPECT_EQ(total, 24u);
                                 });
  const auto stats = server.stats();
  EXPECT_EQ(progress_calls, 24u);
  EXPECT_EQ(stats.requests, 24);
  EXPECT_EQ(stats.max_in_flight, 4);
  ASSERT_EQ(r.records.size(), 24u);
  EXPECT_EQ(r.summary.completed, 24u);
  EXPECT_EQ(r.summary.failed, 0u);
  // Token totals match what the server streamed and reported.
  EXPECT_EQ(r.summary.output_tokens, stats.completion_tokens);
  EXPECT_EQ(r.summary.output_tokens, 24 * 10);
  EXPECT_EQ(r.summary.input_tokens, stats.prompt_tokens);
  for (const RequestRecord& rec : r.records) {
    EXPECT_TRUE(rec.ok) << rec.error;
    EXPECT_TRUE(rec.usage_reported);
    EXPECT_EQ(rec.output_tokens, 10);
    EXPECT_EQ(rec.itl_s.size(), 9u);  // one per content chunk after the first
    EXPECT_GE(rec.ttft_s, 0.028);
    EXPECT_GE(rec.TpotSeconds(), 0.004);
    EXPECT_GE(rec.e2e_s, rec.ttft_s + 9 * 0.004);
  }
  EXPECT_GE(r.summary.itl_ms.median, 4.0);
  EXPECT_LT(r.summary.itl_ms.median, 50.0);
  // 24 requests of >= 75 ms, 4 at a time: at least 6 rounds.
  EXPECT_GE(r.summary.duration_s, 6 * 0.075);
  EXPECT_NEAR(r.summary.request_throughput, 24 / r.summary.duration_s, 1e-9);
  // Prompts were sent in order, cycling, with the fixed output length and streaming options.
  const auto body = nlohmann::json::parse(stats.bodies.at(0));
  EXPECT_EQ(body["max_tokens"], 10);
  EXPECT_EQ(body["ignore_eos"], true);
  EXPECT_EQ(body["stream"], true);
  EXPECT_EQ(body["stream_options"]["include_usage"], true);
}

TEST(RunLevel, OpenLoopFollowsTheSeededPoissonRate) {
  OpenAiTestServer server({.first_token_delay = std::chrono::milliseconds(1),
                           .token_delay = std::chrono::milliseconds(1)});
  RunOptions o = Options(server, 60);
  o.chat = false;  // /v1/completions
  const LevelResult r =
      RunLevel(o, {.open_loop = true, .request_rate = 100}, Prompts(5, 3), {}, {});
  EXPECT_EQ(r.summary.completed, 60u);
  EXPECT_EQ(r.summary.mode, "open");
  EXPECT_EQ(r.summary.output_tokens, 180);
  std::vector<double> starts;
  for (const auto& rec : r.records) starts.push_back(rec.start_s);
  std::sort(starts.begin(), starts.end());
  // 59 exponential gaps of mean 10 ms: the span is ~0.59 s; far from both closed loop (all at
  // once) and sequential sending.
  EXPECT_GT(starts.back(), 0.25);
  EXPECT_LT(starts.back(), 1.5);
  // The same seed gives the same schedule.
  const LevelResult again =
      RunLevel(o, {.open_loop = true, .request_rate = 100}, Prompts(5, 3), {}, {});
  std::vector<double> starts2;
  for (const auto& rec : again.records) starts2.push_back(rec.start_s);
  std::sort(starts2.begin(), starts2.end());
  EXPECT_NEAR(starts2.back(), starts.back(), 0.1);
}

TEST(RunLevel, DurationBoundsALevel) {
  OpenAiTestServer server({.first_token_delay = std::chrono::milliseconds(10),
                           .token_delay = std::chrono::milliseconds(10)});
  RunOptions o = Options(server, 0);
  o.duration_s = 0.5;
  const LevelResult r = RunLevel(o, {.concurrency = 2}, Prompts(3, 5), {}, {});
  // Each request takes ~50 ms; two at a time for 0.5 s: about 20 requests, none started late.
  EXPECT_GE(r.summary.completed, 8u);
  EXPECT_LE(r.summary.completed, 22u);
  for (const auto& rec : r.records) EXPECT_LT(rec.start_s, 0.5);
}

TEST(RunLevel, HttpErrorsAndErrorEventsAreCountedNotFatal) {
  OpenAiTestServer server({.http_error_every = 3, .error_event_every = 4});
  const LevelResult r = RunLevel(Options(server, 12), {.concurrency = 3}, Prompts(4, 4), {}, {});
  // Requests 3, 6, 9, 12 get HTTP 500; 4 and 8 an error event.
  EXPECT_EQ(r.summary.failed, 6u);
  EXPECT_EQ(r.summary.completed, 6u);
  int http500 = 0, events = 0;
  for (const auto& rec : r.records) {
    if (rec.http_status == 500) {
      ++http500;
      EXPECT_NE(rec.error.find("fixture says no"), std::string::npos) << rec.error;
    } else if (!rec.ok) {
      ++events;
      EXPECT_NE(rec.error.find("fixture failure"), std::string::npos) << rec.error;
    }
  }
  EXPECT_EQ(http500, 4);
  EXPECT_EQ(events, 2);
}

TEST(RunLevel, StalledStreamsTimeOut) {
  OpenAiTestServer server({.stall_after_first = true});
  RunOptions o = Options(server, 2);
  o.timeout = std::chrono::milliseconds(300);
  const auto t0 = std::chrono::steady_clock::now();
  const LevelResult r = RunLevel(o, {.concurrency = 2}, Prompts(2, 8), {}, {});
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
  EXPECT_EQ(r.summary.failed, 2u);
  for (const auto& rec : r.records) EXPECT_NE(rec.error.find("timed out"), std::string::npos);
}

TEST(RunLevel, MissingDoneAndMissingUsageAreHandled) {
  {
    OpenAiTestServer server({.omit_done = true});
    const LevelResult r = RunLevel(Options(server, 2), {}, Prompts(1, 3), {}, {});
    EXPECT_EQ(r.summary.failed, 2u);
    EXPECT_NE(r.records[0].error.find("[DONE]"), std::string::npos);
  }
  OpenAiTestServer server({.send_usage = false});
  const LevelResult r = RunLevel(Options(server, 3), {}, Prompts(1, 6), {}, {});
  EXPECT_EQ(r.summary.completed, 3u);
  EXPECT_EQ(r.summary.output_tokens, 18);  // counted chunks
  EXPECT_FALSE(r.records[0].usage_reported);
}

TEST(RunLevel, ApiKeyIsSentAsBearer) {
  OpenAiTestServer server({.required_api_key = "sk-test"});
  RunOptions o = Options(server, 1);
  EXPECT_EQ(RunLevel(o, {}, Prompts(1, 2), {}, {}).summary.failed, 1u);
  o.api_key = "sk-test";
  EXPECT_EQ(RunLevel(o, {}, Prompts(1, 2), {}, {}).summary.completed, 1u);
}

TEST(RunLevel, UnreachableServerFailsEveryRequestWithAReason) {
  int port = 0;
  {
    OpenAiTestServer gone;
    port = gone.port();
  }
  RunOptions o;
  o.url = ParseServerUrl("http://127.0.0.1:" + std::to_string(port));
  o.max_requests = 2;
  const LevelResult r = RunLevel(o, {}, Prompts(1, 2), {}, {});
  EXPECT_EQ(r.summary.failed, 2u);
  EXPECT_NE(r.records[0].error.find("connect"), std::string::npos);
}

TEST(ServerTokenCounter, UsesTokenizeWhenOfferedAndBuildsExactPrompts) {
  OpenAiTestServer server;  // one token per word
  const RunOptions o = Options(server, 1);
  const TokenCounter counter = ServerTokenCounter(o);
  ASSERT_TRUE(counter);
  EXPECT_EQ(counter("one two three"), 3);
  const auto prompts =
      MakeSyntheticPrompts({.count = 3, .input_len = 40, .output_len = 2}, counter);
  const LevelResult r = RunLevel(o, {}, prompts, {}, {});
  EXPECT_EQ(r.records[0].prompt_tokens, 40);  // the server's count agrees with the build
  EXPECT_GT(server.stats().tokenize_calls, 3);

  OpenAiTestServer without({.offer_tokenize = false});
  EXPECT_FALSE(ServerTokenCounter(Options(without, 1)));
}

}  // namespace
}  // namespace kiln::loadgen
