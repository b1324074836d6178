#include "kiln/loadgen/dataset.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <random>
#include <tuple>

#include "kiln/base/error.h"

namespace kiln::loadgen {
namespace {

constexpr std::array<const char*, 48> kWords = {
    "time",   "people", "water",  "light",  "world",  "house",  "story",  "river",
    "music",  "garden", "market", "school", "window", "forest", "winter", "summer",
    "paper",  "stone",  "bridge", "animal", "family", "planet", "engine", "letter",
    "number", "system", "moment", "travel", "silver", "orange", "yellow", "purple",
    "quiet",  "simple", "gentle", "bright", "strong", "narrow", "open",   "early",
    "carry",  "follow", "listen", "answer", "wonder", "build",  "gather", "explain"};

std::string Words(std::mt19937_64& rng, std::int64_t n) {
  std::string text;
  std::uniform_int_distribution<std::size_t> pick(0, kWords.size() - 1);
  for (std::int64_t i = 0; i < n; ++i) {
    if (i > 0) text += ' ';
    text += kWords[pick(rng)];
  }
  return text;
}

// A text of `target` tokens: words drawn from `seed`, their number corrected with the counter
// until the count matches (each correction scales by the observed tokens per word).
std::pair<std::string, std::int64_t> TextOfTokens(std::uint64_t seed, std::int64_t target,
                                                  const TokenCounter& counter) {
  if (target <= 0) return {"", 0};
  std::int64_t words = std::max<std::int64_t>(1, std::llround(0.75 * target));
  auto build = [&](std::int64_t n) {
    std::mt19937_64 rng(seed);  // the same words each time: only the length changes
    return Words(rng, n);
  };
  if (!counter) return {build(words), target};
  std::string best;
  std::int64_t best_tokens = -1;
  for (int attempt = 0; attempt < 8; ++attempt) {
    std::string text = build(words);
    const std::int64_t tokens = counter(text);
    const bool better =
        best_tokens < 0 || std::llabs(tokens - target) < std::llabs(best_tokens - target);
    if (better) {
      best = std::move(text);
      best_tokens = tokens;
    }
    if (tokens == target || tokens <= 0) break;
    std::int64_t next = std::llround(static_cast<double>(words) * target / tokens);
    if (next == words) next += tokens < target ? 1 : -1;
    words = std::max<std::int64_t>(1, next);
  }
  return {best, best_tokens};
}

std::int64_t SampleLength(std::mt19937_64& rng, int len, double ratio) {
  if (ratio <= 0) return len;
  const auto lo = std::max<std::int64_t>(1, std::llround(len * (1 - ratio)));
  const auto hi = std::max<std::int64_t>(lo, std::llround(len * (1 + ratio)));
  return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
}

}  // namespace

std::vector<BenchPrompt> MakeSyntheticPrompts(const SyntheticOptions& options,
                                              const TokenCounter& counter) {
  if (options.count <= 0) Fail("the benchmark needs at least one prompt");
  if (options.range_ratio < 0 || options.range_ratio >= 1) {
    Fail("--range-ratio must be in [0, 1), got {}", options.range_ratio);
  }
  std::mt19937_64 rng(options.seed);
  std::string prefix;
  std::int64_t prefix_tokens = 0;
  if (options.shared_prefix_len > 0) {
    std::tie(prefix, prefix_tokens) = TextOfTokens(rng(), options.shared_prefix_len, counter);
    prefix += '\n';
  }
  std::vector<BenchPrompt> prompts;
  for (int i = 0; i < options.count; ++i) {
    const std::int64_t in = SampleLength(rng, options.input_len, options.range_ratio);
    const std::int64_t out = SampleLength(rng, options.output_len, options.range_ratio);
    auto [text, tokens] = TextOfTokens(rng(), in, counter);
    BenchPrompt p;
    p.prompt = prefix + text;
    p.prompt_tokens = prefix_tokens + tokens;
    p.output_len = out;
    prompts.push_back(std::move(p));
  }
  return prompts;
}

std::vector<BenchPrompt> LoadJsonlPrompts(const std::string& path, int default_output_len) {
  std::ifstream in(path);
  if (!in) Fail("cannot open dataset file '{}'", path);
  std::vector<BenchPrompt> prompts;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) Fail("{}:{}: not a JSON object", path, number);
    BenchPrompt p;
    if (auto it = j.find("prompt"); it != j.end() && it->is_string()) {
      p.prompt = it->get<std::string>();
    } else if (auto m = j.find("messages"); m != j.end() && m->is_array() && !m->empty()) {
      p.messages = *m;
    } else {
      Fail("{}:{}: needs a string \"prompt\" or a non-empty \"messages\" array", path, number);
    }
    p.output_len = default_output_len;
    if (auto it = j.find("output_len"); it != j.end()) {
      if (!it->is_number_integer() || it->get<std::int64_t>() <= 0) {
        Fail("{}:{}: \"output_len\" must be a positive integer", path, number);
      }
      p.output_len = it->get<std::int64_t>();
    }
    prompts.push_back(std::move(p));
  }
  if (prompts.empty()) Fail("dataset file '{}' holds no prompts", path);
  return prompts;
}

}  // namespace kiln::loadgen
