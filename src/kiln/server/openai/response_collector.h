// ResponseCollector: assembles a whole (non-streamed) chat.completion or text_completion body
// from the engine events of one API request, which may span several engine requests (one per
// prompt) of n choices each. Not thread-safe: the caller serialises Add calls.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "kiln/server/openai/response_json.h"

namespace kiln::server::openai {

class ResponseCollector {
 public:
  ResponseCollector(ResponseOptions options, const tokenizer::Tokenizer& tokenizer);

  // Adds an event of engine request `request_index` (0..requests-1). Returns true once every
  // engine request has sent its request_done event.
  bool Add(int request_index, const engine::Event& event);
  bool done() const { return requests_done_ == options_.requests; }

  // The first error a choice finished with, if any (the response should then be an error).
  const std::optional<std::string>& error() const { return error_; }
  // Usage summed over the engine requests (final once done()).
  engine::Usage usage() const;

  // The response body; call once done().
  Json Build() const;

 private:
  struct Choice {
    std::string text;
    Json logprobs;  // chat: content array; completions: the object of arrays
    std::size_t text_offset = 0;
    std::string finish_reason;
  };

  ResponseOptions options_;
  const tokenizer::Tokenizer& tokenizer_;
  LogprobsFormatter formatter_;
  std::vector<Choice> choices_;
  std::vector<engine::Usage> usage_;  // per engine request
  int requests_done_ = 0;
  std::optional<std::string> error_;
};

}  // namespace kiln::server::openai
