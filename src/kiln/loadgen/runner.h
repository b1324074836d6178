// Runs one load level against a server: closed loop (a fixed number of requests in flight,
// each worker sending its next request as soon as the last one ends) or open loop (requests
// sent at Poisson arrival times from a seeded generator, however many are in flight).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "kiln/loadgen/dataset.h"
#include "kiln/loadgen/http_client.h"
#include "kiln/loadgen/statistics.h"

namespace kiln::loadgen {

struct RunOptions {
  ServerUrl url;
  std::string model;
  std::string api_key;
  bool chat = true;               // /v1/chat/completions, else /v1/completions
  bool ignore_eos = true;         // ask the server to generate exactly max_tokens
  std::int64_t max_requests = 0;  // per level; 0: no limit (then duration_s must be set)
  double duration_s = 0;          // per level; 0: no limit; no request starts after it
  std::chrono::milliseconds timeout{600'000};
  std::uint64_t seed = 0;
};

struct LoadLevel {
  bool open_loop = false;
  int concurrency = 1;      // closed loop
  double request_rate = 0;  // open loop, requests/s
};

struct LevelResult {
  LevelSummary summary;
  std::vector<RequestRecord> records;  // in completion order
};

// Called after each completed request, on the thread that runs the level.
using ProgressCallback = std::function<void(std::size_t done, std::size_t total)>;

// Prompts are used in order and cycled. kiln::Error for options that cannot run.
LevelResult RunLevel(const RunOptions& options, const LoadLevel& level,
                     std::span<const BenchPrompt> prompts, const Slo& slo,
                     const ProgressCallback& progress);

// The JSON body of one streamed request (with stream_options.include_usage).
std::string BuildRequestBody(const RunOptions& options, const BenchPrompt& prompt);

// The server's POST /tokenize as a TokenCounter when it answers {"tokens": [...]} (Kiln, vLLM)
// or {"count": N}; an empty function when it does not offer one.
TokenCounter ServerTokenCounter(const RunOptions& options);

}  // namespace kiln::loadgen
