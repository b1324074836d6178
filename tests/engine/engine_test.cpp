// Engine on a real fixture model: tokens and log-probabilities against the single-sequence
// Generator, streamed text, finish reasons, stop strings and ids, cancellation, validation,
// statistics and shutdown.
#include "kiln/engine/engine.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <thread>

#include "engine/engine_test_util.h"
#include "kiln/base/error.h"
#include "kiln/engine/generator.h"
#include "kiln/engine/sampler.h"

namespace kiln::engine {
namespace {

using namespace std::chrono_literals;
using testing::Llama;
using testing::Prompt;
using testing::RunRequest;
using testing::SmallOptions;

struct Reference {
  std::vector<std::int32_t> tokens;
  std::vector<std::vector<float>> logits;
};

// The same request through Generator + Sampler, one sequence, one token per forward call.
Reference GenerateAlone(const std::vector<std::int32_t>& prompt, const SamplingParams& params,
                        int count) {
  const model::Model& model = Llama().model;
  kernels::ThreadPool pool(2);
  GeneratorOptions options;
  options.context_size = 256;
  Generator generator(model, options, pool);
  Sampler sampler(params, model.config().vocab_size, *params.seed);
  Reference ref;
  std::span<const float> logits = generator.Feed(prompt);
  for (int i = 0; i < count; ++i) {
    ref.logits.emplace_back(logits.begin(), logits.end());
    const std::int32_t t = sampler.Sample(logits, {prompt, ref.tokens});
    ref.tokens.push_back(t);
    if (i + 1 < count) logits = generator.Feed(std::span<const std::int32_t>(&t, 1));
  }
  return ref;
}

double LogSoftmax(const std::vector<float>& logits, int token) {
  double m = -INFINITY, s = 0;
  for (float v : logits) m = std::max<double>(m, v);
  for (float v : logits) s += std::exp(v - m);
  return logits[token] - m - std::log(s);
}

TEST(Engine, GreedyAndSampledTokensMatchTheGeneratorWithLogprobs) {
  Engine engine(Llama().model, *Llama().tokenizer, SmallOptions());
  for (float temperature : {0.0f, 0.9f}) {
    Request q;
    q.prompt = Prompt(23, 1);
    q.params.temperature = temperature;
    q.params.top_k = 50;
    q.params.seed = 42;
    q.params.max_tokens = 10;
    q.params.ignore_eos = true;
    q.params.logprobs = true;
    q.params.top_logprobs = 3;
    const testing::RequestResult r = RunRequest(engine, q);
    const Reference ref = GenerateAlone(q.prompt, q.params, 10);
    ASSERT_EQ(r.choices[0].tokens, ref.tokens) << "temperature " << temperature;
    EXPECT_EQ(r.choices[0].finish, FinishReason::kLength);
    ASSERT_EQ(r.choices[0].logprobs.size(), 10u);
    for (int i = 0; i < 10; ++i) {
      const TokenLogprobs& lp = r.choices[0].logprobs[i];
      EXPECT_EQ(lp.chosen.token, ref.tokens[i]);
      EXPECT_NEAR(lp.chosen.logprob, LogSoftmax(ref.logits[i], ref.tokens[i]), 1e-5);
      ASSERT_EQ(lp.top.size(), 3u);
      for (const TokenLogprob& t : lp.top) {
        EXPECT_NEAR(t.logprob, LogSoftmax(ref.logits[i], t.token), 1e-5);
      }
      EXPECT_GE(lp.top[0].logprob, lp.top[1].logprob);
    }
    EXPECT_EQ(r.usage.prompt_tokens, 23);
    EXPECT_EQ(r.usage.completion_tokens, 10);
  }
}

TEST(Engine, StreamsTheDecodedTextAndStopsAtMaxTokens) {
  Engine engine(Llama().model, *Llama().tokenizer, SmallOptions());
  Request q;
  q.prompt = Llama().tokenizer->Encode("Once upon a time");
  q.params.temperature = 0;
  q.params.max_tokens = 12;
  q.params.ignore_eos = true;
  const testing::RequestResult r = RunRequest(engine, q);
  const testing::ChoiceResult& c = r.choices[0];
  ASSERT_EQ(c.tokens.size(), 12u);
  EXPECT_EQ(c.text, Llama().tokenizer->Decode(c.tokens));
  EXPECT_EQ(c.finish, FinishReason::kLength);
  EXPECT_TRUE(c.had_ttft);
  EXPECT_STREQ(FinishReasonName(c.finish), "length");
}

TEST(Engine, EndOfGenerationTokenStopsUnlessIgnored) {
  // Bias the end-of-sequence token up so that it is chosen at once.
  const std::int32_t eos = *Llama().tokenizer->vocab().special.eos;
  Engine engine(Llama().model, *Llama().tokenizer, SmallOptions());
  Request q;
  q.prompt = Prompt(9, 2);
  q.params.temperature = 0;
  q.params.max_tokens = 5;
  q.params.logit_bias[eos] = 100;
  testing::RequestResult r = RunRequest(engine, q);
  EXPECT_EQ(r.choices[0].tokens, std::vector<std::int32_t>{eos});
  EXPECT_EQ(r.choices[0].text, "");
  EXPECT_EQ(r.choices[0].finish, FinishReason::kStop);
  q.params.ignore_eos = true;
  r = RunRequest(engine, q);
  EXPECT_EQ(r.choices[0].tokens.size(), 5u);
  EXPECT_EQ(r.choices[0].finish, FinishReason::kLength);
}

TEST(Engine, StopTokenIdsEndGenerationWithoutTheirText) {
  Engine engine(Llama().model, *Llama().tokenizer, SmallOptions());
  Request q;
  q.prompt = Prompt(12, 3);
  q.params.temperature = 0;
  q.params.max_tokens = 8;
  q.params.ignore_eos = true;
  const testing::RequestResult free_run = RunRequest(engine, q);
  const std::vector<std::int32_t>& all = free_run.choices[0].tokens;
  ASSERT_EQ(all.size(), 8u);
  // Stop at the first occurrence of the fourth token.
  const std::int32_t stop = all[3];
  const auto first = std::find(all.begin(), all.end(), stop) - all.begin();
  q.params.stop_token_ids = {stop};
  const testing::RequestResult r = RunRequest(engine, q);
  EXPECT_EQ(r.choices[0].tokens, std::vector<std::int32_t>(all.begin(), all.begin() + first + 1));
  EXPECT_EQ(r.choices[0].text,
            Llama().tokenizer->Decode(std::span<const std::int32_t>(all).first(first)));
  EXPECT_EQ(r.choices[0].finish, FinishReason::kStop);
}

TEST(Engine, StopStringsMatchAcrossTokenBoundaries) {
  Engine engine(Llama().model, *Llama().tokenizer, SmallOptions());
  const tokenizer::Tokenizer& tok = *Llama().tokenizer;
  Request q;
  q.prompt = tok.Encode("The quick brown fox");
  q.params.temperature = 0;
  q.params.max_tokens = 24;
  q.params.ignore_eos = true;
  const testing::RequestResult free_run = RunRequest(engine, q);
  const std::vector<std::int32_t>& all = free_run.choices[0].tokens;
  // Find two consecutive tokens whose decoded pieces are both non-empty, and a stop string made
  // of the end of one and the start of the next.
  std::string stop;
  std::size_t cut = 0;
  std::string before;
  for (std::size_t i = 1; i + 1 < all.size() && stop.empty(); ++i) {
    const std::string head = tok.Decode(std::span<const std::int32_t>(all).first(i));
    const std::string with_one = tok.Decode(std::span<const std::int32_t>(all).first(i + 1));
    const std::string with_two = tok.Decode(std::span<const std::int32_t>(all).first(i + 2));
    if (with_one.size() >= head.size() + 2 && with_two.size() >= with_one.size() + 2 &&
        with_two.compare(0, with_one.size(), with_one) == 0 &&
        with_one.compare(0, head.size(), head) == 0) {
      const std::size_t start = with_one.size() - 1;  // last byte of token i...
      stop = with_two.substr(start, 2);               // ...and first byte of token i+1
      // Only ASCII keeps this simple.
      if (static_cast<unsigned char>(stop[0]) >= 0x80 ||
          static_cast<unsigned char>(stop[1]) >= 0x80) {
        stop.clear();
        continue;
      }
      before = with_two.substr(0, with_two.find(stop));
      cut = i + 2;
    }
  }
  ASSERT_FALSE(stop.empty()) << "no token boundary to test in: " << free_run.choices[0].text;
  q.params.stop = {stop};
  const testing::RequestResult r = RunRequest(engine, q);
  EXPECT_EQ(r.choices[0].text, before) << "stop '" << stop << "'";
  EXPECT_EQ(r.choices[0].finish, FinishReason::kStop);
  EXPECT_LE(r.choices[0].tokens.size(), cut);
  EXPECT_EQ(r.choices[0].text.find(stop), std::string::npos);
}

TEST(Engine, CancellationFreesBlocksWithinAStep) {
  EngineOptions o = SmallOptions();
  o.prefix_caching = false;  // so that freed blocks count as free, not cached
  Engine engine(Llama().model, *Llama().tokenizer, o);
  Request q;
  q.prompt = Prompt(40, 4);
  q.params.ignore_eos = true;  // no max_tokens: runs until the context is full
  q.request_id = "long-one";
  RequestStream stream;
  EXPECT_EQ(engine.Submit(q, stream.Sink()), "long-one");
  std::optional<Event> first = stream.Next();
  ASSERT_TRUE(first.has_value());
  EXPECT_FALSE(first->finished);
  EXPECT_GT(engine.Stats().kv_blocks_used, 0);
  engine.Cancel("long-one");
  FinishReason reason = FinishReason::kStop;
  int tokens_after = 0;
  while (std::optional<Event> e = stream.Next()) {
    tokens_after += static_cast<int>(e->tokens.size());
    if (e->finished) reason = e->finish_reason;
  }
  EXPECT_EQ(reason, FinishReason::kCancelled);
  EXPECT_LT(tokens_after, 200);
  // The blocks were freed before the cancelled event was sent; the stats follow within a step.
  EngineStats s = engine.Stats();
  for (int i = 0; i < 100 && s.kv_blocks_used != 0; ++i) {
    std::this_thread::sleep_for(5ms);
    s = engine.Stats();
  }
  EXPECT_EQ(s.kv_blocks_used, 0);
  EXPECT_EQ(s.kv_blocks_free, s.kv_blocks_total);
  EXPECT_EQ(s.requests_finished, 1u);
  engine.Cancel("long-one");  // finished: ignored
  engine.Cancel("never-was");
}

TEST(Engine, RejectsRequestsThatCanNeverRun) {
  EngineOptions o = SmallOptions();
  o.kv_memory_bytes = 1;  // smaller than a block
  EXPECT_THROW(Engine(Llama().model, *Llama().tokenizer, o), Error);

  o = SmallOptions();
  Engine engine(Llama().model, *Llama().tokenizer, o);
  auto submit = [&](Request q) { engine.Submit(std::move(q), [](Event&&) {}); };
  Request ok;
  ok.prompt = Prompt(10, 5);
  ok.params.max_tokens = 4;

  Request empty = ok;
  empty.prompt.clear();
  EXPECT_THROW(submit(empty), Error);
  Request bad_token = ok;
  bad_token.prompt[3] = 1 << 30;
  EXPECT_THROW(submit(bad_token), Error);
  Request bad_param = ok;
  bad_param.params.top_p = 1.5f;
  EXPECT_THROW(submit(bad_param), Error);
  Request too_long = ok;
  too_long.params.max_tokens = 250;  // 10 + 250 > 256
  EXPECT_THROW(submit(too_long), Error);
  Request no_room = ok;
  no_room.prompt = Prompt(256, 6);
  no_room.params.max_tokens.reset();
  EXPECT_THROW(submit(no_room), Error);
  const EngineStats s = engine.Stats();
  EXPECT_EQ(s.prompt_tokens, 0u);  // nothing was queued
  EXPECT_EQ(engine.options().context_size, 256);
  EXPECT_EQ(engine.options().threads, 2);
}

TEST(Engine, ARequestLongerThanThePoolIsRejectedUpFront) {
  EngineOptions o = SmallOptions();
  o.context_size = 1024;
  o.max_sequences = 2;
  o.block_size = 16;
  // Room for 4 blocks (64 tokens).
  const model::KvCache probe(Llama().model.config(), {.num_blocks = 1, .block_size = 16});
  o.kv_memory_bytes = 4 * static_cast<std::int64_t>(probe.bytes());
  Engine engine(Llama().model, *Llama().tokenizer, o);
  EXPECT_EQ(engine.Stats().kv_blocks_total, 4);
  Request q;
  q.prompt = Prompt(60, 7);
  q.params.max_tokens = 10;  // 69 tokens of KV
  bool called = false;
  try {
    engine.Submit(q, [&](Event&&) { called = true; });
    ADD_FAILURE() << "accepted a request larger than the pool";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("pool"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(called);
  q.params.max_tokens = 5;  // 64 tokens: fits exactly
  const testing::RequestResult r = RunRequest(engine, q);
  EXPECT_EQ(r.choices[0].tokens.size(), 5u);
}

TEST(Engine, UnlimitedRequestsStopWhenTheContextIsFull) {
  EngineOptions o = SmallOptions();
  o.context_size = 48;
  Engine engine(Llama().model, *Llama().tokenizer, o);
  Request q;
  q.prompt = Prompt(40, 8);
  q.params.ignore_eos = true;
  const testing::RequestResult r = RunRequest(engine, q);
  EXPECT_EQ(r.choices[0].tokens.size(), 8u);
  EXPECT_EQ(r.choices[0].finish, FinishReason::kLength);
}

TEST(Engine, StatsCountTokensStepsAndTheHistogram) {
  Engine engine(Llama().model, *Llama().tokenizer, SmallOptions());
  Request q;
  q.prompt = Prompt(20, 9);
  q.params.max_tokens = 6;
  q.params.ignore_eos = true;
  RunRequest(engine, q);
  const EngineStats s = engine.Stats();
  EXPECT_EQ(s.prompt_tokens, 20u);
  EXPECT_EQ(s.computed_prompt_tokens, 20u);
  EXPECT_EQ(s.generated_tokens, 6u);
  EXPECT_EQ(s.requests_finished, 1u);
  EXPECT_GE(s.steps, 6u);
  ASSERT_EQ(s.step_seconds_bounds.size(), s.step_seconds_cumulative.size());
  EXPECT_EQ(s.step_seconds_cumulative.back(), s.steps);  // every step well under 10 s
  for (std::size_t i = 1; i < s.step_seconds_cumulative.size(); ++i) {
    EXPECT_GE(s.step_seconds_cumulative[i], s.step_seconds_cumulative[i - 1]);
  }
  EXPECT_GT(s.step_seconds_sum, 0);
  EXPECT_EQ(s.running_requests, 0);
  EXPECT_EQ(s.waiting_requests, 0);
}

TEST(Engine, ShutdownFinishesWithinGraceThenCancelsAndRejects) {
  Engine engine(Llama().model, *Llama().tokenizer, SmallOptions());
  Request shortq;
  shortq.prompt = Prompt(8, 10);
  shortq.params.max_tokens = 3;
  shortq.params.ignore_eos = true;
  Request endless = shortq;
  endless.prompt = Prompt(8, 11);
  endless.params.max_tokens.reset();
  RequestStream a, b;
  engine.Submit(shortq, a.Sink());
  engine.Submit(endless, b.Sink());
  // The endless one runs until the grace ends and is then cancelled.
  engine.Shutdown(300ms);
  const testing::RequestResult ra = testing::Collect(a, 1);
  const testing::RequestResult rb = testing::Collect(b, 1);
  EXPECT_EQ(ra.choices[0].finish, FinishReason::kLength);
  EXPECT_EQ(rb.choices[0].finish, FinishReason::kCancelled);
  EXPECT_THROW(engine.Submit(shortq, [](Event&&) {}), EngineStopped);
  engine.Shutdown(0ms);  // idempotent
}

TEST(Engine, DestructorCancelsWhatIsStillRunning) {
  RequestStream stream;
  {
    Engine engine(Llama().model, *Llama().tokenizer, SmallOptions());
    Request q;
    q.prompt = Prompt(8, 12);
    q.params.ignore_eos = true;
    engine.Submit(q, stream.Sink());
  }
  const testing::RequestResult r = testing::Collect(stream, 1);
  EXPECT_EQ(r.choices[0].finish, FinishReason::kCancelled);
}

TEST(Engine, ConcurrentSubmittersAndCancellers) {
  EngineOptions o = SmallOptions();
  o.max_sequences = 4;
  Engine engine(Llama().model, *Llama().tokenizer, o);
  std::vector<std::thread> threads;
  std::atomic<int> finished{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 3; ++i) {
        Request q;
        q.prompt = Prompt(6 + i, 100 + t * 10 + i);
        q.params.max_tokens = 4;
        q.params.ignore_eos = true;
        q.params.seed = t;
        RequestStream s;
        const std::string id = engine.Submit(q, s.Sink());
        if (i == 1) engine.Cancel(id);
        const testing::RequestResult r = testing::Collect(s, 1);
        if (i != 1) {
          EXPECT_EQ(r.choices[0].tokens.size(), 4u);
        }
        ++finished;
        (void)engine.Stats();
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(finished.load(), 12);
  EngineStats s = engine.Stats();
  for (int i = 0; i < 200 && s.requests_finished != 12u; ++i) {
    std::this_thread::sleep_for(5ms);
    s = engine.Stats();
  }
  EXPECT_EQ(s.requests_finished, 12u);
}

}  // namespace
}  // namespace kiln::engine
