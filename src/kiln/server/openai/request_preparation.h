// Turning parsed API requests into engine work for one served model: chat messages rendered with
// the model's template and tokenized, prompts tokenized, sampling parameters validated against
// the vocabulary, and prompt lengths checked against the context size. Everything a client can
// get wrong surfaces here as an ApiError with the field at fault; nothing reaches the engine
// that it would refuse.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kiln/engine/engine.h"
#include "kiln/server/openai/chat_template.h"
#include "kiln/server/openai/requests.h"

namespace kiln::tokenizer {
class Tokenizer;
}

namespace kiln::server::openai {

// What request preparation needs to know about the model a request is for.
struct ModelContext {
  const tokenizer::Tokenizer& tokenizer;
  const ChatTemplate& chat_template;
  int context_size = 0;  // tokens one sequence may hold (prompt + completion)
  int vocab_size = 0;
};

// Engine requests of one API request: one per prompt, each asking for `choices_per_request`
// completions (the request's n). Choice c of request r is the response's choice r * n + c.
struct PreparedGeneration {
  std::vector<engine::Request> requests;
  int choices_per_request = 1;
  int total_choices() const { return static_cast<int>(requests.size()) * choices_per_request; }
};

// The most choices (prompts x n) one request may ask for.
inline constexpr int kMaxChoicesPerRequest = 256;

std::string RenderChatPrompt(const ChatTemplate& chat_template, const Json& messages,
                             bool add_generation_prompt, const Json& tools,
                             const Json& template_kwargs);
// Tokenizes a rendered chat prompt: control tokens written by the template are parsed, and BOS
// is added when the vocabulary asks for it and the template did not write it already.
std::vector<std::int32_t> TokenizeChatPrompt(const std::string& prompt, const ModelContext& model);

PreparedGeneration PrepareChatCompletion(const ChatCompletionRequest& request,
                                         const ModelContext& model);
PreparedGeneration PrepareCompletion(const CompletionRequest& request, const ModelContext& model);
// One Task::kEmbed request per input.
std::vector<engine::Request> PrepareEmbedding(const EmbeddingRequest& request,
                                              const ModelContext& model);

// /tokenize, /detokenize and /apply-template.
std::vector<std::int32_t> Tokenize(const TokenizeRequest& request, const ModelContext& model);
std::string Detokenize(const DetokenizeRequest& request, const ModelContext& model);
std::string ApplyTemplate(const ApplyTemplateRequest& request, const ModelContext& model);

}  // namespace kiln::server::openai
