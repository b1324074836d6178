// Teacher-forced comparison of the forward pass with the fixtures' float64 oracle, for every
// model that has one, run as one prefill batch, as token-by-token decode, as chunked prefill and
// with all cases batched together as separate sequences (fixtures/README.md).
#include "oracle.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

#include "kiln/model/model.h"
#include "model_runner.h"

namespace kiln::model::testing {
namespace {

const std::string kFixtures = KILN_FIXTURES_DIR;

struct OracleModel {
  const char* name;
  double tolerance;  // from fixtures/README.md
};

void PrintTo(const OracleModel& m, std::ostream* os) {
  *os << m.name;
}

class OracleTest : public ::testing::TestWithParam<OracleModel> {
 protected:
  void SetUp() override {
    model_ =
        std::make_unique<Model>(Model::Load(kFixtures + "/models/" + GetParam().name + ".gguf"));
    oracle_ = LoadOracle(kFixtures + "/oracle/" + GetParam().name + ".json");
    for (const OracleCase& c : oracle_.cases) {
      inputs_.push_back(c.input);
      total_tokens_ += static_cast<int>(c.input.size());
      longest_ = std::max(longest_, static_cast<int>(c.input.size()));
    }
  }

  // Checks every position of every case and reports the worst deviation. The fixture tolerance
  // holds for the default configuration; `looser` widens it for lossy options (8-bit KV cache or
  // activations), which land where llama.cpp does and so need more than its 1.5x margin.
  void Check(const std::vector<std::vector<std::vector<float>>>& logits, const char* mode,
             double looser = 1.0) {
    const double tolerance = GetParam().tolerance * looser;
    double worst = 0;
    int checked = 0, argmax_checked = 0;
    ASSERT_EQ(logits.size(), oracle_.cases.size());
    for (std::size_t ci = 0; ci < oracle_.cases.size(); ++ci) {
      const OracleCase& c = oracle_.cases[ci];
      ASSERT_EQ(logits[ci].size(), c.expected.size()) << c.prompt;
      for (std::size_t p = 0; p < c.expected.size(); ++p) {
        Comparison cmp = Compare(logits[ci][p], c.expected[p]);
        worst = std::max(worst, cmp.worst);
        ++checked;
        // A lossy option may swap near-ties; clear winners must still win.
        const bool argmax_required = c.expected[p].margin >= 0.25 * looser;
        argmax_checked += argmax_required;
        EXPECT_LE(cmp.worst, tolerance) << mode << " case " << ci << " position " << p;
        EXPECT_TRUE(cmp.engine_argmax == c.expected[p].top[0].first || !argmax_required)
            << mode << " case " << ci << " position " << p << ": argmax " << cmp.engine_argmax
            << ", reference " << c.expected[p].top[0].first;
      }
    }
    std::printf(
        "[oracle] %-18s %-14s worst %.5f  tolerance %.2f  llama.cpp %.3f  (%d positions, "
        "%d argmax)\n",
        GetParam().name, mode, worst, tolerance, oracle_.peer_max_logprob_dev, checked,
        argmax_checked);
  }

  int Blocks(int block_size) const {
    return static_cast<int>(oracle_.cases.size()) + total_tokens_ / block_size + 1;
  }

  std::unique_ptr<Model> model_;
  Oracle oracle_;
  std::vector<std::vector<int>> inputs_;
  int total_tokens_ = 0;
  int longest_ = 0;
};

TEST_P(OracleTest, PrefillEachCaseInOneBatch) {
  ModelRunner runner(*model_, longest_, longest_, Blocks(16));
  std::vector<std::vector<std::vector<float>>> logits;
  for (const auto& input : inputs_) logits.push_back(std::move(runner.Run({input}, 0)[0]));
  Check(logits, "prefill");
}

TEST_P(OracleTest, PrefillWithF32Cache) {
  ModelRunner runner(*model_, longest_, longest_, Blocks(16), gguf::TensorType::kF32);
  std::vector<std::vector<std::vector<float>>> logits;
  for (const auto& input : inputs_) logits.push_back(std::move(runner.Run({input}, 0)[0]));
  Check(logits, "prefill-f32kv");
}

TEST_P(OracleTest, PrefillWithQ8_0Cache) {
  ModelRunner runner(*model_, longest_, longest_, Blocks(16), gguf::TensorType::kQ8_0);
  std::vector<std::vector<std::vector<float>>> logits;
  for (const auto& input : inputs_) logits.push_back(std::move(runner.Run({input}, 0)[0]));
  Check(logits, "prefill-q8kv", 2.0);
}

TEST_P(OracleTest, PrefillWithFast8BitActivations) {
  ModelRunner runner(*model_, longest_, longest_, Blocks(16), gguf::TensorType::kF16, 16,
                     ActivationPrecision::kFast);
  std::vector<std::vector<std::vector<float>>> logits;
  for (const auto& input : inputs_) logits.push_back(std::move(runner.Run({input}, 0)[0]));
  Check(logits, "prefill-fast", 2.0);
}

TEST_P(OracleTest, DecodeTokenByToken) {
  ModelRunner runner(*model_, 1, 1, Blocks(16));
  std::vector<std::vector<std::vector<float>>> logits;
  for (const auto& input : inputs_) logits.push_back(std::move(runner.Run({input}, 1)[0]));
  Check(logits, "decode");
}

TEST_P(OracleTest, ChunkedPrefillAcrossBlockBoundaries) {
  // Chunks of 7 over blocks of 5: chunk and block edges fall everywhere.
  ModelRunner runner(*model_, 7, 7, Blocks(5), gguf::TensorType::kF16, 5);
  std::vector<std::vector<std::vector<float>>> logits;
  for (const auto& input : inputs_) logits.push_back(std::move(runner.Run({input}, 7)[0]));
  Check(logits, "chunked");
}

TEST_P(OracleTest, AllCasesAsSequencesOfOneBatch) {
  ModelRunner runner(*model_, total_tokens_, total_tokens_, Blocks(16));
  Check(runner.Run(inputs_, 0), "one-batch");
}

TEST_P(OracleTest, AllCasesDecodedTogether) {
  const int n = static_cast<int>(inputs_.size());
  ModelRunner runner(*model_, n, n, Blocks(16));
  Check(runner.Run(inputs_, 1), "batched-decode");
}

INSTANTIATE_TEST_SUITE_P(
    Models, OracleTest,
    ::testing::Values(OracleModel{"tiny-llama-q8_0", 0.16}, OracleModel{"tiny-llama-q4_0", 0.26},
                      OracleModel{"tiny-llama-q4_k_m", 0.31}, OracleModel{"tiny-qwen2-q8_0", 0.50},
                      OracleModel{"tiny-qwen2-q6_k", 0.88}, OracleModel{"tiny-qwen3-bf16", 0.15}),
    [](const auto& info) {
      std::string name = info.param.name;
      std::replace(name.begin(), name.end(), '-', '_');
      return name;
    });

}  // namespace
}  // namespace kiln::model::testing
