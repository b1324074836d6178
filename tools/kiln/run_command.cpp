// kiln run [MODEL] -p PROMPT: loads a model, prefills the prompt in one batched forward pass and
// streams a sampled continuation to stdout, with prompt and generation speeds on stderr. With
// --json, one JSON line per generated token (id, text, log-probabilities) instead of the text.
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "commands.h"
#include "kiln/base/error.h"
#include "kiln/engine/generator.h"
#include "kiln/engine/logprobs.h"
#include "kiln/engine/sampler.h"
#include "kiln/engine/sampling_params.h"
#include "kiln/model/model.h"
#include "kiln/tokenizer/tokenizer.h"
#include "model_path.h"

namespace kiln::cli {
namespace {

struct RunOptions {
  std::string model = "kiln-demo";
  std::optional<std::string> prompt;
  std::optional<std::string> prompt_ids;
  int max_tokens = 128;
  float temperature = 0.8f;
  int top_k = 40;
  float top_p = 0.95f;
  float min_p = 0.05f;
  std::optional<std::uint64_t> seed;
  int threads = 0;
  int context_size = 0;
  bool json = false;
  int logprobs = 0;
  bool ignore_eos = false;
};

using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

std::vector<std::int32_t> ParseIds(const std::string& text, int vocab_size) {
  std::vector<std::int32_t> ids;
  std::size_t begin = 0;
  while (begin <= text.size()) {
    std::size_t end = text.find(',', begin);
    if (end == std::string::npos) end = text.size();
    const std::string item = text.substr(begin, end - begin);
    std::size_t used = 0;
    long long value = -1;
    try {
      value = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (item.empty() || used != item.size()) {
      Fail("--prompt-ids: '{}' is not a token id (expected comma-separated integers)", item);
    }
    if (value < 0 || value >= vocab_size) {
      Fail("--prompt-ids: token id {} is outside the vocabulary (0..{})", value, vocab_size - 1);
    }
    ids.push_back(static_cast<std::int32_t>(value));
    begin = end + 1;
  }
  return ids;
}

bool IsEndOfGeneration(const tokenizer::Vocab& vocab, std::int32_t id) {
  for (tokenizer::TokenId end : vocab.special.end_of_generation) {
    if (end == id) return true;
  }
  return false;
}

nlohmann::json TokenJson(std::int32_t id, const std::string& text,
                         const engine::TokenLogprobs* logprobs) {
  nlohmann::json line = {{"id", id}, {"text", text}};
  if (logprobs != nullptr) {
    line["logprob"] = logprobs->chosen.logprob;
    nlohmann::json top = nlohmann::json::array();
    for (const engine::TokenLogprob& t : logprobs->top) {
      top.push_back({{"id", t.token}, {"logprob", t.logprob}});
    }
    line["top_logprobs"] = std::move(top);
  }
  return line;
}

void Run(const RunOptions& o) {
  if (o.prompt.has_value() == o.prompt_ids.has_value()) {
    Fail("give the prompt as text (-p) or as token ids (--prompt-ids), exactly one of them");
  }
  if (o.logprobs < 0 || o.logprobs > engine::SamplingParams::kMaxTopLogprobs) {
    Fail("--logprobs must be in 0..{}, got {}", engine::SamplingParams::kMaxTopLogprobs,
         o.logprobs);
  }
  const std::string path = ResolveModelPath(o.model);
  const model::Model model = model::Model::Load(path);
  const std::unique_ptr<tokenizer::Tokenizer> tok = tokenizer::Tokenizer::FromGguf(model.file());
  const tokenizer::Vocab& vocab = tok->vocab();
  const int vocab_size = model.config().vocab_size;

  const std::vector<std::int32_t> prompt =
      o.prompt ? tok->Encode(*o.prompt) : ParseIds(*o.prompt_ids, vocab_size);
  if (prompt.empty()) Fail("the prompt is empty: nothing to continue from");

  engine::SamplingParams params;
  params.temperature = o.temperature;
  params.top_k = o.top_k;
  params.top_p = o.top_p;
  params.min_p = o.min_p;
  params.seed = o.seed;
  params.Validate(vocab_size);
  engine::Sampler sampler(params, vocab_size, engine::ResolveSeed(params));

  const int threads = o.threads > 0
                          ? o.threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  kernels::ThreadPool pool(threads);
  engine::GeneratorOptions gen_options;
  gen_options.context_size = o.context_size;
  gen_options.max_batch_tokens = std::max<int>(512, static_cast<int>(prompt.size()));
  engine::Generator generator(model, gen_options, pool);
  const int limit =
      o.max_tokens < 0 ? generator.context_size() - static_cast<int>(prompt.size()) : o.max_tokens;

  tokenizer::IncrementalDecoder decoder(*tok);
  engine::LogprobCalculator logprob_calculator;
  engine::TokenLogprobs logprobs;

  const Clock::time_point start = Clock::now();
  std::span<const float> logits = generator.Feed(prompt);
  const Clock::time_point prefilled = Clock::now();

  int generated = 0;
  while (generated < limit) {
    const std::int32_t id = sampler.Sample(logits);
    ++generated;
    const bool end = !o.ignore_eos && IsEndOfGeneration(vocab, id);
    if (o.json) {
      if (o.logprobs > 0) logprob_calculator.Compute(logits, id, o.logprobs, logprobs);
      const std::string text = end ? std::string() : decoder.Push(id);
      fmt::print("{}\n", TokenJson(id, text, o.logprobs > 0 ? &logprobs : nullptr)
                             .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    } else if (!end) {
      fmt::print("{}", decoder.Push(id));
    }
    std::fflush(stdout);
    if (end || generated == limit) break;
    if (generator.position() >= generator.context_size()) break;
    logits = generator.Feed(std::span<const std::int32_t>(&id, 1));
  }
  const Clock::time_point done = Clock::now();
  if (!o.json) fmt::print("{}\n", decoder.Flush());
  std::fflush(stdout);

  const double prefill_s = Seconds(prefilled - start);
  const double decode_s = Seconds(done - prefilled);
  fmt::print(stderr,
             "kiln: prompt {} tokens in {:.3f} s ({:.1f} tok/s), generated {} tokens in {:.3f} s "
             "({:.1f} tok/s), {} threads, seed {}\n",
             prompt.size(), prefill_s, prompt.size() / std::max(prefill_s, 1e-9), generated,
             decode_s, generated / std::max(decode_s, 1e-9), threads, sampler.seed());
}

}  // namespace

void RegisterRunCommand(CLI::App& app) {
  auto options = std::make_shared<RunOptions>();
  CLI::App* run = app.add_subcommand("run", "Generate a continuation of a prompt");
  run->add_option("model", options->model,
                  "GGUF model file, or kiln-demo (the default) for the built-in random demo model");
  run->add_option("-p,--prompt", options->prompt, "Prompt text");
  run->add_option("--prompt-ids", options->prompt_ids,
                  "Prompt as comma-separated token ids (no BOS is added)");
  run->add_option("-n,--max-tokens", options->max_tokens,
                  "Most tokens to generate (-1: until the context is full)");
  run->add_option("--temp", options->temperature, "Temperature (0: greedy)");
  run->add_option("--top-k", options->top_k, "Keep the k most likely tokens (0: off)");
  run->add_option("--top-p", options->top_p, "Nucleus sampling mass (1: off)");
  run->add_option("--min-p", options->min_p, "Minimum probability relative to the best (0: off)");
  run->add_option("--seed", options->seed,
                  "Random seed (default: a fresh one, printed at the end)");
  run->add_option("-t,--threads", options->threads, "Threads (default: all cores)");
  run->add_option("-c,--ctx-size", options->context_size,
                  "Context size in tokens (default: the model's, at most 4096)");
  run->add_flag("--json", options->json, "One JSON line per generated token instead of text");
  run->add_option("--logprobs", options->logprobs,
                  "With --json: the K most likely tokens' log-probabilities (raw logits)");
  run->add_flag("--ignore-eos", options->ignore_eos, "Do not stop at end-of-generation tokens");
  run->callback([options] { Run(*options); });
}

}  // namespace kiln::cli
