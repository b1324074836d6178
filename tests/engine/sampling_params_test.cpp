#include "kiln/engine/sampling_params.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "kiln/base/error.h"

namespace kiln::engine {
namespace {

constexpr int32_t kVocab = 1000;

// Validate must throw kiln::Error whose message names the offending parameter.
void ExpectInvalid(const SamplingParams& params, const std::string& name) {
  try {
    params.Validate(kVocab);
    ADD_FAILURE() << "expected '" << name << "' to be rejected";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'" + name + "'"), std::string::npos) << e.what();
  }
}

TEST(SamplingParamsTest, DefaultsAreOpenAiDefaultsAndValid) {
  SamplingParams p;
  EXPECT_EQ(p.temperature, 1.0f);
  EXPECT_EQ(p.top_p, 1.0f);
  EXPECT_EQ(p.top_k, 0);
  EXPECT_EQ(p.min_p, 0.0f);
  EXPECT_EQ(p.n, 1);
  EXPECT_FALSE(p.seed.has_value());
  EXPECT_FALSE(p.max_tokens.has_value());
  EXPECT_NO_THROW(p.Validate(kVocab));
}

TEST(SamplingParamsTest, AcceptsBoundaryValues) {
  SamplingParams p;
  p.temperature = 0.0f;
  p.top_k = -1;
  p.top_p = 1.0f;
  p.min_p = 1.0f;
  p.presence_penalty = -2.0f;
  p.frequency_penalty = 2.0f;
  p.logit_bias = {{0, -100.0f}, {kVocab - 1, 100.0f}};
  p.logprobs = true;
  p.top_logprobs = 20;
  p.n = SamplingParams::kMaxN;
  p.stop = {"\n\n", std::string(SamplingParams::kMaxStopStringBytes, 'x')};
  EXPECT_NO_THROW(p.Validate(kVocab));
  p.temperature = 2.0f;
  p.top_k = kVocab * 10;  // larger than the vocabulary means "off"
  EXPECT_NO_THROW(p.Validate(kVocab));
}

TEST(SamplingParamsTest, RejectsOutOfRangeValuesNamingTheParameter) {
  auto with = [](auto change) {
    SamplingParams p;
    change(p);
    return p;
  };
  ExpectInvalid(with([](auto& p) { p.temperature = -0.1f; }), "temperature");
  ExpectInvalid(with([](auto& p) { p.temperature = 2.01f; }), "temperature");
  ExpectInvalid(with([](auto& p) { p.temperature = std::nanf(""); }), "temperature");
  ExpectInvalid(with([](auto& p) { p.top_k = -2; }), "top_k");
  ExpectInvalid(with([](auto& p) { p.top_p = 0.0f; }), "top_p");
  ExpectInvalid(with([](auto& p) { p.top_p = 1.5f; }), "top_p");
  ExpectInvalid(with([](auto& p) { p.min_p = -0.1f; }), "min_p");
  ExpectInvalid(with([](auto& p) { p.min_p = 1.1f; }), "min_p");
  ExpectInvalid(with([](auto& p) { p.typical_p = 0.0f; }), "typical_p");
  ExpectInvalid(with([](auto& p) { p.repetition_penalty = 0.0f; }), "repetition_penalty");
  ExpectInvalid(with([](auto& p) { p.repetition_penalty = INFINITY; }), "repetition_penalty");
  ExpectInvalid(with([](auto& p) { p.repetition_penalty_window = -1; }),
                "repetition_penalty_window");
  ExpectInvalid(with([](auto& p) { p.presence_penalty = 2.5f; }), "presence_penalty");
  ExpectInvalid(with([](auto& p) { p.frequency_penalty = -2.5f; }), "frequency_penalty");
  ExpectInvalid(with([](auto& p) { p.logit_bias = {{kVocab, 1.0f}}; }), "logit_bias");
  ExpectInvalid(with([](auto& p) { p.logit_bias = {{-1, 1.0f}}; }), "logit_bias");
  ExpectInvalid(with([](auto& p) { p.logit_bias = {{5, -101.0f}}; }), "logit_bias");
  ExpectInvalid(with([](auto& p) { p.max_tokens = 0; }), "max_tokens");
  ExpectInvalid(with([](auto& p) { p.stop_token_ids = {kVocab}; }), "stop_token_ids");
  ExpectInvalid(with([](auto& p) { p.stop = {""}; }), "stop");
  ExpectInvalid(
      with([](auto& p) { p.stop = {std::string(SamplingParams::kMaxStopStringBytes + 1, 'x')}; }),
      "stop");
  ExpectInvalid(with([](auto& p) { p.stop.assign(SamplingParams::kMaxStopStrings + 1, "x"); }),
                "stop");
  ExpectInvalid(with([](auto& p) {
                  p.logprobs = true;
                  p.top_logprobs = 21;
                }),
                "top_logprobs");
  ExpectInvalid(with([](auto& p) { p.top_logprobs = 3; }), "top_logprobs");  // needs logprobs
  ExpectInvalid(with([](auto& p) { p.n = 0; }), "n");
}

}  // namespace
}  // namespace kiln::engine
