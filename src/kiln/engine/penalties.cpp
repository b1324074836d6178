#include "kiln/engine/penalties.h"

#include "kiln/base/error.h"

namespace kiln::engine {

void PenaltyTracker::TokenCounts::Add(int32_t token) {
  int32_t& slot = slot_[static_cast<size_t>(token)];
  if (slot < 0) {
    slot = static_cast<int32_t>(entries_.size());
    entries_.push_back({token, 1});
  } else {
    ++entries_[static_cast<size_t>(slot)].count;
  }
}

void PenaltyTracker::TokenCounts::Remove(int32_t token) {
  int32_t& slot = slot_[static_cast<size_t>(token)];
  Entry& entry = entries_[static_cast<size_t>(slot)];
  if (--entry.count > 0) return;
  // Swap-remove keeps entries_ dense; order does not matter to the penalties.
  const Entry last = entries_.back();
  entry = last;
  slot_[static_cast<size_t>(last.token)] = slot;
  slot = -1;
  entries_.pop_back();
}

void PenaltyTracker::TokenCounts::Clear() {
  for (const Entry& e : entries_) slot_[static_cast<size_t>(e.token)] = -1;
  entries_.clear();
}

PenaltyTracker::PenaltyTracker(const SamplingParams& params, int32_t vocab_size)
    : vocab_size_(vocab_size),
      repetition_penalty_(params.repetition_penalty),
      window_(static_cast<size_t>(params.repetition_penalty_window)),
      presence_penalty_(params.presence_penalty),
      frequency_penalty_(params.frequency_penalty),
      repetition_(params.repetition_penalty != 1.0f),
      occurrence_(params.presence_penalty != 0.0f || params.frequency_penalty != 0.0f) {
  if (repetition_) in_window_.Init(vocab_size);
  if (occurrence_) generated_.Init(vocab_size);
}

int32_t PenaltyTracker::TokenAt(const TokenHistory& history, size_t position) const {
  const int32_t token = position < history.prompt.size()
                            ? history.prompt[position]
                            : history.generated[position - history.prompt.size()];
  if (token < 0 || token >= vocab_size_) {
    Fail("Token id {} at position {} is outside the vocabulary (0..{})", token, position,
         vocab_size_ - 1);
  }
  return token;
}

void PenaltyTracker::Sync(const TokenHistory& history) {
  const size_t prompt_size = history.prompt.size();
  const size_t total = prompt_size + history.generated.size();
  if (folded_ > 0 && (prompt_size != prompt_size_ || total < folded_)) {
    // Not an extension of what was counted: start over.
    in_window_.Clear();
    generated_.Clear();
    folded_ = window_begin_ = generated_folded_ = 0;
  }
  prompt_size_ = prompt_size;

  if (repetition_) {
    size_t start = folded_;
    if (window_ > 0 && total - start > window_) {
      // Everything counted so far falls out of the window; skip straight to its new start.
      in_window_.Clear();
      start = window_begin_ = total - window_;
    }
    for (size_t p = start; p < total; ++p) {
      in_window_.Add(TokenAt(history, p));
      if (window_ > 0 && p + 1 - window_begin_ > window_) {
        in_window_.Remove(TokenAt(history, window_begin_));
        ++window_begin_;
      }
    }
  }
  if (occurrence_) {
    for (size_t g = generated_folded_; g < history.generated.size(); ++g) {
      generated_.Add(TokenAt(history, prompt_size + g));
    }
  }
  folded_ = total;
  generated_folded_ = history.generated.size();
}

void PenaltyTracker::Apply(const TokenHistory& history, std::span<float> logits) {
  if (!active()) return;
  if (logits.size() != static_cast<size_t>(vocab_size_)) {
    Fail("Got {} logits for a vocabulary of {} tokens", logits.size(), vocab_size_);
  }
  Sync(history);
  if (repetition_) {
    for (const auto& e : in_window_.entries()) {
      float& logit = logits[static_cast<size_t>(e.token)];
      logit = logit > 0.0f ? logit / repetition_penalty_ : logit * repetition_penalty_;
    }
  }
  if (occurrence_) {
    for (const auto& e : generated_.entries()) {
      logits[static_cast<size_t>(e.token)] -=
          frequency_penalty_ * static_cast<float>(e.count) + presence_penalty_;
    }
  }
}

}  // namespace kiln::engine
