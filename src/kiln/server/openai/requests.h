// The OpenAI-compatible request bodies Kiln accepts, parsed and checked without any model:
// POST /v1/chat/completions, /v1/completions, /v1/embeddings and Kiln's /tokenize, /detokenize
// and /apply-template. Every Parse* function takes the raw body and either returns the request
// or throws ApiError (400) naming the field at fault; fields Kiln does not implement (tools,
// response_format with a schema, audio, ...) are refused by name rather than ignored.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/engine/sampling_params.h"
#include "kiln/server/openai/json_fields.h"

namespace kiln::server::openai {

// One prompt of /v1/completions or one input of /v1/embeddings: text to tokenize, or token ids.
struct PromptInput {
  std::optional<std::string> text;
  std::vector<std::int32_t> tokens;  // when text is absent
};

// What chat and text completions share: sampling and how the answer is delivered.
struct GenerationOptions {
  // Ranges are checked when the request is prepared for a model (SamplingParams::Validate needs
  // the vocabulary size); parsing only checks types.
  engine::SamplingParams params;
  // Which field gave params.max_tokens ("max_tokens" or "max_completion_tokens"), for errors.
  std::string max_tokens_field = "max_tokens";
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  std::string user;
};

struct ChatCompletionRequest {
  std::string model;
  // Normalised for templates: every message an object with a string "role" among system, user,
  // assistant and tool ("developer" becomes "system") and "content" as a string (text parts
  // joined); other fields (name, tool_calls, ...) as the client sent them.
  Json messages = Json::array();
  GenerationOptions options;
  bool add_generation_prompt = true;
  Json chat_template_kwargs;  // object or null
};

struct CompletionRequest {
  std::string model;
  std::vector<PromptInput> prompts;  // at least one
  GenerationOptions options;
};

struct EmbeddingRequest {
  std::string model;
  std::vector<PromptInput> inputs;  // at least one
  bool base64 = false;              // encoding_format "base64" (else "float")
  std::string user;
};

// /tokenize: either a prompt (text) or messages rendered with the chat template first.
struct TokenizeRequest {
  std::string model;  // optional when one model is served
  std::optional<std::string> prompt;
  Json messages;  // normalised as for chat; null when prompt is given
  bool add_special = true;
  bool add_generation_prompt = true;
};

struct DetokenizeRequest {
  std::string model;
  std::vector<std::int32_t> tokens;
};

// /apply-template: the prompt text a chat request would be turned into.
struct ApplyTemplateRequest {
  std::string model;
  Json messages = Json::array();
  bool add_generation_prompt = true;
  Json tools;  // for debugging tool templates; null when absent
  Json chat_template_kwargs;
};

ChatCompletionRequest ParseChatCompletionRequest(std::string_view body);
CompletionRequest ParseCompletionRequest(std::string_view body);
EmbeddingRequest ParseEmbeddingRequest(std::string_view body);
TokenizeRequest ParseTokenizeRequest(std::string_view body);
DetokenizeRequest ParseDetokenizeRequest(std::string_view body);
ApplyTemplateRequest ParseApplyTemplateRequest(std::string_view body);

// Checks and normalises a chat "messages" array (see ChatCompletionRequest::messages).
Json NormalizeMessages(const Json* messages, std::string_view field = "messages");

}  // namespace kiln::server::openai
