// ChatTemplate against real templates: the Python Jinja2 renders in the shared fixtures, and the
// templates embedded in the fixture models (with their own BOS/EOS tokens).
#include "kiln/server/openai/chat_template.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "kiln/template/template_error.h"
#include "kiln/tokenizer/vocab.h"
#include "server/openai/test_models.h"

namespace kiln::server::openai {
namespace {

using testing::FixedDate;
using testing::FixturePath;

Json ReadJson(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return Json::parse(text.str());
}

// The renders.json context split the way the server builds it.
ChatTemplateInput InputOf(const Json& context) {
  ChatTemplateInput input;
  input.messages = context["messages"];
  input.add_generation_prompt = context.value("add_generation_prompt", false);
  if (context.contains("tools")) input.tools = context["tools"];
  input.extra = Json::object();
  for (const auto& [key, value] : context.items()) {
    if (key != "messages" && key != "add_generation_prompt" && key != "tools" &&
        key != "bos_token" && key != "eos_token") {
      input.extra[key] = value;
    }
  }
  return input;
}

const Json* FindRender(const Json& fixtures, const std::string& name,
                       const std::string& conversation) {
  for (const Json& fixture : fixtures) {
    if (fixture["template"] != name) continue;
    for (const Json& render : fixture["renders"]) {
      if (render["conversation"] == conversation) return &render;
    }
  }
  return nullptr;
}

TEST(ChatTemplate, MatchesPythonRendersOfTheFixtureTemplates) {
  const Json fixtures = ReadJson(FixturePath("templates/renders.json"));
  int outputs = 0, errors = 0;
  for (const Json& fixture : fixtures) {
    for (const Json& render : fixture["renders"]) {
      const Json& context = render["context"];
      const ChatTemplate chat(fixture["source"].get<std::string>(),
                              context["bos_token"].get<std::string>(),
                              context["eos_token"].get<std::string>());
      const std::string where = fixture["template"].get<std::string>() + " / " +
                                render["conversation"].get<std::string>();
      if (render.contains("error")) {
        EXPECT_THROW(chat.Render(InputOf(context), FixedDate()), jinja::TemplateError) << where;
        ++errors;
      } else {
        EXPECT_EQ(chat.Render(InputOf(context), FixedDate()), render["output"].get<std::string>())
            << where;
        ++outputs;
      }
    }
  }
  EXPECT_EQ(outputs, 37);
  EXPECT_EQ(errors, 3);
}

TEST(ChatTemplate, UsesTheTemplateEmbeddedInAModel) {
  const Json fixtures = ReadJson(FixturePath("templates/renders.json"));
  const auto& model = testing::Qwen2();
  EXPECT_FALSE(model.chat_template.is_fallback());
  EXPECT_EQ(model.chat_template.bos_token(), "<|endoftext|>");
  for (const char* conversation :
       {"single-user", "system-multiturn", "special-chars", "tools", "no-generation-prompt"}) {
    const Json* render = FindRender(fixtures, "Qwen-Qwen2.5-7B-Instruct.jinja", conversation);
    ASSERT_NE(render, nullptr) << conversation;
    if (render->contains("error")) continue;
    EXPECT_EQ(model.chat_template.Render(InputOf((*render)["context"]), FixedDate()),
              (*render)["output"].get<std::string>())
        << conversation;
  }
}

TEST(ChatTemplate, GivesTemplatesTheVocabularysSpecialTokens) {
  // Phi-3's template starts with {{ bos_token }}.
  const auto& model = testing::Llama();
  EXPECT_EQ(model.chat_template.bos_token(), "<s>");
  ChatTemplateInput input;
  input.messages = Json::parse(R"([{"role": "user", "content": "Hi"}])");
  EXPECT_EQ(model.chat_template.Render(input), "<s><|user|>\nHi<|end|>\n<|assistant|>\n");
}

TEST(ChatTemplate, FallsBackToChatMlForAModelWithoutATemplate) {
  const auto vocab =
      tokenizer::Vocab::FromGguf(gguf::GgufFile::Open(FixturePath("models/check-llama-q4_1.gguf")));
  ASSERT_FALSE(vocab.chat_template.has_value());
  const ChatTemplate chat = ChatTemplate::ForVocab(vocab, "check-llama");
  EXPECT_TRUE(chat.is_fallback());
  ChatTemplateInput input;
  input.messages = Json::parse(
      R"([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}])");
  EXPECT_EQ(chat.Render(input),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n"
            "<|im_start|>assistant\n");
  input.add_generation_prompt = false;
  EXPECT_EQ(chat.Render(input),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n");
}

TEST(ChatTemplate, FallsBackToChatMlWhenTheTemplateDoesNotCompile) {
  auto vocab =
      tokenizer::Vocab::FromGguf(gguf::GgufFile::Open(FixturePath("models/check-llama-q4_1.gguf")));
  vocab.chat_template = "{% for m in messages %}{{ m.content }";
  EXPECT_TRUE(ChatTemplate::ForVocab(vocab, "broken").is_fallback());
}

TEST(ChatTemplate, PassesExtraVariablesButNeverLetsThemReplaceTheConversation) {
  std::ifstream in(FixturePath("templates/Qwen-Qwen3-0.6B.jinja"));
  std::ostringstream source;
  source << in.rdbuf();
  const ChatTemplate chat(source.str(), "", "<|im_end|>");
  ChatTemplateInput input;
  input.messages = Json::parse(R"([{"role": "user", "content": "Hi"}])");
  input.extra = Json::parse(R"({"enable_thinking": false, "messages": []})");
  EXPECT_EQ(chat.Render(input),
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
  input.extra = Json();
  EXPECT_EQ(chat.Render(input), "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
}

TEST(ChatTemplate, RaisesTheTemplatesOwnComplaints) {
  const ChatTemplate chat("{{ raise_exception('roles must alternate') }}", "", "");
  try {
    chat.Render(ChatTemplateInput{});
    FAIL() << "expected a TemplateError";
  } catch (const jinja::TemplateError& e) {
    EXPECT_EQ(e.kind(), jinja::TemplateError::Kind::kRaised);
    EXPECT_EQ(e.detail(), "roles must alternate");
  }
}

TEST(ChatTemplate, RenderContextFillsInTheSpecialTokensOnlyWhenMissing) {
  const ChatTemplate chat("[{{ bos_token }}|{{ eos_token }}|{{ x }}]", "<s>", "</s>");
  EXPECT_EQ(chat.RenderContext(Json::parse(R"({"x": 1})")), "[<s>|</s>|1]");
  EXPECT_EQ(chat.RenderContext(Json::parse(R"({"x": 1, "bos_token": "B"})")), "[B|</s>|1]");
}

}  // namespace
}  // namespace kiln::server::openai
