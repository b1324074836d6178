#include "kiln/model/paged_attention.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "kiln/kernels/dequantize.h"
#include "kiln/kernels/vector_ops.h"

namespace kiln::model {
namespace {

struct Case {
  int block_size;
  int history;  // tokens in the sequence
  gguf::TensorType type;
  int dk = 24;
  int dv = 20;
};

// What the cache gives back for `x` (one head's row) stored as `type`.
void RoundTrip(std::vector<float>& x, gguf::TensorType type) {
  if (type == gguf::TensorType::kF32) return;
  std::vector<std::uint8_t> bytes(gguf::RowBytes(type, x.size()));
  kernels::ConvertRow(x.data(), x.size(), type, bytes.data());
  kernels::DequantizeRow(type, bytes.data(), x.data(), static_cast<std::int64_t>(x.size()));
}

class PagedAttentionTest : public ::testing::TestWithParam<Case> {};

// Attention through scrambled blocks equals plain softmax attention over the same keys/values.
TEST_P(PagedAttentionTest, MatchesDenseAttention) {
  const Case p = GetParam();
  ModelConfig c;
  c.block_count = 2;
  c.head_count = 2;
  c.head_count_kv = 2;
  c.key_length = p.dk;
  c.value_length = p.dv;
  const int dk = p.dk, dv = p.dv;
  const int blocks_needed = (p.history + p.block_size - 1) / p.block_size;
  KvCache cache(c, {.num_blocks = blocks_needed + 3, .block_size = p.block_size, .type = p.type});
  std::vector<std::int32_t> table;
  // Distinct blocks, in reverse order and not starting at 0.
  for (int b = 0; b < blocks_needed; ++b) table.push_back(blocks_needed + 1 - b);

  std::mt19937 rng(42);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<std::vector<float>> keys(p.history), values(p.history);
  for (int t = 0; t < p.history; ++t) {
    keys[t].resize(2 * dk);
    values[t].resize(2 * dv);
    for (float& x : keys[t]) x = d(rng);
    for (float& x : values[t]) x = d(rng);
    cache.Store(1, table[t / p.block_size], t % p.block_size, keys[t].data(), values[t].data());
    for (int h = 0; h < 2; ++h) {  // compare against what the cache can hold
      std::vector<float> k(keys[t].begin() + h * dk, keys[t].begin() + (h + 1) * dk);
      std::vector<float> v(values[t].begin() + h * dv, values[t].begin() + (h + 1) * dv);
      RoundTrip(k, p.type);
      RoundTrip(v, p.type);
      std::copy(k.begin(), k.end(), keys[t].begin() + h * dk);
      std::copy(v.begin(), v.end(), values[t].begin() + h * dv);
    }
  }
  std::vector<float> q(dk);
  for (float& x : q) x = d(rng) * 0.5f;

  for (int position : {0, p.history / 2, p.history - 1}) {
    for (int head = 0; head < 2; ++head) {
      std::vector<double> scores(position + 1);
      double max = -INFINITY;
      for (int t = 0; t <= position; ++t) {
        double s = 0;
        for (int i = 0; i < dk; ++i) s += q[i] * keys[t][head * dk + i];
        scores[t] = s;
        max = std::max(max, s);
      }
      double sum = 0;
      for (double& s : scores) sum += (s = std::exp(s - max));
      std::vector<float> out(dv);
      AttendPaged({q.data(), 1, head, position, table}, cache, out.data());
      for (int i = 0; i < dv; ++i) {
        double ref = 0;
        for (int t = 0; t <= position; ++t) ref += scores[t] / sum * values[t][head * dv + i];
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
                                           Case{100, 250, gguf::TensorType::kF16},
                                           Case{16, 50, gguf::TensorType::kQ8_0, 32, 64},
                                           Case{7, 30, gguf::TensorType::kQ8_0, 64, 32}));

}  // namespace
}  // namespace kiln::model
