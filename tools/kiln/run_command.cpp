// kiln run [MODEL] -p PROMPT: loads a model, serves the prompt through the engine (the same path
// as the HTTP server, with one sequence) and streams the sampled continuation to stdout, with
// prompt and generation speeds on stderr. With --json, one JSON line per generated token (id,
// text, log-probabilities) instead of the text.
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "commands.h"
#include "kiln/base/error.h"
#include "kiln/engine/engine.h"
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
  const int vocab_size = model.config().vocab_size;

  engine::Request request;
  request.prompt = o.prompt ? tok->Encode(*o.prompt) : ParseIds(*o.prompt_ids, vocab_size);
  if (request.prompt.empty()) Fail("the prompt is empty: nothing to continue from");
  const int prompt_size = static_cast<int>(request.prompt.size());

  engine::SamplingParams& params = request.params;
  params.temperature = o.temperature;
  params.top_k = o.top_k;
  params.top_p = o.top_p;
  params.min_p = o.min_p;
  params.seed = o.seed;
  params.ignore_eos = o.ignore_eos;
  params.logprobs = o.json && o.logprobs > 0;
  params.top_logprobs = params.logprobs ? o.logprobs : 0;
  params.Validate(vocab_size);
  params.seed = engine::ResolveSeed(params);  // resolved here so that it can be printed

  // One sequence: the engine's pool holds exactly its context.
  engine::EngineOptions options;
  options.max_sequences = 1;
  options.context_size = o.context_size;
  options.threads = o.threads;
  options.model_id = path;
  engine::Engine engine(model, *tok, options);
  const int context = engine.options().context_size;
  // -n beyond the context stops at the context's end, as -1 does.
  if (o.max_tokens >= 0 && prompt_size + o.max_tokens <= context) params.max_tokens = o.max_tokens;

  const Clock::time_point start = Clock::now();
  engine::RequestStream stream;
  engine.Submit(std::move(request), stream.Sink());

  std::optional<Clock::time_point> first_token;
  int generated = 0;
  while (std::optional<engine::Event> event = stream.Next()) {
    if (!event->error.empty()) Fail("generation failed: {}", event->error);
    if (!event->tokens.empty() && !first_token) first_token = Clock::now();
    generated += static_cast<int>(event->tokens.size());
    if (o.json) {
      for (std::size_t i = 0; i < event->tokens.size(); ++i) {
        // One line per token; an event carries the text of its tokens on its last one.
        const std::string text = i + 1 == event->tokens.size() ? event->text : std::string();
        fmt::print("{}\n", TokenJson(event->tokens[i], text,
                                     event->logprobs.empty() ? nullptr : &event->logprobs[i])
                               .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      }
    } else {
      fmt::print("{}", event->text);
    }
    std::fflush(stdout);
  }
  const Clock::time_point done = Clock::now();
  if (!o.json) fmt::print("\n");
  std::fflush(stdout);

  const Clock::time_point prefilled = first_token.value_or(done);
  const double prefill_s = Seconds(prefilled - start);
  const double decode_s = Seconds(done - prefilled);
  const int decoded = std::max(generated - 1, 0);  // the first token came with the prefill
  fmt::print(stderr,
             "kiln: prompt {} tokens in {:.3f} s ({:.1f} tok/s), generated {} tokens in {:.3f} s "
             "({:.1f} tok/s), {} threads, seed {}\n",
             prompt_size, prefill_s, prompt_size / std::max(prefill_s, 1e-9), generated, decode_s,
             decoded / std::max(decode_s, 1e-9), engine.options().threads, *params.seed);
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
