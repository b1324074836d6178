#include "kiln/engine/sampling_params.h"

#include <cmath>

#include "kiln/base/error.h"

namespace kiln::engine {
namespace {

// NaN fails every comparison, so each check is written as "inside the range" and negated.
void CheckRange(const char* name, float value, float low, float high) {
  if (!(value >= low && value <= high)) {
    Fail("Invalid '{}': expected a value between {} and {}, got {}", name, low, high, value);
  }
}

void CheckOpenLowRange(const char* name, float value, float low, float high) {
  if (!(value > low && value <= high)) {
    Fail("Invalid '{}': expected a value in ({}, {}], got {}", name, low, high, value);
  }
}

void CheckTokenId(const char* name, int32_t id, int32_t vocab_size) {
  if (id < 0 || id >= vocab_size) {
    Fail("Invalid '{}': token id {} is outside the vocabulary (0..{})", name, id, vocab_size - 1);
  }
}

}  // namespace

void SamplingParams::Validate(int32_t vocab_size) const {
  if (vocab_size <= 0) Fail("Invalid vocabulary size {}: the model has no tokens", vocab_size);

  CheckRange("temperature", temperature, 0.0f, 2.0f);
  if (top_k < -1) {
    Fail("Invalid 'top_k': expected -1 or 0 (disabled) or a positive count, got {}", top_k);
  }
  CheckOpenLowRange("top_p", top_p, 0.0f, 1.0f);
  CheckRange("min_p", min_p, 0.0f, 1.0f);
  CheckOpenLowRange("typical_p", typical_p, 0.0f, 1.0f);

  if (!(repetition_penalty > 0.0f && std::isfinite(repetition_penalty))) {
    Fail("Invalid 'repetition_penalty': expected a finite value > 0, got {}", repetition_penalty);
  }
  if (repetition_penalty_window < 0) {
    Fail("Invalid 'repetition_penalty_window': expected 0 (all tokens) or a positive count, got {}",
         repetition_penalty_window);
  }
  CheckRange("presence_penalty", presence_penalty, -2.0f, 2.0f);
  CheckRange("frequency_penalty", frequency_penalty, -2.0f, 2.0f);

  for (const auto& [id, bias] : logit_bias) {
    CheckTokenId("logit_bias", id, vocab_size);
    if (!(bias >= -100.0f && bias <= 100.0f)) {
      Fail("Invalid 'logit_bias': bias for token {} must be between -100 and 100, got {}", id,
           bias);
    }
  }

  if (max_tokens && *max_tokens < 1) {
    Fail("Invalid 'max_tokens': expected at least 1, got {}", *max_tokens);
  }
  for (int32_t id : stop_token_ids) CheckTokenId("stop_token_ids", id, vocab_size);
  if (stop.size() > kMaxStopStrings) {
    Fail("Invalid 'stop': at most {} stop strings are supported, got {}", kMaxStopStrings,
         stop.size());
  }
  for (const std::string& s : stop) {
    if (s.empty()) Fail("Invalid 'stop': stop strings must not be empty");
    if (s.size() > kMaxStopStringBytes) {
      Fail("Invalid 'stop': a stop string may be at most {} bytes, got one of {}",
           kMaxStopStringBytes, s.size());
    }
  }

  if (top_logprobs < 0 || top_logprobs > kMaxTopLogprobs) {
    Fail("Invalid 'top_logprobs': expected a value between 0 and {}, got {}", kMaxTopLogprobs,
         top_logprobs);
  }
  if (top_logprobs > 0 && !logprobs) {
    Fail("Invalid 'top_logprobs': 'logprobs' must be set to true when 'top_logprobs' is used");
  }
  if (n < 1 || n > kMaxN) Fail("Invalid 'n': expected a value between 1 and {}, got {}", kMaxN, n);
}

}  // namespace kiln::engine
