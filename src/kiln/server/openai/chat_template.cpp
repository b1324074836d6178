#include "kiln/server/openai/chat_template.h"

#include <optional>

#include "kiln/base/log.h"
#include "kiln/tokenizer/vocab.h"

namespace kiln::server::openai {

const std::string_view kChatMlTemplate =
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

namespace {

std::string TokenText(const tokenizer::Vocab& vocab, std::optional<tokenizer::TokenId> id) {
  if (!id || !vocab.IsValid(*id)) return {};
  return vocab.pieces[static_cast<std::size_t>(*id)];
}

}  // namespace

ChatTemplate::ChatTemplate(std::string_view source, std::string bos_token, std::string eos_token)
    : template_(jinja::Template::Compile(source)),
      bos_token_(std::move(bos_token)),
      eos_token_(std::move(eos_token)) {}

ChatTemplate::ChatTemplate(jinja::Template compiled, std::string bos, std::string eos,
                           bool fallback)
    : template_(std::move(compiled)),
      bos_token_(std::move(bos)),
      eos_token_(std::move(eos)),
      fallback_(fallback) {}

ChatTemplate ChatTemplate::ForVocab(const tokenizer::Vocab& vocab, std::string_view model_name) {
  std::string bos = TokenText(vocab, vocab.special.bos);
  std::string eos = TokenText(vocab, vocab.special.eos);
  if (vocab.chat_template && !vocab.chat_template->empty()) {
    try {
      return ChatTemplate(jinja::Template::Compile(*vocab.chat_template), std::move(bos),
                          std::move(eos), false);
    } catch (const jinja::TemplateError& e) {
      log::Warn("the model's chat template does not compile; using ChatML instead",
                {{"model", model_name}, {"error", e.what()}});
    }
  } else {
    log::Warn("the model has no chat template (tokenizer.chat_template); using ChatML",
              {{"model", model_name}});
  }
  return ChatTemplate(jinja::Template::Compile(kChatMlTemplate), std::move(bos), std::move(eos),
                      true);
}

std::string ChatTemplate::Render(const ChatTemplateInput& input,
                                 const jinja::RenderOptions& options) const {
  Json context = Json::object();
  if (input.extra.is_object()) {
    for (const auto& [key, value] : input.extra.items()) context[key] = value;
  }
  context["messages"] = input.messages;
  context["add_generation_prompt"] = input.add_generation_prompt;
  if (!input.tools.is_null()) {
    context["tools"] = input.tools;
  } else {
    context.erase("tools");
  }
  context["bos_token"] = bos_token_;
  context["eos_token"] = eos_token_;
  return template_.Render(context, options);
}

std::string ChatTemplate::RenderContext(Json context, const jinja::RenderOptions& options) const {
  if (!context.is_object()) context = Json::object();
  if (!context.contains("bos_token")) context["bos_token"] = bos_token_;
  if (!context.contains("eos_token")) context["eos_token"] = eos_token_;
  return template_.Render(context, options);
}

}  // namespace kiln::server::openai
