// The forward pass against the float64 reference forward (check-* fixtures and synthetic
// models with options no fixture has), the batch API's contract, and load-time errors.
#include "kiln/model/model.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>

#include "kiln/base/error.h"
#include "kiln/kernels/dequantize.h"
#include "model_runner.h"
#include "oracle.h"
#include "reference_forward.h"
#include "synthetic_model.h"

namespace kiln::model {
namespace {

using testing::GgufBuilder;
using testing::ModelRunner;
using testing::ReferenceForward;
using testing::SyntheticModel;
using testing::SyntheticSpec;

const std::string kFixtures = KILN_FIXTURES_DIR;

std::vector<int> RandomTokens(int n, int vocab, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(0, vocab - 1);
  std::vector<int> t(n);
  for (int& x : t) x = d(rng);
  return t;
}

// Largest |engine - reference| log-probability over the reference's top `k` at every position.
double WorstDeviation(const std::vector<std::vector<float>>& logits,
                      const std::vector<std::vector<double>>& reference, int k = 10) {
  double worst = 0;
  for (std::size_t p = 0; p < reference.size(); ++p) {
    std::vector<std::pair<int, double>> top;
    for (std::size_t i = 0; i < reference[p].size(); ++i) top.emplace_back(i, reference[p][i]);
    std::partial_sort(top.begin(), top.begin() + k, top.end(),
                      [](const auto& a, const auto& b) { return a.second > b.second; });
    top.resize(k);
    testing::OracleDistribution expected{top, top[0].second - top[1].second};
    worst = std::max(worst, testing::Compare(logits[p], expected).worst);
  }
  return worst;
}

// Prefill, decode and chunked runs of `tokens` all agree with the reference within `tolerance`.
void ExpectMatchesReference(const Model& model, const ReferenceForward& reference,
                            const std::vector<int>& tokens, double tolerance,
                            const std::string& label) {
  const auto expected = reference.LogProbs(tokens);
  const int n = static_cast<int>(tokens.size());
  ModelRunner runner(model, n, n, n / 4 + 2, gguf::TensorType::kF32, 4);
  for (int chunk : {0, 1, 5}) {
    const double worst = WorstDeviation(runner.Run({tokens}, chunk)[0], expected);
    std::printf("[reference] %-28s chunk %d worst %.6f (tolerance %.4f)\n", label.c_str(), chunk,
                worst, tolerance);
    EXPECT_LE(worst, tolerance) << label << " chunk " << chunk;
  }
}

TEST(ReferenceForwardTest, AgreesWithTheOracle) {
  // The test reference itself must be right before it can vouch for the engine.
  for (const char* name : {"tiny-llama-q4_k_m", "tiny-qwen2-q6_k", "tiny-qwen3-bf16"}) {
    ReferenceForward reference(kFixtures + "/models/" + name + ".gguf");
    testing::Oracle oracle = testing::LoadOracle(kFixtures + "/oracle/" + name + ".json");
    const testing::OracleCase& c = oracle.cases[0];
    const auto logprobs = reference.LogProbs(c.input);
    for (std::size_t p = 0; p < c.expected.size(); ++p) {
      for (const auto& [token, logprob] : c.expected[p].top) {
        ASSERT_NEAR(logprobs[p][token], logprob, 2e-5) << name << " position " << p;
      }
    }
  }
}

TEST(ModelTest, CheckModelsMatchTheReferenceForward) {
  for (const char* name :
       {"check-llama-q4_1", "check-llama-q5_k_m", "check-qwen2-q4_k_s", "check-qwen3-f16"}) {
    const std::string path = kFixtures + "/models/" + name + ".gguf";
    Model model = Model::Load(path);
    ReferenceForward reference(path);
    ExpectMatchesReference(model, reference, RandomTokens(24, model.config().vocab_size, 7), 0.01,
                           name);
  }
}

struct SyntheticCase {
  const char* label;
  SyntheticSpec spec;
  const char* extra_key = nullptr;  // set to a float, e.g. a RoPE scaling factor
  float extra_value = 0;
};

TEST(ModelTest, SyntheticModelsMatchTheReferenceForward) {
  const SyntheticCase cases[] = {
      {"llama rope_freqs + linear x2", {.rope_freqs = true}, "llama.rope.scaling.factor", 2.0f},
      {"llama f16 head 24, rotate 16",
       {.key_length = 24, .rope_dims = 16, .weight_type = gguf::TensorType::kF16}},
      {"qwen2 tied, biases", {.architecture = "qwen2", .tied_output = true}},
      {"qwen3 head 32, mqa",
       {.architecture = "qwen3", .kv_heads = 1, .key_length = 32, .tied_output = true}},
  };
  for (const SyntheticCase& c : cases) {
    GgufBuilder builder = SyntheticModel(c.spec);
    if (c.extra_key) builder.Set(c.extra_key, c.extra_value);
    const std::vector<std::uint8_t> bytes = builder.Build();
    Model model(gguf::GgufFile::Parse(bytes, c.label));
    EXPECT_EQ(model.weights().tied_output, c.spec.tied_output);
    // The reference reads files; give it one.
    const std::string path =
        ::testing::TempDir() + "synthetic_" + std::to_string(::getpid()) + ".gguf";
    std::FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
    ReferenceForward reference(path);
    ExpectMatchesReference(model, reference, RandomTokens(19, c.spec.vocab, 3), 2e-3, c.label);
  }
}

class BatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = std::make_unique<Model>(Model::Load(kFixtures + "/models/tiny-qwen2-q8_0.gguf"));
  }
  std::unique_ptr<Model> model_;
};

TEST_F(BatchTest, OnlyFlaggedTokensGetLogitsInBatchOrderWithTheirHiddenStates) {
  const std::vector<int> tokens = RandomTokens(20, model_->config().vocab_size, 11);
  ModelRunner runner(*model_, 20, 20, 4, gguf::TensorType::kF16, 8);
  const auto all = runner.Run({tokens}, 0)[0];

  BatchBuilder b;
  int seq = b.AddSequence({1, 0, 3});
  const std::vector<int> wanted = {3, 12, 19};
  for (int p = 0; p < 20; ++p) {
    b.AddToken(tokens[p], p, seq, std::count(wanted.begin(), wanted.end(), p) > 0);
  }
  ForwardResult r = model_->Forward(b.View(), runner.cache(), runner.workspace(), runner.pool());
  ASSERT_EQ(r.n_outputs, 3);
  ASSERT_EQ(r.logits.size(), 3u * model_->config().vocab_size);
  const Weight& out = model_->weights().output;
  std::vector<float> row(out.cols);
  for (int o = 0; o < 3; ++o) {
    for (int i = 0; i < model_->config().vocab_size; i += 97) {
      EXPECT_NEAR(r.Logits(o)[i], all[wanted[o]][i], 1e-4) << o;
    }
    // Logits are the output matrix applied to the exposed hidden state.
    for (int v : {0, 5000, 50258}) {
      kernels::DequantizeRow(out.type, RowOf(out, v), row.data(), out.cols);
      double dot = 0;
      for (int i = 0; i < out.cols; ++i) dot += row[i] * static_cast<double>(r.Hidden(o)[i]);
      EXPECT_NEAR(r.Logits(o)[v], dot, 0.02 * (1 + std::abs(dot))) << o << " " << v;
    }
  }
}

TEST_F(BatchTest, SequencesCanShareAPrefixBlock) {
  // B's first block is A's; B computes only its own tokens and gets what a fresh run gets.
  const int bs = 8;
  std::vector<int> a = RandomTokens(20, model_->config().vocab_size, 21);
  std::vector<int> b = a;
  b.resize(bs);
  const std::vector<int> tail = RandomTokens(9, model_->config().vocab_size, 22);
  b.insert(b.end(), tail.begin(), tail.end());

  ModelRunner fresh(*model_, 17, 17, 3, gguf::TensorType::kF16, bs);
  const auto expected = fresh.Run({b}, 0)[0];

  ModelRunner runner(*model_, 20, 20, 8, gguf::TensorType::kF16, bs);
  BatchBuilder batch;
  int sa = batch.AddSequence({5, 2, 7});
  for (int p = 0; p < 20; ++p) batch.AddToken(a[p], p, sa, false);
  model_->Forward(batch.View(), runner.cache(), runner.workspace(), runner.pool());
  batch.Clear();
  int sb = batch.AddSequence({5, 1, 4});
  for (int p = bs; p < 17; ++p) batch.AddToken(b[p], p, sb, true);
  ForwardResult r =
      model_->Forward(batch.View(), runner.cache(), runner.workspace(), runner.pool());
  ASSERT_EQ(r.n_outputs, 9);
  for (int o = 0; o < 9; ++o) {
    double worst = 0;
    for (std::size_t i = 0; i < expected[bs + o].size(); ++i) {
      worst = std::max(worst, static_cast<double>(std::abs(r.Logits(o)[i] - expected[bs + o][i])));
    }
    EXPECT_LT(worst, 1e-4) << o;
  }
}

TEST_F(BatchTest, HiddenStatesWithoutLogitsEqualTheOutputHiddenStates) {
  const std::vector<int> tokens = RandomTokens(12, model_->config().vocab_size, 31);
  const int embd = model_->config().embedding_length;
  kernels::ThreadPool pool(2);
  ForwardWorkspace ws(model_->config(), 12, 12);
  std::vector<std::vector<float>> expected;
  {
    KvCache cache(model_->config(), {.num_blocks = 3, .block_size = 8});
    BatchBuilder b;
    const int seq = b.AddSequence({0, 1});
    for (int p = 0; p < 12; ++p) b.AddToken(tokens[p], p, seq, true);
    const ForwardResult r = model_->Forward(b.View(), cache, ws, pool);
    for (int o = 0; o < 12; ++o) expected.emplace_back(r.Hidden(o).begin(), r.Hidden(o).end());
  }
  KvCache cache(model_->config(), {.num_blocks = 3, .block_size = 8});
  BatchBuilder b;
  const int seq = b.AddSequence({2, 0});
  for (int p = 0; p < 12; ++p) b.AddToken(tokens[p], p, seq, p == 11);
  std::vector<std::uint8_t> hidden(12, 1);
  hidden[4] = 0;
  ForwardBatch batch = b.View();
  batch.want_hidden = hidden;
  const ForwardResult r = model_->Forward(batch, cache, ws, pool);
  EXPECT_EQ(r.n_outputs, 1);  // logits only where asked
  ASSERT_EQ(r.token_hidden.size(), 12u * embd);
  for (int t = 0; t < 12; ++t) {
    if (!hidden[t]) continue;
    const std::span<const float> h = r.TokenHidden(t);
    EXPECT_TRUE(std::equal(h.begin(), h.end(), expected[t].begin())) << t;
  }
  std::vector<std::uint8_t> wrong(5, 1);
  batch.want_hidden = wrong;
  EXPECT_THROW(model_->Forward(batch, cache, ws, pool), Error);
}

// Continuous batching relies on this: a token's logits are bit-for-bit the same whatever else
// shares its forward call and however its prompt was cut into chunks.
TEST_F(BatchTest, PerTokenResultsDoNotDependOnBatchCompositionOrChunking) {
  const int vocab = model_->config().vocab_size;
  const std::vector<int> a = RandomTokens(21, vocab, 41);
  const std::vector<int> other = RandomTokens(30, vocab, 42);
  kernels::ThreadPool pool(2);
  ForwardWorkspace ws(model_->config(), 64, 8);

  // Alone: the whole prompt in one call, then one decode step.
  std::vector<float> alone_prefill, alone_decode;
  {
    KvCache cache(model_->config(), {.num_blocks = 8, .block_size = 8});
    BatchBuilder b;
    const int s = b.AddSequence({0, 1, 2});
    for (int p = 0; p < 20; ++p) b.AddToken(a[p], p, s, p == 19);
    ForwardResult r = model_->Forward(b.View(), cache, ws, pool);
    alone_prefill.assign(r.Logits(0).begin(), r.Logits(0).end());
    b.Clear();
    b.AddSequence({0, 1, 2});
    b.AddToken(a[20], 20, 0, true);
    r = model_->Forward(b.View(), cache, ws, pool);
    alone_decode.assign(r.Logits(0).begin(), r.Logits(0).end());
  }
  // Batched: chunks of 7, 7 and 6 next to another sequence's tokens, then a decode step in a
  // batch with 30 prompt tokens of the other sequence.
  KvCache cache(model_->config(), {.num_blocks = 16, .block_size = 8});
  BatchBuilder b;
  ForwardResult r;
  for (int start = 0; start < 20; start += 7) {
    b.Clear();
    const int so = b.AddSequence({8, 9, 10, 11});
    const int s = b.AddSequence({5, 3, 6});
    for (int i = 0; i < 3; ++i) b.AddToken(other[start / 7 * 3 + i], start / 7 * 3 + i, so, true);
    const int end = std::min(start + 7, 20);
    for (int p = start; p < end; ++p) b.AddToken(a[p], p, s, p == 19);
    r = model_->Forward(b.View(), cache, ws, pool);
  }
  ASSERT_EQ(r.n_outputs, 4);
  EXPECT_TRUE(std::equal(alone_prefill.begin(), alone_prefill.end(), r.Logits(3).begin()));
  b.Clear();
  const int s = b.AddSequence({5, 3, 6});
  const int so = b.AddSequence({12, 13, 14, 15});
  b.AddToken(a[20], 20, s, true);
  for (int p = 0; p < 30; ++p) b.AddToken(other[p], p, so, p % 10 == 0);
  r = model_->Forward(b.View(), cache, ws, pool);
  EXPECT_TRUE(std::equal(alone_decode.begin(), alone_decode.end(), r.Logits(0).begin()));
}

std::string ForwardError(const Model& model, ForwardBatch batch, KvCache& cache,
                         ForwardWorkspace& ws, kernels::ThreadPool& pool) {
  try {
    model.Forward(batch, cache, ws, pool);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST_F(BatchTest, MalformedBatchesAreErrors) {
  KvCache cache(model_->config(), {.num_blocks = 4, .block_size = 4});
  ForwardWorkspace ws(model_->config(), 4, 2);
  kernels::ThreadPool pool(1);
  auto error = [&](auto edit) {
    BatchBuilder b;
    int s = b.AddSequence({0, 1});
    b.AddToken(10, 0, s, true);
    b.AddToken(11, 1, s, false);
    edit(b);
    return ForwardError(*model_, b.View(), cache, ws, pool);
  };
  auto has = [](const std::string& error, const char* text) {
    return error.find(text) != std::string::npos;
  };
  EXPECT_EQ(error([](BatchBuilder&) {}), "(no error)");
  EXPECT_TRUE(has(error([](BatchBuilder& b) { b.AddToken(50259, 2, 0, false); }),
                  "token id 50259 is outside the vocabulary of 50259"));
  EXPECT_TRUE(has(error([](BatchBuilder& b) { b.AddToken(1, 8, 0, false); }),
                  "position 8 of sequence 0 is outside its 8 cache slots"));
  EXPECT_TRUE(has(error([](BatchBuilder& b) { b.AddToken(1, 2, 1, false); }),
                  "sequence 1 has no block table"));
  EXPECT_TRUE(has(error([](BatchBuilder& b) { b.AddSequence({4}); }),
                  "block 4 is outside the KV cache's 4 blocks"));
  EXPECT_TRUE(has(error([](BatchBuilder& b) {
                    for (int p = 2; p < 5; ++p) b.AddToken(1, p, 0, false);
                  }),
                  "batch of 5 tokens exceeds the workspace's 4"));
  EXPECT_TRUE(has(error([](BatchBuilder& b) {
                    for (int p = 2; p < 4; ++p) b.AddToken(1, p, 0, true);
                  }),
                  "wants 3 logits rows but the workspace holds 2"));
  ForwardBatch ragged;
  std::vector<std::int32_t> tokens = {1, 2};
  ragged.tokens = tokens;
  EXPECT_TRUE(has(ForwardError(*model_, ragged, cache, ws, pool), "2 tokens but 0 positions"));

  KvCache other(ReadModelConfig(gguf::GgufFile::Open(kFixtures + "/models/tiny-qwen3-bf16.gguf")),
                {.num_blocks = 4});
  EXPECT_TRUE(has(ForwardError(*model_, {}, other, ws, pool), "does not match the model"));
}

std::string LoadError(const GgufBuilder& builder) {
  const std::vector<std::uint8_t> bytes = builder.Build();
  try {
    Model model(gguf::GgufFile::Parse(bytes, "synthetic.gguf"));
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ModelLoadTest, MissingMisshapenAndUnsupportedTensorsAreNamed) {
  try {
    Model::Load(kFixtures + "/vocab/ggml-vocab-llama-spm.gguf");
    FAIL() << "a vocabulary-only file loaded as a model";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tensor token_embd.weight is missing"), std::string::npos)
        << e.what();
  }

  GgufBuilder b = SyntheticModel({});
  EXPECT_EQ(LoadError(b), "(no error)");
  b.AddTensor("blk.1.attn_k.weight", {64, 64}, gguf::TensorType::kF32,
              std::vector<std::uint8_t>(64 * 64 * 4));
  EXPECT_NE(LoadError(b).find("tensor blk.1.attn_k.weight has shape [64, 64] but the model's "
                              "configuration needs [64, 32]"),
            std::string::npos)
      << LoadError(b);

  b = SyntheticModel({});
  b.AddTensor("blk.0.ffn_up.weight", {64, 96}, gguf::TensorType::kI32,
              std::vector<std::uint8_t>(64 * 96 * 4));
  const std::string error = LoadError(b);
  EXPECT_NE(error.find("blk.0.ffn_up.weight is I32, which Kiln cannot compute with; supported "
                       "types: F32, F16"),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("Q4_K"), std::string::npos) << error;

  b = SyntheticModel({.architecture = "qwen3"});
  b.RemoveTensor("blk.1.attn_k_norm.weight");
  EXPECT_NE(LoadError(b).find("tensor blk.1.attn_k_norm.weight is missing"), std::string::npos);
}

}  // namespace
}  // namespace kiln::model
