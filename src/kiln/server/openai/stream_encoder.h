// StreamEncoder: turns the engine events of one API request into Server-Sent Events exactly as
// OpenAI streams them. Chat: per choice a first chunk with delta {role: "assistant", content:
// ""}, then content deltas, then a chunk with an empty delta and the finish_reason; completions:
// text chunks, then one with the finish_reason. With stream_options.include_usage every chunk
// carries "usage": null and a last chunk with no choices carries the usage. Then `data: [DONE]`.
// Not thread-safe: the caller serialises calls (the engine calls its sink from one thread).
#pragma once

#include <string>
#include <vector>

#include "kiln/server/openai/response_json.h"

namespace kiln::server::openai {

// One SSE event: "data: <payload>\n\n".
std::string SseFrame(std::string_view payload);
inline constexpr std::string_view kSseDone = "data: [DONE]\n\n";

class StreamEncoder {
 public:
  StreamEncoder(ResponseOptions options, const tokenizer::Tokenizer& tokenizer);

  // What to send before any event arrives (chat: the role chunk of every choice).
  std::string Start();
  // The frames one event adds (possibly none). After the last engine request's request_done
  // event, this includes the usage chunk (when asked) and [DONE].
  std::string Add(int request_index, const engine::Event& event);
  bool done() const { return requests_done_ == options_.requests; }
  // Usage summed over the engine requests (final once done()).
  engine::Usage usage() const;

 private:
  Json Chunk() const;  // the fields every chunk repeats, with an empty choices array
  std::string ChoiceFrame(int index, Json delta_or_text, Json logprobs, Json finish_reason) const;

  ResponseOptions options_;
  const tokenizer::Tokenizer& tokenizer_;
  LogprobsFormatter formatter_;
  std::vector<std::size_t> text_offsets_;  // completions logprobs, per choice
  std::vector<engine::Usage> usage_;
  int requests_done_ = 0;
};

}  // namespace kiln::server::openai
