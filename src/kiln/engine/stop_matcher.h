// StopMatcher: finds a request's stop strings in its generated text as tokens arrive, and
// decides how much of that text is safe to stream now. Text is held back only while it could
// still be the start of a stop string, so clients never see part of a stop string.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::engine {

// Semantics are those of a byte stream, independent of how the text is split into tokens:
// generation stops at the first byte that completes any stop string; if several complete at
// that byte (one is a suffix of another), the longest wins, so the cut is at the earliest start.
// The output is the text before that cut; the rest of the token is dropped. Matching is on bytes,
// so multibyte UTF-8 stop strings work, and if the input is whole UTF-8 characters every cut
// (held or stopped) falls on a character boundary.
class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stop_strings);

  struct Output {
    std::string_view text;    // safe to emit now; valid until the next Consume or Flush
    bool stopped = false;     // a stop string matched: this text is the last of the output
    int32_t stop_index = -1;  // which stop string, when stopped
  };

  // Feeds the text of one generated token. After a stop, further calls return empty text with
  // stopped set.
  Output Consume(std::string_view token_text);
  // End of generation without a stop string: the held-back text (valid until the next call).
  std::string_view Flush();

  bool stopped() const { return stop_index_ >= 0; }
  // Bytes currently held back (tests and metrics).
  size_t held_bytes() const { return pending_.size() - emitted_; }

 private:
  // Knuth-Morris-Pratt over one stop string: `state` is the length of the longest prefix of the
  // string that ends the text seen so far; `fallback[i]` is the longest proper border of the
  // prefix of length i + 1.
  struct Pattern {
    std::string text;
    std::vector<uint32_t> fallback;
    uint32_t state = 0;
  };
  static uint32_t Advance(const Pattern& p, uint32_t state, char byte);

  std::vector<Pattern> patterns_;
  std::string pending_;  // the held text, plus what the last call returned (its first emitted_)
  size_t emitted_ = 0;
  int32_t stop_index_ = -1;
};

}  // namespace kiln::engine
