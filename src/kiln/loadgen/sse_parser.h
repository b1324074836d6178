// SseParser: incremental parser of a text/event-stream body (the WHATWG server-sent events
// format) as it arrives in arbitrary chunks; OpenAiStreamEvent: what one `data:` payload of an
// OpenAI-compatible streaming completion means to a benchmark (content, usage, error, [DONE]).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::loadgen {

// One dispatched event: its `event:` name ("message" when absent) and the `data:` lines joined
// by '\n'. Comments (": ...") and `id:`/`retry:` fields are ignored.
struct SseEvent {
  std::string event = "message";
  std::string data;
};

class SseParser {
 public:
  // Consumes the next bytes of the body (a chunk may split a line, even a "\r\n", anywhere) and
  // returns the events completed by them, in order.
  std::vector<SseEvent> Feed(std::string_view bytes);
  // At the end of the body: an event whose blank line never came is dropped, as the spec says;
  // this reports whether such an unterminated event was pending (a truncated stream).
  bool HasPartialEvent() const;

 private:
  void ProcessLine(std::string_view line, std::vector<SseEvent>& out);

  std::string line_;
  bool pending_cr_ = false;  // the last byte was '\r': a following '\n' belongs to it
  bool have_data_ = false;
  SseEvent current_;
};

// The meaning of one `data:` payload of a streamed /v1/chat/completions or /v1/completions.
struct OpenAiStreamEvent {
  bool done = false;       // the `[DONE]` sentinel
  int content_pieces = 0;  // choices carrying non-empty text/content/reasoning (0 or 1 usually)
  std::optional<std::int64_t> prompt_tokens;      // from "usage", when present and non-null
  std::optional<std::int64_t> completion_tokens;  // from "usage"
  std::optional<std::string> error;               // an {"error": ...} payload or unparsable JSON
};

OpenAiStreamEvent InterpretStreamData(std::string_view data);

}  // namespace kiln::loadgen
