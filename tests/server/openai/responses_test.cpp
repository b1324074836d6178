// Response bodies from engine events: whole chat.completion / text_completion bodies, streamed
// chunks exactly as OpenAI sends them, logprobs in both APIs' shapes, embeddings and models.
#include <gtest/gtest.h>

#include <cstring>

#include "kiln/server/openai/response_collector.h"
#include "kiln/server/openai/stream_encoder.h"
#include "server/openai/test_models.h"

namespace kiln::server::openai {
namespace {

using testing::Qwen2;

ResponseOptions Options(ApiKind kind, int requests = 1, int n = 1) {
  ResponseOptions o;
  o.kind = kind;
  o.header = {kind == ApiKind::kChat ? "chatcmpl-abc" : "cmpl-abc", 1700000000, "kiln-demo",
              "fp_kiln"};
  o.requests = requests;
  o.choices_per_request = n;
  return o;
}

engine::Event TextEvent(int choice, std::string text, std::vector<std::int32_t> tokens) {
  engine::Event e;
  e.choice = choice;
  e.text = std::move(text);
  e.tokens = std::move(tokens);
  return e;
}

engine::Event Finish(engine::Event e, engine::FinishReason reason, bool request_done,
                     engine::Usage usage = {}) {
  e.finished = true;
  e.finish_reason = reason;
  e.request_done = request_done;
  e.usage = usage;
  return e;
}

// The JSON payloads of a run of SSE frames ("[DONE]" kept as a string).
std::vector<Json> Payloads(const std::string& frames) {
  std::vector<Json> out;
  std::size_t pos = 0;
  while (pos < frames.size()) {
    EXPECT_EQ(frames.compare(pos, 6, "data: "), 0) << frames.substr(pos);
    const std::size_t end = frames.find("\n\n", pos);
    EXPECT_NE(end, std::string::npos);
    const std::string data = frames.substr(pos + 6, end - pos - 6);
    out.push_back(data == "[DONE]" ? Json("[DONE]") : Json::parse(data));
    pos = end + 2;
  }
  return out;
}

TEST(ResponseCollector, BuildsAChatCompletionWithChoicesAndUsage) {
  ResponseCollector collector(Options(ApiKind::kChat, 1, 2), *Qwen2().tokenizer);
  EXPECT_FALSE(collector.Add(0, TextEvent(1, "Hi", {17250})));
  EXPECT_FALSE(collector.Add(0, TextEvent(0, "Hel", {1})));
  EXPECT_FALSE(collector.Add(
      0, Finish(TextEvent(0, "lo", {2}), engine::FinishReason::kLength, false, {5, 2, 3})));
  EXPECT_TRUE(collector.Add(
      0, Finish(TextEvent(1, "", {50258}), engine::FinishReason::kStop, true, {5, 2, 4})));
  EXPECT_FALSE(collector.error().has_value());
  const Json body = collector.Build();
  EXPECT_EQ(body.dump(),
            R"({"id":"chatcmpl-abc","object":"chat.completion","created":1700000000,)"
            R"("model":"kiln-demo","choices":[)"
            R"({"index":0,"message":{"role":"assistant","content":"Hello","refusal":null},)"
            R"("logprobs":null,"finish_reason":"length"},)"
            R"({"index":1,"message":{"role":"assistant","content":"Hi","refusal":null},)"
            R"("logprobs":null,"finish_reason":"stop"}],)"
            R"("usage":{"prompt_tokens":5,"completion_tokens":4,"total_tokens":9,)"
            R"("prompt_tokens_details":{"cached_tokens":2}},"system_fingerprint":"fp_kiln"})");
}

TEST(ResponseCollector, CompletionChoicesAcrossPromptsAndSummedUsage) {
  ResponseCollector collector(Options(ApiKind::kCompletion, 2, 1), *Qwen2().tokenizer);
  collector.Add(1,
                Finish(TextEvent(0, " two", {1}), engine::FinishReason::kLength, true, {3, 0, 1}));
  EXPECT_FALSE(collector.done());
  collector.Add(0, Finish(TextEvent(0, " one", {1}), engine::FinishReason::kStop, true, {4, 1, 2}));
  ASSERT_TRUE(collector.done());
  const Json body = collector.Build();
  EXPECT_EQ(body["object"], "text_completion");
  EXPECT_EQ(body["choices"][0]["text"], " one");
  EXPECT_EQ(body["choices"][1]["text"], " two");
  EXPECT_EQ(body["choices"][1]["index"], 1);
  EXPECT_EQ(body["choices"][1]["finish_reason"], "length");
  EXPECT_EQ(body["usage"]["prompt_tokens"], 7);
  EXPECT_EQ(body["usage"]["completion_tokens"], 3);
  EXPECT_EQ(body["usage"]["total_tokens"], 10);
  EXPECT_EQ(body["usage"]["prompt_tokens_details"]["cached_tokens"], 1);
}

TEST(ResponseCollector, ReportsAChoiceError) {
  ResponseCollector collector(Options(ApiKind::kChat), *Qwen2().tokenizer);
  engine::Event e = Finish(TextEvent(0, "", {}), engine::FinishReason::kError, true);
  e.error = "out of KV memory";
  collector.Add(0, e);
  ASSERT_TRUE(collector.error().has_value());
  EXPECT_EQ(*collector.error(), "out of KV memory");
}

engine::TokenLogprobs Lp(std::int32_t token, float logprob, std::vector<engine::TokenLogprob> top) {
  return engine::TokenLogprobs{{token, logprob}, std::move(top)};
}

TEST(ResponseCollector, ChatLogprobsLeaveOutTheStopToken) {
  const auto& tok = *Qwen2().tokenizer;
  ResponseOptions options = Options(ApiKind::kChat);
  options.logprobs = true;
  ResponseCollector collector(options, tok);
  const std::int32_t hello = tok.Encode("Hello", {false, false})[0];
  const std::int32_t eos = *tok.vocab().special.eos;
  engine::Event e = TextEvent(0, "Hello", {hello, eos});
  e.logprobs = {Lp(hello, -0.5f, {{hello, -0.5f}, {11, -1.5f}}), Lp(eos, -0.25f, {{eos, -0.25f}})};
  collector.Add(0, Finish(std::move(e), engine::FinishReason::kStop, true));
  const Json logprobs = collector.Build()["choices"][0]["logprobs"];
  ASSERT_EQ(logprobs["content"].size(), 1u);
  const Json& entry = logprobs["content"][0];
  EXPECT_EQ(entry["token"], "Hello");
  EXPECT_DOUBLE_EQ(entry["logprob"].get<double>(), -0.5);
  EXPECT_EQ(entry["bytes"], Json::parse("[72, 101, 108, 108, 111]"));
  ASSERT_EQ(entry["top_logprobs"].size(), 2u);
  EXPECT_EQ(entry["top_logprobs"][1]["token"], ",");
  EXPECT_TRUE(logprobs["refusal"].is_null());
}

TEST(ResponseCollector, CompletionLogprobsHaveTokensOffsetsAndTopDicts) {
  const auto& tok = *Qwen2().tokenizer;
  ResponseOptions options = Options(ApiKind::kCompletion);
  options.logprobs = true;
  ResponseCollector collector(options, tok);
  const std::vector<std::int32_t> ids = tok.Encode("Hello world", {false, false});
  ASSERT_EQ(ids.size(), 2u);
  engine::Event first = TextEvent(0, "Hello", {ids[0]});
  first.logprobs = {Lp(ids[0], -1.0f, {{ids[0], -1.0f}})};
  collector.Add(0, first);
  engine::Event second = TextEvent(0, " world", {ids[1]});
  second.logprobs = {Lp(ids[1], -std::numeric_limits<float>::infinity(), {})};
  collector.Add(0, Finish(std::move(second), engine::FinishReason::kLength, true));
  const Json logprobs = collector.Build()["choices"][0]["logprobs"];
  EXPECT_EQ(logprobs["tokens"], Json::parse(R"(["Hello", " world"])"));
  EXPECT_EQ(logprobs["token_logprobs"], Json::parse("[-1.0, -9999.0]"));
  EXPECT_EQ(logprobs["top_logprobs"], Json::parse(R"([{"Hello": -1.0}, {}])"));
  EXPECT_EQ(logprobs["text_offset"], Json::parse("[0, 5]"));
}

TEST(StreamEncoder, ChatChunksAsOpenAISendsThem) {
  ResponseOptions options = Options(ApiKind::kChat);
  options.include_usage = true;
  StreamEncoder encoder(options, *Qwen2().tokenizer);
  std::string frames = encoder.Start();
  frames += encoder.Add(0, TextEvent(0, "Hel", {1}));
  frames += encoder.Add(0, TextEvent(0, "", {2}));  // half a character: nothing to send
  frames +=
      encoder.Add(0, Finish(TextEvent(0, "lo", {3}), engine::FinishReason::kStop, true, {6, 0, 3}));
  EXPECT_TRUE(encoder.done());
  const std::string head =
      R"("id":"chatcmpl-abc","object":"chat.completion.chunk","created":1700000000,)"
      R"("model":"kiln-demo","system_fingerprint":"fp_kiln",)";
  EXPECT_EQ(frames,
            "data: {" + head +
                R"("choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},)"
                R"("logprobs":null,"finish_reason":null}],"usage":null})"
                "\n\n"
                "data: {" +
                head +
                R"("choices":[{"index":0,"delta":{"content":"Hel"},"logprobs":null,)"
                R"("finish_reason":null}],"usage":null})"
                "\n\n"
                "data: {" +
                head +
                R"("choices":[{"index":0,"delta":{"content":"lo"},"logprobs":null,)"
                R"("finish_reason":null}],"usage":null})"
                "\n\n"
                "data: {" +
                head +
                R"("choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],)"
                R"("usage":null})"
                "\n\n"
                "data: {" +
                head +
                R"("choices":[],"usage":{"prompt_tokens":6,"completion_tokens":3,)"
                R"("total_tokens":9,"prompt_tokens_details":{"cached_tokens":0}}})"
                "\n\n"
                "data: [DONE]\n\n");
}

TEST(StreamEncoder, WithoutIncludeUsageChunksHaveNoUsageField) {
  StreamEncoder encoder(Options(ApiKind::kChat, 1, 2), *Qwen2().tokenizer);
  std::vector<Json> chunks = Payloads(encoder.Start());
  ASSERT_EQ(chunks.size(), 2u);  // a role chunk per choice
  EXPECT_EQ(chunks[1]["choices"][0]["index"], 1);
  EXPECT_EQ(chunks[1]["choices"][0]["delta"]["role"], "assistant");
  chunks = Payloads(
      encoder.Add(0, Finish(TextEvent(1, "b", {1}), engine::FinishReason::kLength, false)));
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_FALSE(chunks[0].contains("usage"));
  EXPECT_EQ(chunks[1]["choices"][0]["finish_reason"], "length");
  chunks =
      Payloads(encoder.Add(0, Finish(TextEvent(0, "", {}), engine::FinishReason::kStop, true)));
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0]["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(chunks[1], "[DONE]");
}

TEST(StreamEncoder, CompletionChunksWithLogprobs) {
  const auto& tok = *Qwen2().tokenizer;
  ResponseOptions options = Options(ApiKind::kCompletion, 2, 1);
  options.logprobs = true;
  StreamEncoder encoder(options, tok);
  EXPECT_EQ(encoder.Start(), "");
  const std::vector<std::int32_t> ids = tok.Encode("Hello world", {false, false});
  engine::Event a = TextEvent(0, "Hello", {ids[0]});
  a.logprobs = {Lp(ids[0], -1.0f, {})};
  std::vector<Json> chunks = Payloads(encoder.Add(1, a));
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0]["object"], "text_completion");
  EXPECT_EQ(chunks[0]["choices"][0]["text"], "Hello");
  EXPECT_EQ(chunks[0]["choices"][0]["index"], 1);
  EXPECT_EQ(chunks[0]["choices"][0]["logprobs"]["text_offset"], Json::parse("[0]"));
  engine::Event b = TextEvent(0, " world", {ids[1]});
  b.logprobs = {Lp(ids[1], -2.0f, {})};
  chunks = Payloads(encoder.Add(1, Finish(b, engine::FinishReason::kLength, true)));
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0]["choices"][0]["logprobs"]["text_offset"], Json::parse("[5]"));
  EXPECT_EQ(chunks[1]["choices"][0]["text"], "");
  EXPECT_EQ(chunks[1]["choices"][0]["finish_reason"], "length");
  EXPECT_FALSE(encoder.done());
  chunks =
      Payloads(encoder.Add(0, Finish(TextEvent(0, "x", {5}), engine::FinishReason::kStop, true)));
  EXPECT_EQ(chunks.back(), "[DONE]");
  EXPECT_TRUE(encoder.done());
}

TEST(StreamEncoder, AnErrorBecomesAnErrorEvent) {
  StreamEncoder encoder(Options(ApiKind::kChat), *Qwen2().tokenizer);
  engine::Event e = Finish(TextEvent(0, "", {}), engine::FinishReason::kError, true);
  e.error = "boom";
  const std::vector<Json> chunks = Payloads(encoder.Add(0, e));
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0]["error"]["message"], "boom");
  EXPECT_EQ(chunks[0]["error"]["type"], "server_error");
  EXPECT_EQ(chunks[1], "[DONE]");
}

TEST(ResponseJson, EmbeddingsInFloatAndBase64) {
  const std::vector<std::vector<float>> embeddings = {{1.0f, -0.5f}, {0.25f}};
  Json body = EmbeddingResponse("m", embeddings, false, 7);
  EXPECT_EQ(body.dump(),
            R"({"object":"list","data":[{"object":"embedding","index":0,"embedding":[1.0,-0.5]},)"
            R"({"object":"embedding","index":1,"embedding":[0.25]}],"model":"m",)"
            R"("usage":{"prompt_tokens":7,"total_tokens":7}})");
  body = EmbeddingResponse("m", embeddings, true, 7);
  // 1.0f = 00 00 80 3f, -0.5f = 00 00 00 bf
  EXPECT_EQ(body["data"][0]["embedding"], "AACAPwAAAL8=");
  EXPECT_EQ(body["data"][1]["embedding"], "AACAPg==");
  EXPECT_EQ(Base64Floats({}), "");
}

TEST(ResponseJson, ModelsAndIds) {
  EXPECT_EQ(ModelList({ModelObject("kiln-demo", 5)}).dump(),
            R"({"object":"list","data":[{"id":"kiln-demo","object":"model","created":5,)"
            R"("owned_by":"kiln"}]})");
  IdGenerator ids;
  const std::string a = ids.Next("chatcmpl-"), b = ids.Next("chatcmpl-");
  EXPECT_EQ(a.rfind("chatcmpl-", 0), 0u);
  EXPECT_EQ(a.size(), 9u + 24u);
  EXPECT_NE(a, b);
}

TEST(Utf8, ValidationAndReplacement) {
  EXPECT_TRUE(IsValidUtf8("héllo €"));
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));      // overlong
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));  // surrogate
  EXPECT_FALSE(IsValidUtf8("\xe2\x82"));      // truncated
  EXPECT_EQ(ToValidUtf8("a\xe2\x82"), "a\xef\xbf\xbd");
  EXPECT_EQ(ToValidUtf8("\xff\xfe"), "\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(ToValidUtf8("\xe2\x82z"), "\xef\xbf\xbdz");
}

}  // namespace
}  // namespace kiln::server::openai
