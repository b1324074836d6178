// Helpers for the engine tests: a shared fixture model, and running requests to completion
// through RequestStream while checking the event protocol on the way.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "kiln/engine/engine.h"
#include "kiln/model/model.h"
#include "kiln/tokenizer/tokenizer.h"

namespace kiln::engine::testing {

inline const std::string kLlama = std::string(KILN_FIXTURES_DIR) + "/models/tiny-llama-q8_0.gguf";

struct LoadedModel {
  explicit LoadedModel(const std::string& path)
      : model(model::Model::Load(path)), tokenizer(tokenizer::Tokenizer::FromGguf(model.file())) {}
  model::Model model;
  std::unique_ptr<tokenizer::Tokenizer> tokenizer;
};

// Loaded once per test binary (the file is memory-mapped and immutable).
inline const LoadedModel& Llama() {
  static const LoadedModel* loaded = new LoadedModel(kLlama);
  return *loaded;
}

struct ChoiceResult {
  std::vector<std::int32_t> tokens;
  std::vector<TokenLogprobs> logprobs;
  std::string text;
  FinishReason finish = FinishReason::kError;
  std::string error;
  int events = 0;
  bool had_ttft = false;
};

struct RequestResult {
  std::vector<ChoiceResult> choices;
  Usage usage;
  std::vector<float> embedding;
};

// Drains one stream, checking the protocol: every choice's events in order, exactly one finished
// event per choice, request_done exactly once and last.
inline RequestResult Collect(RequestStream& stream, int n) {
  RequestResult r;
  r.choices.resize(n);
  std::vector<bool> finished(n, false);
  int done_events = 0;
  while (std::optional<Event> e = stream.Next()) {
    EXPECT_GE(e->choice, 0);
    EXPECT_LT(e->choice, n);
    if (e->choice < 0 || e->choice >= n) break;
    EXPECT_FALSE(finished[e->choice]) << "event after the choice finished";
    ChoiceResult& c = r.choices[e->choice];
    ++c.events;
    if (!e->tokens.empty() && c.tokens.empty()) {
      EXPECT_TRUE(e->time_to_first_token.has_value());
      c.had_ttft = e->time_to_first_token.has_value();
    }
    c.tokens.insert(c.tokens.end(), e->tokens.begin(), e->tokens.end());
    c.logprobs.insert(c.logprobs.end(), e->logprobs.begin(), e->logprobs.end());
    c.text += e->text;
    if (e->finished) {
      finished[e->choice] = true;
      c.finish = e->finish_reason;
      c.error = e->error;
    }
    if (!e->embedding.empty()) r.embedding = e->embedding;
    if (e->request_done) {
      ++done_events;
      r.usage = e->usage;
      for (int i = 0; i < n; ++i) EXPECT_TRUE(finished[i]) << "request_done before choice " << i;
    }
  }
  EXPECT_EQ(done_events, 1);
  EXPECT_TRUE(stream.done());
  return r;
}

inline RequestResult RunRequest(Engine& engine, Request request) {
  RequestStream stream;
  const int n = request.params.n;
  engine.Submit(std::move(request), stream.Sink());
  return Collect(stream, n);
}

// Submits all at once, then collects each.
inline std::vector<RequestResult> RunTogether(Engine& engine, std::vector<Request> requests) {
  std::vector<RequestStream> streams(requests.size());
  std::vector<int> ns;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    ns.push_back(requests[i].params.n);
    engine.Submit(std::move(requests[i]), streams[i].Sink());
  }
  std::vector<RequestResult> results;
  for (std::size_t i = 0; i < streams.size(); ++i) results.push_back(Collect(streams[i], ns[i]));
  return results;
}

// Deterministic pseudo-random prompt tokens in [100, 30000).
inline std::vector<std::int32_t> Prompt(int length, std::uint32_t salt) {
  std::vector<std::int32_t> p;
  std::uint32_t x = salt * 2654435761u + 12345u;
  for (int i = 0; i < length; ++i) {
    x = x * 1664525u + 1013904223u;
    p.push_back(static_cast<std::int32_t>(100 + (x >> 8) % 29900));
  }
  return p;
}

inline EngineOptions SmallOptions() {
  EngineOptions o;
  o.max_sequences = 8;
  o.context_size = 256;
  o.threads = 2;
  o.model_id = "tiny-llama";
  return o;
}

}  // namespace kiln::engine::testing
