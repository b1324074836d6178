// Request preparation on the fixture models' real tokenizers and templates: the prompt tokens a
// chat or completion request becomes, and the errors that depend on the model.
#include "kiln/server/openai/request_preparation.h"

#include <gtest/gtest.h>

#include "kiln/server/openai/api_error.h"
#include "server/openai/test_models.h"

namespace kiln::server::openai {
namespace {

using testing::Llama;
using testing::Qwen2;

template <typename Fn>
ApiError ErrorOf(Fn fn) {
  try {
    fn();
  } catch (const ApiError& e) {
    return e;
  }
  ADD_FAILURE() << "no ApiError";
  return ApiError(0, "");
}

TEST(PrepareChat, RendersTheTemplateAndTokenizesWithControlTokens) {
  const auto& model = Qwen2();
  const ChatCompletionRequest request = ParseChatCompletionRequest(
      R"({"model": "m", "messages": [{"role": "user", "content": "Hello!"}], "n": 2,
          "max_tokens": 5, "temperature": 0})");
  const PreparedGeneration prepared = PrepareChatCompletion(request, model.context);
  ASSERT_EQ(prepared.requests.size(), 1u);
  EXPECT_EQ(prepared.choices_per_request, 2);
  EXPECT_EQ(prepared.total_choices(), 2);
  const std::string expected =
      "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful "
      "assistant.<|im_end|>\n<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n";
  tokenizer::EncodeOptions encode;
  encode.add_special = false;
  encode.parse_special = true;
  EXPECT_EQ(prepared.requests[0].prompt, model.tokenizer->Encode(expected, encode));
  const auto im_start = model.tokenizer->vocab().Find("<|im_start|>");
  ASSERT_TRUE(im_start.has_value());
  EXPECT_EQ(prepared.requests[0].prompt.front(), *im_start);
  EXPECT_EQ(prepared.requests[0].params.n, 2);
  EXPECT_EQ(prepared.requests[0].params.max_tokens, 5);
  EXPECT_EQ(prepared.requests[0].task, engine::Task::kGenerate);
}

TEST(PrepareChat, AddsBosOnceWhenTheVocabularyAsksForIt) {
  // Phi-3's template writes <s> itself; the vocabulary also asks for BOS: exactly one.
  const auto& model = Llama();
  const std::vector<std::int32_t> ids =
      TokenizeChatPrompt("<s><|user|>\nHi<|end|>\n<|assistant|>\n", model.context);
  ASSERT_GE(ids.size(), 2u);
  EXPECT_EQ(ids[0], 1);
  EXPECT_NE(ids[1], 1);
  const std::vector<std::int32_t> without = TokenizeChatPrompt("<|user|>\nHi", model.context);
  EXPECT_EQ(without[0], 1);
  EXPECT_NE(without[1], 1);
}

TEST(PrepareChat, TemplateRefusalIsA400OnMessages) {
  // Gemma-style templates raise on roles that do not alternate; ours via a custom template.
  const auto& base = Qwen2();
  const ChatTemplate strict(
      "{% if messages[0].role == 'assistant' %}{{ raise_exception('Conversation must start "
      "with a user message') }}{% endif %}x",
      "", "");
  const ModelContext context{*base.tokenizer, strict, 4096,
                             static_cast<int>(base.tokenizer->vocab().size())};
  const ApiError e = ErrorOf([&] {
    PrepareChatCompletion(ParseChatCompletionRequest(
                              R"({"model": "m", "messages": [{"role": "assistant",
                                  "content": "hi"}]})"),
                          context);
  });
  EXPECT_EQ(e.status(), 400);
  EXPECT_EQ(e.param(), "messages");
  EXPECT_NE(std::string(e.what()).find("must start with a user message"), std::string::npos);
}

TEST(PrepareChat, PromptLongerThanTheContext) {
  const auto& base = Qwen2();
  const ModelContext small{*base.tokenizer, base.chat_template, 32,
                           static_cast<int>(base.tokenizer->vocab().size())};
  const std::string long_text(400, 'a');
  ApiError e = ErrorOf([&] {
    PrepareChatCompletion(
        ParseChatCompletionRequest(R"({"model": "m", "messages": [{"role": "user", "content": ")" +
                                   long_text + "\"}]}"),
        small);
  });
  EXPECT_EQ(e.code(), "context_length_exceeded");
  EXPECT_EQ(e.param(), "messages");
  EXPECT_NE(std::string(e.what()).find("maximum context length is 32 tokens"), std::string::npos);

  // Fits alone, but not with max_tokens: the error names the field the client used.
  e = ErrorOf([&] {
    PrepareCompletion(
        ParseCompletionRequest(R"({"model": "m", "prompt": "hi", "max_completion_tokens": 40})"),
        small);
  });
  EXPECT_EQ(e.code(), "context_length_exceeded");
  EXPECT_EQ(e.param(), "max_completion_tokens");
}

TEST(PrepareChat, SamplingRangesAreCheckedWithTheParameterNamed) {
  const auto& model = Qwen2();
  struct Case {
    std::string_view extra, param;
  };
  for (const Case& c :
       {Case{R"("temperature": 2.5)", "temperature"}, Case{R"("top_p": 0)", "top_p"},
        Case{R"("top_p": 1e300)", "top_p"}, Case{R"("presence_penalty": 3)", "presence_penalty"},
        Case{R"("logit_bias": {"999999": 1})", "logit_bias"},
        Case{R"("logit_bias": {"5": 101})", "logit_bias"},
        Case{R"("top_logprobs": 3)", "top_logprobs"}, Case{R"("stop": [""])", "stop"},
        Case{R"("min_p": -1)", "min_p"},
        Case{R"("repetition_penalty": 0)", "repetition_penalty"}}) {
    const std::string body = R"({"model": "m", "messages": [{"role": "user", "content": "x"}], )" +
                             std::string(c.extra) + "}";
    const ApiError e =
        ErrorOf([&] { PrepareChatCompletion(ParseChatCompletionRequest(body), model.context); });
    EXPECT_EQ(e.status(), 400) << c.extra;
    EXPECT_EQ(e.param(), c.param) << c.extra << ": " << e.what();
  }
}

TEST(PrepareCompletion, OneEngineRequestPerPrompt) {
  const auto& model = Qwen2();
  const PreparedGeneration prepared = PrepareCompletion(
      ParseCompletionRequest(R"({"model": "m", "prompt": ["Once upon", [15496, 11]], "n": 3})"),
      model.context);
  ASSERT_EQ(prepared.requests.size(), 2u);
  EXPECT_EQ(prepared.total_choices(), 6);
  EXPECT_EQ(prepared.requests[0].prompt, model.tokenizer->Encode("Once upon"));
  EXPECT_EQ(prepared.requests[1].prompt, (std::vector<std::int32_t>{15496, 11}));
}

TEST(PrepareCompletion, ParsesControlTokensInPromptText) {
  const auto& model = Qwen2();
  const PreparedGeneration prepared = PrepareCompletion(
      ParseCompletionRequest(R"({"model": "m", "prompt": "<|im_start|>user"})"), model.context);
  EXPECT_EQ(prepared.requests[0].prompt.front(), *model.tokenizer->vocab().Find("<|im_start|>"));
}

TEST(PrepareCompletion, TokenIdsOutsideTheVocabulary) {
  const auto& model = Qwen2();
  const ApiError e = ErrorOf([&] {
    PrepareCompletion(ParseCompletionRequest(R"({"model": "m", "prompt": [1, 9999999]})"),
                      model.context);
  });
  EXPECT_EQ(e.param(), "prompt");
  EXPECT_EQ(e.code(), "invalid_value");
}

TEST(PrepareCompletion, TooManyChoices) {
  const auto& model = Qwen2();
  std::string prompts = "[";
  for (int i = 0; i < 10; ++i) prompts += std::string(i ? "," : "") + "\"a\"";
  prompts += "]";
  const ApiError e = ErrorOf([&] {
    PrepareCompletion(
        ParseCompletionRequest(R"({"model": "m", "n": 100, "prompt": )" + prompts + "}"),
        model.context);
  });
  EXPECT_EQ(e.param(), "n");
}

TEST(PrepareEmbedding, OneEmbedRequestPerInput) {
  const auto& model = Qwen2();
  const std::vector<engine::Request> requests = PrepareEmbedding(
      ParseEmbeddingRequest(R"({"model": "m", "input": ["hello", "world"]})"), model.context);
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].task, engine::Task::kEmbed);
  EXPECT_EQ(requests[1].prompt, model.tokenizer->Encode("world"));
}

TEST(UtilityEndpoints, TokenizeDetokenizeAndApplyTemplate) {
  const auto& model = Llama();
  const std::vector<std::int32_t> ids =
      Tokenize(ParseTokenizeRequest(R"({"prompt": "Hello world"})"), model.context);
  EXPECT_EQ(ids, model.tokenizer->Encode("Hello world"));
  EXPECT_EQ(ids.front(), 1);  // BOS
  const std::vector<std::int32_t> plain =
      Tokenize(ParseTokenizeRequest(R"({"prompt": "Hello world", "add_special_tokens": false})"),
               model.context);
  EXPECT_EQ(plain.size() + 1, ids.size());
  EXPECT_EQ(Detokenize(DetokenizeRequest{"", plain}, model.context), "Hello world");
  EXPECT_EQ(ErrorOf([&] {
              Detokenize(DetokenizeRequest{"", {-1}}, model.context);
            }).param(),
            "tokens");
  EXPECT_EQ(ApplyTemplate(
                ParseApplyTemplateRequest(R"({"messages": [{"role": "user", "content": "Hi"}]})"),
                model.context),
            "<s><|user|>\nHi<|end|>\n<|assistant|>\n");
  const std::vector<std::int32_t> chat = Tokenize(
      ParseTokenizeRequest(R"({"messages": [{"role": "user", "content": "Hi"}]})"), model.context);
  EXPECT_EQ(chat, TokenizeChatPrompt("<s><|user|>\nHi<|end|>\n<|assistant|>\n", model.context));
}

}  // namespace
}  // namespace kiln::server::openai
