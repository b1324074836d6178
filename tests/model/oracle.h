// Test helpers around the fixtures' float64 oracle files (fixtures/README.md): loading the
// cases, and teacher-forcing checks of the engine's logits against the reference top-10.
#pragma once

#include <span>
#include <string>
#include <utility>
#include <vector>

namespace kiln::model::testing {

struct OracleDistribution {
  std::vector<std::pair<int, double>> top;  // reference top-10 (token, log-probability)
  double margin = 0;                        // first minus second log-probability
};

struct OracleCase {
  std::string prompt;
  std::vector<int> prompt_ids;
  std::vector<int> step_tokens;
  // The teacher-forced input (prompt + every step token but the last) and, for each of its
  // positions, the reference distribution after it.
  std::vector<int> input;
  std::vector<OracleDistribution> expected;
};

struct Oracle {
  std::string model;
  double peer_max_logprob_dev = 0;
  std::vector<OracleCase> cases;
};

Oracle LoadOracle(const std::string& path);

// How one distribution compared; `worst` is the largest |engine - reference| log-probability
// over the reference top-10.
struct Comparison {
  double worst = 0;
  bool argmax_required = false;
  bool argmax_ok = true;
  int engine_argmax = -1;
};

Comparison Compare(std::span<const float> logits, const OracleDistribution& expected);

}  // namespace kiln::model::testing
