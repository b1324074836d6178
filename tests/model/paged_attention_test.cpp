#include "kiln/model/paged_attention.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kiln/kernels/fp16.h"

namespace kiln::model {
namespace {

struct Case {
  int block_size;
  int history;  // tokens in the sequence
  gguf::TensorType type;
};

class PagedAttentionTest : public ::testing::TestWithParam<Case> {};

// Attention through scrambled blocks equals plain softmax attention over the same keys/values.
TEST_P(PagedAttentionTest, MatchesDenseAttention) {
  const Case p = GetParam();
  ModelConfig c;
  c.block_count = 2;
  c.head_count = 2;
  c.head_count_kv = 2;
  c.key_length = 24;
  c.value_length = 20;
  const int blocks_needed = (p.history + p.block_size - 1) / p.block_size;
  KvCache cache(c, {.num_blocks = blocks_needed + 3, .block_size = p.block_size, .type = p.type});
  std::vector<std::int32_t> table;
  for (int b = 0; b < blocks_needed; ++b) table.push_back((b * 7 + 2) % (blocks_needed + 3));

  std::mt19937 rng(42);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<std::vector<float>> keys(p.history), values(p.history);
  for (int t = 0; t < p.history; ++t) {
    keys[t].resize(2 * 24);
    values[t].resize(2 * 20);
    for (float& x : keys[t]) x = d(rng);
    for (float& x : values[t]) x = d(rng);
    if (p.type == gguf::TensorType::kF16) {  // compare against what the cache can hold
      for (float& x : keys[t]) x = kernels::F16ToF32(kernels::F32ToF16(x));
      for (float& x : values[t]) x = kernels::F16ToF32(kernels::F32ToF16(x));
    }
    cache.Store(1, table[t / p.block_size], t % p.block_size, keys[t].data(), values[t].data());
  }
  std::vector<float> q(24);
  for (float& x : q) x = d(rng) * 0.5f;

  for (int position : {0, p.history / 2, p.history - 1}) {
    for (int head = 0; head < 2; ++head) {
      std::vector<double> scores(position + 1);
      double max = -INFINITY;
      for (int t = 0; t <= position; ++t) {
        double s = 0;
        for (int i = 0; i < 24; ++i) s += q[i] * keys[t][head * 24 + i];
        scores[t] = s;
        max = std::max(max, s);
      }
      double sum = 0;
      for (double& s : scores) sum += (s = std::exp(s - max));
      std::vector<float> out(20);
      AttendPaged({q.data(), 1, head, position, table}, cache, out.data());
      for (int i = 0; i < 20; ++i) {
        double ref = 0;
        for (int t = 0; t <= position; ++t) ref += scores[t] / sum * values[t][head * 20 + i];
        EXPECT_NEAR(out[i], ref, 1e-5) << "position " << position << " head " << head;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, PagedAttentionTest,
                         ::testing::Values(Case{16, 1, gguf::TensorType::kF32},
                                           Case{16, 40, gguf::TensorType::kF32},
                                           Case{3, 40, gguf::TensorType::kF16},
                                           Case{1, 9, gguf::TensorType::kF32},
                                           // Blocks longer than the kernel's score chunk.
                                           Case{100, 250, gguf::TensorType::kF16}));

}  // namespace
}  // namespace kiln::model
