// Parsing OpenAI request bodies: every field mapped, and every way a body can be wrong answered
// with a 400 that names the field, as OpenAI's API does.
#include <gtest/gtest.h>

#include "kiln/server/openai/api_error.h"
#include "kiln/server/openai/requests.h"

namespace kiln::server::openai {
namespace {

// Runs `parse` on `body`, expecting an ApiError; returns it.
template <typename Parse>
ApiError ErrorOf(Parse parse, std::string_view body) {
  try {
    parse(body);
  } catch (const ApiError& e) {
    return e;
  }
  ADD_FAILURE() << "no ApiError for " << body;
  return ApiError(0, "");
}

ApiError ChatError(std::string_view body) {
  return ErrorOf(ParseChatCompletionRequest, body);
}
ApiError CompletionError(std::string_view body) {
  return ErrorOf(ParseCompletionRequest, body);
}

constexpr std::string_view kHello = R"("messages": [{"role": "user", "content": "Hello"}])";

std::string Chat(std::string_view extra) {
  return "{\"model\": \"m\", " + std::string(kHello) +
         (extra.empty() ? std::string() : ", " + std::string(extra)) + "}";
}

TEST(ParseChat, MapsEverySamplingField) {
  const ChatCompletionRequest r = ParseChatCompletionRequest(Chat(
      R"("temperature": 0.5, "top_p": 0.9, "n": 3, "stop": ["a", "b"], "max_tokens": 7,
         "presence_penalty": 0.25, "frequency_penalty": -0.5, "logit_bias": {"42": -100, "7": 5},
         "logprobs": true, "top_logprobs": 4, "seed": -1, "user": "u1", "stream": true,
         "stream_options": {"include_usage": true}, "top_k": 40, "min_p": 0.05,
         "repetition_penalty": 1.1, "ignore_eos": true)"));
  EXPECT_EQ(r.model, "m");
  const engine::SamplingParams& p = r.options.params;
  EXPECT_FLOAT_EQ(p.temperature, 0.5f);
  EXPECT_FLOAT_EQ(p.top_p, 0.9f);
  EXPECT_EQ(p.n, 3);
  EXPECT_EQ(p.stop, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(p.max_tokens, 7);
  EXPECT_FLOAT_EQ(p.presence_penalty, 0.25f);
  EXPECT_FLOAT_EQ(p.frequency_penalty, -0.5f);
  EXPECT_EQ(p.logit_bias.size(), 2u);
  EXPECT_FLOAT_EQ(p.logit_bias.at(42), -100.0f);
  EXPECT_FLOAT_EQ(p.logit_bias.at(7), 5.0f);
  EXPECT_TRUE(p.logprobs);
  EXPECT_EQ(p.top_logprobs, 4);
  EXPECT_EQ(p.seed, std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(r.options.user, "u1");
  EXPECT_TRUE(r.options.stream);
  EXPECT_TRUE(r.options.include_usage);
  EXPECT_EQ(p.top_k, 40);
  EXPECT_FLOAT_EQ(p.min_p, 0.05f);
  EXPECT_FLOAT_EQ(p.repetition_penalty, 1.1f);
  EXPECT_TRUE(p.ignore_eos);
}

TEST(ParseChat, DefaultsAreOpenAIs) {
  const ChatCompletionRequest r = ParseChatCompletionRequest(Chat(""));
  EXPECT_FLOAT_EQ(r.options.params.temperature, 1.0f);
  EXPECT_EQ(r.options.params.n, 1);
  EXPECT_FALSE(r.options.params.max_tokens.has_value());
  EXPECT_FALSE(r.options.params.seed.has_value());
  EXPECT_FALSE(r.options.stream);
  EXPECT_TRUE(r.add_generation_prompt);
}

TEST(ParseChat, NullMeansAbsentAndStopMayBeAString) {
  const ChatCompletionRequest r =
      ParseChatCompletionRequest(Chat(R"("temperature": null, "stop": "END", "seed": 5)"));
  EXPECT_FLOAT_EQ(r.options.params.temperature, 1.0f);
  EXPECT_EQ(r.options.params.stop, std::vector<std::string>{"END"});
  EXPECT_EQ(r.options.params.seed, 5u);
}

TEST(ParseChat, MaxCompletionTokensWinsOverMaxTokens) {
  const ChatCompletionRequest r =
      ParseChatCompletionRequest(Chat(R"("max_tokens": 9, "max_completion_tokens": 3)"));
  EXPECT_EQ(r.options.params.max_tokens, 3);
  EXPECT_EQ(r.options.max_tokens_field, "max_completion_tokens");
}

TEST(ParseChat, NormalisesMessages) {
  const ChatCompletionRequest r = ParseChatCompletionRequest(R"({"model": "m", "messages": [
      {"role": "developer", "content": "Be nice."},
      {"role": "user", "content": [{"type": "text", "text": "Hi"}, {"type": "text", "text": "there"}],
       "name": "ann"},
      {"role": "assistant", "content": null},
      {"role": "tool", "content": "42", "tool_call_id": "c1"}]})");
  ASSERT_EQ(r.messages.size(), 4u);
  EXPECT_EQ(r.messages[0]["role"], "system");
  EXPECT_EQ(r.messages[1]["content"], "Hi\nthere");
  EXPECT_EQ(r.messages[1]["name"], "ann");
  EXPECT_EQ(r.messages[2]["content"], "");
  EXPECT_EQ(r.messages[3]["tool_call_id"], "c1");
}

TEST(ParseChat, MalformedJsonIsA400WithoutParam) {
  for (std::string_view body : {R"({"model": "m",)", "", "nul", R"({"a": 1} x)"}) {
    const ApiError e = ChatError(body);
    EXPECT_EQ(e.status(), 400) << body;
    EXPECT_EQ(e.type(), "invalid_request_error");
    EXPECT_EQ(e.param(), "");
    EXPECT_NE(std::string(e.what()).find("parse the JSON body"), std::string::npos) << e.what();
  }
  EXPECT_NE(std::string(ChatError("[1, 2]").what()).find("must be a JSON object"),
            std::string::npos);
}

TEST(ParseChat, InvalidUtf8IsRefusedBeforeParsing) {
  const ApiError e = ChatError("{\"model\": \"m\xff\", " + std::string(kHello) + "}");
  EXPECT_EQ(e.status(), 400);
  EXPECT_EQ(e.code(), "invalid_encoding");
}

TEST(ParseChat, DeepNestingIsRefused) {
  const std::string deep =
      "{\"model\": \"m\", \"x\": " + std::string(100, '[') + std::string(100, ']') + "}";
  EXPECT_EQ(ChatError(deep).status(), 400);
}

TEST(ParseChat, WrongTypesNameTheField) {
  struct Case {
    std::string_view extra, param;
  };
  for (const Case& c :
       {Case{R"("temperature": "hot")", "temperature"}, Case{R"("n": 1.5)", "n"},
        Case{R"("stream": "yes")", "stream"}, Case{R"("stop": 3)", "stop"},
        Case{R"("stop": ["a", 1])", "stop[1]"}, Case{R"("logit_bias": [1])", "logit_bias"},
        Case{R"("logit_bias": {"5": "x"})", "logit_bias.5"},
        Case{R"("max_tokens": "10")", "max_tokens"}, Case{R"("seed": 1.5)", "seed"},
        Case{R"("logprobs": 1)", "logprobs"},
        Case{R"("stream": true, "stream_options": 1)", "stream_options"},
        Case{R"("user": 5)", "user"}}) {
    const ApiError e = ChatError(Chat(c.extra));
    EXPECT_EQ(e.status(), 400) << c.extra;
    EXPECT_EQ(e.param(), c.param) << c.extra;
    EXPECT_EQ(e.code(), "invalid_type") << c.extra;
  }
  const ApiError model = ChatError(R"({"model": 3, "messages": []})");
  EXPECT_EQ(model.param(), "model");
  EXPECT_EQ(std::string(model.what()),
            "Invalid type for 'model': expected a string, but got an integer instead.");
}

TEST(ParseChat, OutOfRangeIntegersNameTheField) {
  for (std::string_view extra :
       {R"("max_tokens": 0)", R"("max_tokens": -5)", R"("max_tokens": 1e12)", R"("n": 0)",
        R"("n": 1000)", R"("top_logprobs": 21)"}) {
    const ApiError e = ChatError(Chat(extra));
    EXPECT_EQ(e.status(), 400) << extra;
    EXPECT_EQ(e.code(), "invalid_value") << extra;
    EXPECT_NE(std::string(extra).find(e.param()), std::string::npos) << e.param();
  }
}

TEST(ParseChat, MissingOrEmptyMessages) {
  ApiError e = ChatError(R"({"model": "m"})");
  EXPECT_EQ(e.param(), "messages");
  EXPECT_EQ(e.code(), "missing_required_parameter");
  e = ChatError(R"({"model": "m", "messages": []})");
  EXPECT_EQ(e.param(), "messages");
  EXPECT_EQ(e.code(), "empty_array");
  e = ChatError(R"({"messages": [{"role": "user", "content": "x"}]})");
  EXPECT_EQ(e.param(), "model");
}

TEST(ParseChat, BadMessages) {
  ApiError e = ChatError(R"({"model": "m", "messages": [{"role": "user", "content": "a"},
                                                        {"role": "wizard", "content": "b"}]})");
  EXPECT_EQ(e.param(), "messages[1].role");
  EXPECT_EQ(e.code(), "invalid_value");
  EXPECT_NE(std::string(e.what()).find("'wizard'"), std::string::npos);
  e = ChatError(R"({"model": "m", "messages": [{"content": "b"}]})");
  EXPECT_EQ(e.param(), "messages[0].role");
  e = ChatError(R"({"model": "m", "messages": [{"role": "user"}]})");
  EXPECT_EQ(e.param(), "messages[0].content");
  e = ChatError(R"({"model": "m", "messages": ["hi"]})");
  EXPECT_EQ(e.param(), "messages[0]");
  e = ChatError(R"({"model": "m", "messages": [{"role": "user", "content": 5}]})");
  EXPECT_EQ(e.param(), "messages[0].content");
  e = ChatError(R"({"model": "m", "messages": [{"role": "user", "content":
                  [{"type": "image_url", "image_url": {"url": "x"}}]}]})");
  EXPECT_EQ(e.param(), "messages[0].content[0].type");
  EXPECT_EQ(e.code(), "unsupported_parameter");
}

TEST(ParseChat, UnsupportedFeaturesAreRefusedByName) {
  for (std::string_view field :
       {R"("tools": [{"type": "function", "function": {"name": "f"}}])", R"("tool_choice": "auto")",
        R"("functions": [{"name": "f"}])",
        R"("response_format": {"type": "json_schema", "json_schema": {"name": "x"}})",
        R"("response_format": {"type": "json_object"})", R"("audio": {"voice": "alloy"})",
        R"("modalities": ["text", "audio"])"}) {
    const ApiError e = ChatError(Chat(field));
    EXPECT_EQ(e.status(), 400) << field;
    EXPECT_EQ(e.code(), "unsupported_parameter") << field;
    const std::string name = std::string(field).substr(1, std::string(field).find('"', 1) - 1);
    EXPECT_EQ(e.param(), name);
    EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
  }
  // What amounts to "no tools" and plain text output is accepted.
  EXPECT_NO_THROW(ParseChatCompletionRequest(
      Chat(R"("tools": [], "tool_choice": "none", "response_format": {"type": "text"})")));
}

TEST(ParseChat, StreamOptionsNeedStream) {
  const ApiError e = ChatError(Chat(R"("stream_options": {"include_usage": true})"));
  EXPECT_EQ(e.param(), "stream_options");
}

TEST(ParseChat, LogitBiasKeysMustBeTokenIds) {
  const ApiError e = ChatError(Chat(R"("logit_bias": {"hello": 1})"));
  EXPECT_EQ(e.param(), "logit_bias");
  EXPECT_EQ(ChatError(Chat(R"("logit_bias": {"-3": 1})")).param(), "logit_bias");
}

TEST(ParseCompletion, AcceptsEveryPromptShape) {
  CompletionRequest r = ParseCompletionRequest(R"({"model": "m", "prompt": "Once"})");
  ASSERT_EQ(r.prompts.size(), 1u);
  EXPECT_EQ(r.prompts[0].text, "Once");
  r = ParseCompletionRequest(R"({"model": "m", "prompt": ["a", "b"]})");
  ASSERT_EQ(r.prompts.size(), 2u);
  EXPECT_EQ(r.prompts[1].text, "b");
  r = ParseCompletionRequest(R"({"model": "m", "prompt": [1, 2, 3]})");
  ASSERT_EQ(r.prompts.size(), 1u);
  EXPECT_FALSE(r.prompts[0].text.has_value());
  EXPECT_EQ(r.prompts[0].tokens, (std::vector<std::int32_t>{1, 2, 3}));
  r = ParseCompletionRequest(R"({"model": "m", "prompt": [[1, 2], [3]]})");
  ASSERT_EQ(r.prompts.size(), 2u);
  EXPECT_EQ(r.prompts[1].tokens, std::vector<std::int32_t>{3});
}

TEST(ParseCompletion, LogprobsIsACount) {
  const CompletionRequest r =
      ParseCompletionRequest(R"({"model": "m", "prompt": "x", "logprobs": 3})");
  EXPECT_TRUE(r.options.params.logprobs);
  EXPECT_EQ(r.options.params.top_logprobs, 3);
  EXPECT_EQ(CompletionError(R"({"model": "m", "prompt": "x", "logprobs": true})").param(),
            "logprobs");
}

TEST(ParseCompletion, BadPrompts) {
  EXPECT_EQ(CompletionError(R"({"model": "m"})").param(), "prompt");
  EXPECT_EQ(CompletionError(R"({"model": "m", "prompt": []})").code(), "empty_array");
  EXPECT_EQ(CompletionError(R"({"model": "m", "prompt": [1, -2]})").param(), "prompt[1]");
  EXPECT_EQ(CompletionError(R"({"model": "m", "prompt": [1, "a"]})").param(), "prompt[1]");
  EXPECT_EQ(CompletionError(R"({"model": "m", "prompt": ["a", 5]})").param(), "prompt[1]");
  EXPECT_EQ(CompletionError(R"({"model": "m", "prompt": [[1], []]})").param(), "prompt[1]");
  EXPECT_EQ(CompletionError(R"({"model": "m", "prompt": {"a": 1}})").code(), "invalid_type");
  EXPECT_EQ(CompletionError(R"({"model": "m", "prompt": "x", "echo": true})").code(),
            "unsupported_parameter");
  EXPECT_EQ(CompletionError(R"({"model": "m", "prompt": "x", "suffix": "y"})").param(), "suffix");
  EXPECT_EQ(CompletionError(R"({"model": "m", "prompt": "x", "best_of": 3})").param(), "best_of");
}

TEST(ParseEmbedding, InputsAndEncodings) {
  EmbeddingRequest r =
      ParseEmbeddingRequest(R"({"model": "m", "input": ["a", "b"], "encoding_format": "base64"})");
  EXPECT_EQ(r.inputs.size(), 2u);
  EXPECT_TRUE(r.base64);
  r = ParseEmbeddingRequest(R"({"model": "m", "input": [5, 6]})");
  EXPECT_EQ(r.inputs[0].tokens, (std::vector<std::int32_t>{5, 6}));
  EXPECT_FALSE(r.base64);
  EXPECT_EQ(
      ErrorOf(ParseEmbeddingRequest, R"({"model": "m", "input": "a", "dimensions": 8})").code(),
      "unsupported_parameter");
  EXPECT_EQ(
      ErrorOf(ParseEmbeddingRequest, R"({"model": "m", "input": "a", "encoding_format": "int8"})")
          .param(),
      "encoding_format");
  EXPECT_EQ(ErrorOf(ParseEmbeddingRequest, R"({"model": "m"})").param(), "input");
}

TEST(ParseUtilityEndpoints, TokenizeDetokenizeApplyTemplate) {
  TokenizeRequest t = ParseTokenizeRequest(R"({"prompt": "hi", "add_special_tokens": false})");
  EXPECT_EQ(t.prompt, "hi");
  EXPECT_FALSE(t.add_special);
  EXPECT_TRUE(t.model.empty());
  t = ParseTokenizeRequest(R"({"model": "m", "messages": [{"role": "user", "content": "x"}]})");
  EXPECT_FALSE(t.prompt.has_value());
  EXPECT_EQ(t.messages.size(), 1u);
  EXPECT_EQ(ErrorOf(ParseTokenizeRequest, R"({})").param(), "prompt");
  const DetokenizeRequest d = ParseDetokenizeRequest(R"({"tokens": [1, 2]})");
  EXPECT_EQ(d.tokens, (std::vector<std::int32_t>{1, 2}));
  EXPECT_EQ(ErrorOf(ParseDetokenizeRequest, R"({"tokens": "12"})").code(), "invalid_type");
  const ApplyTemplateRequest a = ParseApplyTemplateRequest(
      R"({"messages": [{"role": "user", "content": "x"}], "add_generation_prompt": false,
          "tools": [{"type": "function"}]})");
  EXPECT_FALSE(a.add_generation_prompt);
  EXPECT_EQ(a.tools.size(), 1u);
}

TEST(ApiErrorJson, HasOpenAIsShape) {
  const Json json = ModelNotFound("gpt-9").ToJson();
  EXPECT_EQ(json.dump(),
            R"({"error":{"message":"The model `gpt-9` does not exist or you do not have access )"
            R"(to it.","type":"invalid_request_error","param":"model","code":"model_not_found"}})");
  EXPECT_EQ(ModelNotFound("x").status(), 404);
  EXPECT_EQ(ApiError(500, "boom").ToJson().dump(),
            R"({"error":{"message":"boom","type":"server_error","param":null,"code":null}})");
}

}  // namespace
}  // namespace kiln::server::openai
