// The prompts a serving benchmark sends: synthetic ones built to a token length (with the
// server's own tokenizer when a token counter is given, else from ~0.75 words per token), an
// optional shared prefix, or prompts read from a JSONL file.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace kiln::loadgen {

struct BenchPrompt {
  std::string prompt;              // for /v1/completions, and as the user message for chat
  nlohmann::json messages;         // a chat conversation from a dataset file; null when absent
  std::int64_t prompt_tokens = 0;  // as built (from the counter, or the word estimate)
  std::int64_t output_len = 0;     // max_tokens to ask for
};

struct SyntheticOptions {
  int count = 100;
  int input_len = 512;
  int output_len = 128;
  double range_ratio = 0.0;   // lengths uniform in [len * (1 - r), len * (1 + r)]
  int shared_prefix_len = 0;  // tokens of one prefix prepended to every prompt
  std::uint64_t seed = 0;
};

// Counts the tokens of a text in the server's tokenizer.
using TokenCounter = std::function<std::int64_t(const std::string& text)>;

// Builds `count` prompts; with no counter, a prompt of n tokens has round(0.75 n) words.
std::vector<BenchPrompt> MakeSyntheticPrompts(const SyntheticOptions& options,
                                              const TokenCounter& counter);

// Reads one JSON object a line: {"prompt": "...", "output_len": N} or {"messages": [...]};
// lines without output_len get `default_output_len`. kiln::Error names the bad line.
std::vector<BenchPrompt> LoadJsonlPrompts(const std::string& path, int default_output_len);

}  // namespace kiln::loadgen
