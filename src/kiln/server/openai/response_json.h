// JSON bodies of OpenAI-compatible responses that are built in one go: usage, log-probability
// entries, embeddings and the model list, plus the response ids. The completion responses that
// are assembled from engine events live in response_collector.h (whole) and stream_encoder.h
// (Server-Sent Events).
#pragma once

#include <cstdint>
#include <mutex>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/engine/engine.h"
#include "kiln/server/openai/json_fields.h"

namespace kiln::tokenizer {
class Tokenizer;
}

namespace kiln::server::openai {

enum class ApiKind {
  kChat,        // /v1/chat/completions: chat.completion(.chunk)
  kCompletion,  // /v1/completions: text_completion
};

// Fields every completion response and chunk repeats.
struct ResponseHeader {
  std::string id;            // chatcmpl-... or cmpl-...
  std::int64_t created = 0;  // Unix seconds
  std::string model;
  std::string system_fingerprint;
};

// How the engine requests of one API request map to response choices, and what to report.
struct ResponseOptions {
  ApiKind kind = ApiKind::kChat;
  ResponseHeader header;
  int requests = 1;             // engine requests (prompts)
  int choices_per_request = 1;  // n
  bool logprobs = false;
  bool include_usage = false;  // streaming: the final usage chunk (and "usage": null before)
  // Token ids that end generation besides the model's own; their logprobs are not reported.
  std::vector<std::int32_t> stop_token_ids;
};

// Unique response ids: prefix + 24 random alphanumerics, as OpenAI's look. Thread-safe.
class IdGenerator {
 public:
  IdGenerator();
  std::string Next(std::string_view prefix);

 private:
  std::mutex mutex_;
  std::mt19937_64 random_;
};

// {"prompt_tokens", "completion_tokens", "total_tokens", "prompt_tokens_details": {cached}}
Json UsageJson(const engine::Usage& usage);

// Log-probabilities as the two APIs report them. Tokens are shown as their text (control tokens
// rendered, ill-formed UTF-8 replaced); chat entries also carry the exact bytes.
class LogprobsFormatter {
 public:
  explicit LogprobsFormatter(const tokenizer::Tokenizer& tokenizer);
  // Chat: appends {"token", "logprob", "bytes", "top_logprobs": [{token, logprob, bytes}]} per
  // token to `content`.
  void AppendChat(std::span<const engine::TokenLogprobs> logprobs, Json& content) const;
  // Completions: appends to the object's "tokens", "token_logprobs", "top_logprobs" ({token:
  // logprob}) and "text_offset" arrays (created when missing); `text_offset` is the byte offset
  // of the next token in the choice's text and advances.
  void AppendCompletion(std::span<const engine::TokenLogprobs> logprobs, Json& object,
                        std::size_t& text_offset) const;

 private:
  const tokenizer::Tokenizer& tokenizer_;
};

// The tokens of an event whose logprobs are reported: all but a final end-of-generation or stop
// token (OpenAI reports only tokens that belong to the output).
std::span<const engine::TokenLogprobs> ReportedLogprobs(const engine::Event& event,
                                                        const tokenizer::Tokenizer& tokenizer,
                                                        std::span<const std::int32_t> stop_ids);

// OpenAI's finish_reason for an engine's: "stop", "length", "cancelled", "error".
std::string_view FinishReasonText(engine::FinishReason reason);

// The embedding as base64 of its little-endian float32 bytes (encoding_format "base64").
std::string Base64Floats(std::span<const float> values);

// {"object": "list", "data": [{"object": "embedding", "index", "embedding"}], "model", "usage"}
Json EmbeddingResponse(std::string_view model, const std::vector<std::vector<float>>& embeddings,
                       bool base64, int prompt_tokens);

// {"id", "object": "model", "created", "owned_by"}
Json ModelObject(std::string_view id, std::int64_t created);
// {"object": "list", "data": [models...]}
Json ModelList(const std::vector<Json>& models);

}  // namespace kiln::server::openai
