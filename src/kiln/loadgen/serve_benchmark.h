// A whole `kiln bench serve` run: builds the prompts (synthetic, sized with the server's
// /tokenize when it has one, or from a JSONL file), runs each load level in turn, and collects
// the report; progress and finished levels are handed to callbacks as they happen.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "kiln/loadgen/report.h"

namespace kiln::loadgen {

struct ServeBenchOptions {
  RunOptions run;
  std::vector<int> concurrency = {1};  // closed-loop levels, used when request_rates is empty
  std::vector<double> request_rates;   // open-loop levels (requests/s)
  std::string dataset = "synthetic";   // or the path of a JSONL file
  SyntheticOptions synthetic;          // count is derived from the run when left at 0
  bool use_server_tokenizer = true;
  Slo slo;
};

struct ServeBenchCallbacks {
  std::function<void(const std::string& message)> on_message;  // setup steps, for a log line
  std::function<void(const LoadLevel& level)> on_level_start;
  ProgressCallback on_progress;
  std::function<void(const LevelResult& level)> on_level_done;
};

BenchReport RunServeBenchmark(const ServeBenchOptions& options,
                              const ServeBenchCallbacks& callbacks);

// "[#########.........]  45/100" for a terminal status line (total 0: a spinner-less count).
std::string ProgressBar(std::size_t done, std::size_t total, int width = 30);

}  // namespace kiln::loadgen
