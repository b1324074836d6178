#include "kiln/engine/stop_matcher.h"

#include <algorithm>

#include "kiln/base/error.h"

namespace kiln::engine {

StopMatcher::StopMatcher(std::vector<std::string> stop_strings) {
  patterns_.reserve(stop_strings.size());
  for (std::string& s : stop_strings) {
    if (s.empty()) Fail("Invalid 'stop': stop strings must not be empty");
    Pattern p;
    p.text = std::move(s);
    // The classic prefix function: fallback[i] = longest proper prefix of text[0..i] that is
    // also its suffix.
    p.fallback.assign(p.text.size(), 0);
    for (size_t i = 1; i < p.text.size(); ++i) {
      uint32_t k = p.fallback[i - 1];
      while (k > 0 && p.text[i] != p.text[k]) k = p.fallback[k - 1];
      if (p.text[i] == p.text[k]) ++k;
      p.fallback[i] = k;
    }
    patterns_.push_back(std::move(p));
  }
}

uint32_t StopMatcher::Advance(const Pattern& p, uint32_t state, char byte) {
  // A full match has no next state; matching stops there, so only partial states arrive here.
  while (state > 0 && p.text[state] != byte) state = p.fallback[state - 1];
  if (p.text[state] == byte) ++state;
  return state;
}

StopMatcher::Output StopMatcher::Consume(std::string_view token_text) {
  if (stopped()) return {std::string_view(), true, stop_index_};
  pending_.erase(0, emitted_);
  emitted_ = 0;
  const size_t start = pending_.size();
  pending_.append(token_text);

  for (size_t i = start; i < pending_.size(); ++i) {
    const char byte = pending_[i];
    size_t match_length = 0;
    for (size_t k = 0; k < patterns_.size(); ++k) {
      Pattern& p = patterns_[k];
      p.state = Advance(p, p.state, byte);
      if (p.state == p.text.size() && p.text.size() > match_length) {
        match_length = p.text.size();
        stop_index_ = static_cast<int32_t>(k);
      }
    }
    if (match_length > 0) {
      // The match started inside pending_: every byte from its start on was a partial match and
      // so was held back.
      pending_.resize(i + 1 - match_length);
      emitted_ = pending_.size();
      return {pending_, true, stop_index_};
    }
  }

  // Hold the longest tail that is still the start of some stop string.
  uint32_t hold = 0;
  for (const Pattern& p : patterns_) hold = std::max(hold, p.state);
  emitted_ = pending_.size() - hold;
  return {std::string_view(pending_).substr(0, emitted_), false, -1};
}

std::string_view StopMatcher::Flush() {
  if (stopped()) return {};
  pending_.erase(0, emitted_);
  emitted_ = pending_.size();
  for (Pattern& p : patterns_) p.state = 0;
  return pending_;
}

}  // namespace kiln::engine
