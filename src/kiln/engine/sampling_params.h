// SamplingParams: everything a request says about how its tokens are chosen and when it stops,
// as plain data with the OpenAI/vLLM defaults. Validate() is the one place that decides which
// values are accepted; the sampler and the stop matcher assume validated parameters.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace kiln::engine {

struct SamplingParams {
  // Softmax temperature in [0, 2] (OpenAI's range; vLLM accepts any value >= 0, but beyond 2 the
  // distribution is close to uniform noise, so we refuse rather than silently clamp).
  // 0 means greedy: the token with the highest (biased, penalised) logit, no randomness.
  float temperature = 1.0f;
  // Keep only the k most likely tokens. 0 or -1 disables; values above the vocabulary size act
  // as "off".
  int32_t top_k = 0;
  // Nucleus sampling: keep the smallest set of most likely tokens whose probability mass is at
  // least top_p. In (0, 1]; 1 disables.
  float top_p = 1.0f;
  // Keep tokens whose probability is at least min_p times the most likely token's. In [0, 1];
  // 0 disables.
  float min_p = 0.0f;
  // Locally typical sampling (Meister et al. 2022): keep the tokens whose surprisal is closest
  // to the distribution's entropy, up to mass typical_p. In (0, 1]; 1 disables.
  float typical_p = 1.0f;

  // Hugging Face / llama.cpp repetition penalty: for every token that occurs in the penalty
  // window, a positive logit is divided by it and a negative one multiplied. > 0; 1 disables.
  float repetition_penalty = 1.0f;
  // How many of the most recent tokens (prompt and generated together) the repetition penalty
  // looks at. 0 means all of them (vLLM / Hugging Face behaviour); N > 0 means the last N
  // (llama.cpp's repeat_last_n).
  int32_t repetition_penalty_window = 0;
  // OpenAI penalties over the generated tokens only:
  //   logit[t] -= frequency_penalty * count[t] + presence_penalty * (count[t] > 0).
  // Each in [-2, 2]; 0 disables.
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  // Added to the raw logits before anything else. Bias in [-100, 100]; -100 effectively bans a
  // token, +100 effectively forces it (OpenAI semantics).
  std::map<int32_t, float> logit_bias;

  // Seed for this request's random draws. Absent: the engine draws one from std::random_device
  // when it creates the request (see ResolveSeed in sampler.h).
  std::optional<uint64_t> seed;

  // Most tokens to generate. Absent: until a stop condition or the context is full.
  std::optional<int32_t> max_tokens;
  // Token ids that end generation (in addition to the model's end-of-sequence tokens unless
  // ignore_eos). The stop token itself is not part of the output text.
  std::vector<int32_t> stop_token_ids;
  // Strings that end generation; the output stops just before the first one that appears.
  std::vector<std::string> stop;
  // Keep generating past the model's end-of-sequence token (benchmarking).
  bool ignore_eos = false;

  // Return the log-probability of each chosen token, computed from the raw model logits.
  bool logprobs = false;
  // How many most likely alternatives to return with each token's log-probability, 0..20.
  // Requires logprobs.
  int32_t top_logprobs = 0;
  // How many independent completions to generate for the prompt.
  int32_t n = 1;

  // Limits that Validate enforces beyond the per-parameter ranges.
  static constexpr int32_t kMaxTopLogprobs = 20;
  static constexpr int32_t kMaxN = 128;
  static constexpr size_t kMaxStopStrings = 16;
  static constexpr size_t kMaxStopStringBytes = 256;

  // Throws kiln::Error naming the first out-of-range parameter, in the style of OpenAI's
  // errors ("Invalid 'top_p': expected a value in (0, 1], got 1.5"). Also rejects NaN.
  void Validate(int32_t vocab_size) const;
};

}  // namespace kiln::engine
