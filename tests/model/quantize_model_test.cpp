// Quantizes a real F16 fixture with model::QuantizeModel and checks the result: tensor types by
// llama.cpp's rules, metadata, and logits close to the F16 model's.
#include "kiln/model/quantize_model.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "kiln/base/error.h"
#include "kiln/gguf/gguf_file.h"
#include "kiln/kernels/thread_pool.h"
#include "kiln/model/forward_batch.h"
#include "kiln/model/model.h"

namespace kiln::model {
namespace {

using gguf::TensorType;

const std::string kF16Model = std::string(KILN_FIXTURES_DIR) + "/models/check-qwen3-f16.gguf";

// Per process: CTest runs each test of this suite as its own process, in parallel, and every one
// writes and removes the suite's files.
std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + "kiln_quantize_" + std::to_string(::getpid()) + "_" + name +
         ".gguf";
}

// ||got - ref|| / ||ref|| over the logits of every position: the relative error that weight
// quantization leaves in the output (random-weight fixtures amplify it, see fixtures/README.md).
double RelativeLogitError(const std::vector<std::vector<float>>& ref,
                          const std::vector<std::vector<float>>& got) {
  double diff = 0, norm = 0;
  for (std::size_t p = 0; p < ref.size(); ++p) {
    for (std::size_t i = 0; i < ref[p].size(); ++i) {
      diff += (ref[p][i] - got[p][i]) * (ref[p][i] - got[p][i]);
      norm += ref[p][i] * ref[p][i];
    }
  }
  return std::sqrt(diff / norm);
}

std::vector<std::vector<float>> Logits(const std::string& path, const std::vector<int>& tokens) {
  const Model model = Model::Load(path);
  const int n = static_cast<int>(tokens.size());
  KvCache cache(model.config(), {.num_blocks = (n + 15) / 16, .block_size = 16});
  ForwardWorkspace workspace(model.config(), n, n);
  kernels::ThreadPool pool(2);
  BatchBuilder builder;
  std::vector<std::int32_t> table((n + 15) / 16);
  for (std::size_t i = 0; i < table.size(); ++i) table[i] = static_cast<std::int32_t>(i);
  const int sequence = builder.AddSequence(table);
  for (int i = 0; i < n; ++i) builder.AddToken(tokens[i], i, sequence, true);
  const ForwardResult result = model.Forward(builder.View(), cache, workspace, pool);
  std::vector<std::vector<float>> logits;
  for (int i = 0; i < n; ++i) logits.emplace_back(result.Logits(i).begin(), result.Logits(i).end());
  return logits;
}

class QuantizeModelTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    kernels::ThreadPool pool(2);
    q8_report_ = new QuantizeReport(QuantizeModel(kF16Model, TempPath("q8_0"), "q8_0", pool));
    q4km_report_ = new QuantizeReport(QuantizeModel(kF16Model, TempPath("q4_k_m"), "q4_k_m", pool));
  }
  static void TearDownTestSuite() {
    delete q8_report_;
    delete q4km_report_;
    std::filesystem::remove(TempPath("q8_0"));
    std::filesystem::remove(TempPath("q4_k_m"));
  }
  static QuantizeReport* q8_report_;
  static QuantizeReport* q4km_report_;
};
QuantizeReport* QuantizeModelTest::q8_report_ = nullptr;
QuantizeReport* QuantizeModelTest::q4km_report_ = nullptr;

TEST_F(QuantizeModelTest, WritesTheTypesLlamaCppWould) {
  const gguf::GgufFile in = gguf::GgufFile::Open(kF16Model);
  const gguf::GgufFile q8 = gguf::GgufFile::Open(TempPath("q8_0"));
  const gguf::GgufFile q4 = gguf::GgufFile::Open(TempPath("q4_k_m"));
  EXPECT_EQ(q8.GetUInt("general.file_type"), 7u);
  EXPECT_EQ(q4.GetUInt("general.file_type"), 15u);
  EXPECT_EQ(q4.GetString("general.architecture"), in.GetString("general.architecture"));
  ASSERT_EQ(q4.tensors().size(), in.tensors().size());
  const int n_layers = static_cast<int>(*in.GetUInt(in.architecture() + ".block_count"));
  const bool tied = in.FindTensor("output.weight") == nullptr;
  int q6k = 0;
  for (const gguf::TensorInfo& t : in.tensors()) {
    const TensorType t8 = q8.RequireTensor(t.name).type;
    const TensorType t4 = q4.RequireTensor(t.name).type;
    if (t.shape.size() == 1) {
      EXPECT_EQ(t8, TensorType::kF32) << t.name;
      EXPECT_EQ(t4, TensorType::kF32) << t.name;
      continue;
    }
    EXPECT_EQ(t8, TensorType::kQ8_0) << t.name;
    const bool output = t.name == "output.weight" || (tied && t.name == "token_embd.weight");
    int layer = -1;
    if (t.name.rfind("blk.", 0) == 0) layer = std::stoi(t.name.substr(4));
    const bool more_bits = layer >= 0 && (layer < n_layers / 8 || layer >= 7 * n_layers / 8 ||
                                          (layer - n_layers / 8) % 3 == 2);
    const bool sensitive =
        t.name.find("attn_v") != std::string::npos || t.name.find("ffn_down") != std::string::npos;
    const TensorType expected =
        output || (sensitive && more_bits) ? TensorType::kQ6_K : TensorType::kQ4_K;
    EXPECT_EQ(t4, expected) << t.name;
    q6k += t4 == TensorType::kQ6_K;
  }
  EXPECT_GE(q6k, 2);  // the rule is exercised, not vacuous
  EXPECT_LT(q4km_report_->output_bytes, q8_report_->output_bytes);
}

TEST_F(QuantizeModelTest, LogitsStayCloseToTheF16Model) {
  const std::vector<int> tokens = {1, 15, 300, 42, 999, 7, 123, 2048, 5, 77, 640, 12};
  const auto f16 = Logits(kF16Model, tokens);
  const double q8_error = RelativeLogitError(f16, Logits(TempPath("q8_0"), tokens));
  const double q4_error = RelativeLogitError(f16, Logits(TempPath("q4_k_m"), tokens));
  RecordProperty("q8_0_rms", std::to_string(q8_error));
  RecordProperty("q4_k_m_rms", std::to_string(q4_error));
  std::printf("relative logit error vs F16: q8_0 %.4f, q4_k_m %.4f\n", q8_error, q4_error);
  // Measured 0.022 and 0.22; unrelated logits would give about 1.4.
  EXPECT_LT(q8_error, 0.05);
  EXPECT_LT(q4_error, 0.4);
  EXPECT_LT(q8_error, q4_error);  // more bits, closer
  EXPECT_GT(q4_error, 0.0);       // the file really changed
}

TEST(QuantizeModel, RejectsUnknownTypesAndMissingFiles) {
  kernels::ThreadPool pool(1);
  EXPECT_THROW(QuantizeModel(kF16Model, TempPath("bad"), "q3_x", pool), Error);
  EXPECT_THROW(QuantizeModel("/nonexistent.gguf", TempPath("bad"), "q8_0", pool), Error);
  EXPECT_FALSE(std::filesystem::exists(TempPath("bad")));
}

TEST(QuantizeModel, KTypesFallBackWhenRowsDoNotTile) {
  EXPECT_EQ(ChooseTensorType(15, "blk.0.attn_q.weight", {384, 64}, 8, false), TensorType::kQ5_0);
  EXPECT_EQ(ChooseTensorType(15, "blk.0.attn_q.weight", {512, 64}, 8, false), TensorType::kQ4_K);
  EXPECT_EQ(ChooseTensorType(2, "output.weight", {512, 64}, 8, false), TensorType::kQ6_K);
  EXPECT_EQ(ChooseTensorType(7, "output.weight", {512, 64}, 8, false), TensorType::kQ8_0);
  EXPECT_EQ(ChooseTensorType(1, "blk.0.attn_norm.weight", {512}, 8, false), TensorType::kF32);
}

}  // namespace
}  // namespace kiln::model
