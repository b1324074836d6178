#include "kiln/server/openai/request_preparation.h"

#include <fmt/format.h>

#include "kiln/base/error.h"
#include "kiln/server/openai/api_error.h"
#include "kiln/template/template_error.h"
#include "kiln/tokenizer/tokenizer.h"

namespace kiln::server::openai {
namespace {

// SamplingParams::Validate names the parameter as "Invalid 'name': ..."; the API error carries
// it as `param`.
std::string ParamOf(const std::string& message) {
  const std::string prefix = "Invalid '";
  if (message.rfind(prefix, 0) != 0) return {};
  const std::size_t end = message.find('\'', prefix.size());
  return end == std::string::npos ? std::string()
                                  : message.substr(prefix.size(), end - prefix.size());
}

void ValidateParams(const GenerationOptions& options, const ModelContext& model,
                    bool completions_logprobs) {
  try {
    options.params.Validate(model.vocab_size);
  } catch (const Error& e) {
    std::string param = ParamOf(e.what());
    if (param == "top_logprobs" && completions_logprobs) param = "logprobs";
    if (param == "max_tokens") param = options.max_tokens_field;
    throw InvalidRequest(e.what(), param, "invalid_value");
  }
}

void CheckTokenIds(const std::vector<std::int32_t>& ids, const ModelContext& model,
                   std::string_view field) {
  for (std::int32_t id : ids) {
    if (id < 0 || id >= model.vocab_size) {
      throw InvalidRequest(fmt::format("Invalid '{}': token id {} is outside the vocabulary "
                                       "(0..{}).",
                                       field, id, model.vocab_size - 1),
                           std::string(field), "invalid_value");
    }
  }
}

// The prompt must leave room for at least one generated token, and for max_tokens when given.
void CheckLength(std::size_t prompt_tokens, const GenerationOptions& options,
                 const ModelContext& model, std::string_view prompt_field) {
  if (prompt_tokens == 0) {
    throw InvalidRequest(fmt::format("Invalid '{}': the prompt is empty (0 tokens).", prompt_field),
                         std::string(prompt_field), "invalid_value");
  }
  const auto context = static_cast<std::size_t>(model.context_size);
  if (prompt_tokens >= context) {
    throw InvalidRequest(
        fmt::format("This model's maximum context length is {} tokens. However, your {} resulted "
                    "in {} tokens. Please reduce the length of the {}.",
                    context, prompt_field, prompt_tokens, prompt_field),
        std::string(prompt_field), "context_length_exceeded");
  }
  if (const auto& max_tokens = options.params.max_tokens;
      max_tokens && prompt_tokens + static_cast<std::size_t>(*max_tokens) > context) {
    throw InvalidRequest(
        fmt::format("This model's maximum context length is {} tokens. However, you requested {} "
                    "tokens ({} in the {}, {} in the completion). Please reduce the length of the "
                    "{} or '{}'.",
                    context, prompt_tokens + static_cast<std::size_t>(*max_tokens), prompt_tokens,
                    prompt_field, *max_tokens, prompt_field, options.max_tokens_field),
        options.max_tokens_field, "context_length_exceeded");
  }
}

void CheckChoiceCount(std::size_t prompts, int n) {
  if (prompts * static_cast<std::size_t>(n) > static_cast<std::size_t>(kMaxChoicesPerRequest)) {
    throw InvalidRequest(fmt::format("Too many choices: {} prompts x n={} exceeds {} per request.",
                                     prompts, n, kMaxChoicesPerRequest),
                         "n", "invalid_value");
  }
}

engine::Request MakeRequest(std::vector<std::int32_t> prompt, const GenerationOptions& options) {
  engine::Request request;
  request.prompt = std::move(prompt);
  request.params = options.params;
  return request;
}

std::vector<std::int32_t> TokenizeText(const std::string& text, const ModelContext& model,
                                       bool add_special) {
  tokenizer::EncodeOptions encode;
  encode.add_special = add_special;
  encode.parse_special = true;
  return model.tokenizer.Encode(text, encode);
}

}  // namespace

std::string RenderChatPrompt(const ChatTemplate& chat_template, const Json& messages,
                             bool add_generation_prompt, const Json& tools,
                             const Json& template_kwargs) {
  ChatTemplateInput input;
  input.messages = messages;
  input.add_generation_prompt = add_generation_prompt;
  input.tools = tools;
  input.extra = template_kwargs;
  try {
    return chat_template.Render(input);
  } catch (const jinja::TemplateError& e) {
    if (e.kind() == jinja::TemplateError::Kind::kRaised) {
      throw InvalidRequest(
          fmt::format("The model's chat template rejected the conversation: {}", e.detail()),
          "messages", "invalid_value");
    }
    throw InvalidRequest(
        fmt::format("The model's chat template failed on this conversation: {}", e.what()),
        "messages", "invalid_value");
  }
}

std::vector<std::int32_t> TokenizeChatPrompt(const std::string& prompt, const ModelContext& model) {
  std::vector<std::int32_t> ids = TokenizeText(prompt, model, /*add_special=*/false);
  const tokenizer::SpecialTokens& special = model.tokenizer.vocab().special;
  if (special.add_bos && special.bos && (ids.empty() || ids.front() != *special.bos)) {
    ids.insert(ids.begin(), *special.bos);
  }
  return ids;
}

PreparedGeneration PrepareChatCompletion(const ChatCompletionRequest& request,
                                         const ModelContext& model) {
  ValidateParams(request.options, model, /*completions_logprobs=*/false);
  CheckChoiceCount(1, request.options.params.n);
  const std::string prompt =
      RenderChatPrompt(model.chat_template, request.messages, request.add_generation_prompt, Json(),
                       request.chat_template_kwargs);
  std::vector<std::int32_t> ids = TokenizeChatPrompt(prompt, model);
  CheckLength(ids.size(), request.options, model, "messages");
  PreparedGeneration prepared;
  prepared.choices_per_request = request.options.params.n;
  prepared.requests.push_back(MakeRequest(std::move(ids), request.options));
  return prepared;
}

PreparedGeneration PrepareCompletion(const CompletionRequest& request, const ModelContext& model) {
  ValidateParams(request.options, model, /*completions_logprobs=*/true);
  CheckChoiceCount(request.prompts.size(), request.options.params.n);
  PreparedGeneration prepared;
  prepared.choices_per_request = request.options.params.n;
  for (const PromptInput& input : request.prompts) {
    std::vector<std::int32_t> ids =
        input.text ? TokenizeText(*input.text, model, /*add_special=*/true) : input.tokens;
    if (!input.text) CheckTokenIds(ids, model, "prompt");
    CheckLength(ids.size(), request.options, model, "prompt");
    prepared.requests.push_back(MakeRequest(std::move(ids), request.options));
  }
  return prepared;
}

std::vector<engine::Request> PrepareEmbedding(const EmbeddingRequest& request,
                                              const ModelContext& model) {
  std::vector<engine::Request> requests;
  for (const PromptInput& input : request.inputs) {
    std::vector<std::int32_t> ids =
        input.text ? TokenizeText(*input.text, model, /*add_special=*/true) : input.tokens;
    if (!input.text) CheckTokenIds(ids, model, "input");
    if (ids.empty()) {
      throw InvalidRequest("Invalid 'input': an input is empty (0 tokens).", "input",
                           "invalid_value");
    }
    if (ids.size() > static_cast<std::size_t>(model.context_size)) {
      throw InvalidRequest(fmt::format("This model's maximum context length is {} tokens. However, "
                                       "an input has {} tokens. Please reduce its length.",
                                       model.context_size, ids.size()),
                           "input", "context_length_exceeded");
    }
    engine::Request r;
    r.prompt = std::move(ids);
    r.task = engine::Task::kEmbed;
    r.params.max_tokens = 1;
    requests.push_back(std::move(r));
  }
  return requests;
}

std::vector<std::int32_t> Tokenize(const TokenizeRequest& request, const ModelContext& model) {
  if (request.prompt) return TokenizeText(*request.prompt, model, request.add_special);
  const std::string prompt = RenderChatPrompt(model.chat_template, request.messages,
                                              request.add_generation_prompt, Json(), Json());
  return request.add_special ? TokenizeChatPrompt(prompt, model)
                             : TokenizeText(prompt, model, false);
}

std::string Detokenize(const DetokenizeRequest& request, const ModelContext& model) {
  CheckTokenIds(request.tokens, model, "tokens");
  return ToValidUtf8(model.tokenizer.Decode(request.tokens));
}

std::string ApplyTemplate(const ApplyTemplateRequest& request, const ModelContext& model) {
  return RenderChatPrompt(model.chat_template, request.messages, request.add_generation_prompt,
                          request.tools, request.chat_template_kwargs);
}

}  // namespace kiln::server::openai
