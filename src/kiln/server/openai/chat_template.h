// ChatTemplate: a served model's chat template, compiled once from its tokenizer.chat_template
// (or ChatML for a model that has none), and rendered into the prompt text of each chat request
// with the context Hugging Face transformers gives templates: messages, add_generation_prompt,
// bos_token/eos_token from the vocabulary, tools when given, and any extra template variables.
#pragma once

#include <string>
#include <string_view>

#include "kiln/server/openai/json_fields.h"
#include "kiln/template/template.h"

namespace kiln::tokenizer {
struct Vocab;
}

namespace kiln::server::openai {

// The template models without their own get (ChatML, as used by Qwen and kiln-demo).
extern const std::string_view kChatMlTemplate;

struct ChatTemplateInput {
  Json messages = Json::array();  // [{role, content, ...}], as the template expects them
  bool add_generation_prompt = true;
  Json tools;  // null: no tools variable
  // Extra variables (chat_template_kwargs, e.g. enable_thinking); an object or null. They never
  // replace messages, tools, add_generation_prompt or the special tokens.
  Json extra;
};

class ChatTemplate {
 public:
  // Compiles `source`; kiln::jinja::TemplateError (kSyntax) when it does not compile.
  ChatTemplate(std::string_view source, std::string bos_token, std::string eos_token);

  // The vocabulary's template with its BOS/EOS token texts. A vocabulary without a template, or
  // with one that does not compile, gets ChatML and a logged warning naming `model_name`.
  static ChatTemplate ForVocab(const tokenizer::Vocab& vocab, std::string_view model_name);

  // Renders a conversation. Throws jinja::TemplateError (kRaised: the template refused the
  // conversation, e.g. roles that do not alternate).
  std::string Render(const ChatTemplateInput& input,
                     const jinja::RenderOptions& options = {}) const;

  // Renders with a whole context object as given (for `kiln template render MODEL`), adding
  // bos_token and eos_token where the context lacks them.
  std::string RenderContext(Json context, const jinja::RenderOptions& options = {}) const;

  bool is_fallback() const { return fallback_; }
  const std::string& bos_token() const { return bos_token_; }
  const std::string& eos_token() const { return eos_token_; }

 private:
  ChatTemplate(jinja::Template compiled, std::string bos, std::string eos, bool fallback);

  jinja::Template template_;
  std::string bos_token_;
  std::string eos_token_;
  bool fallback_ = false;
};

}  // namespace kiln::server::openai
