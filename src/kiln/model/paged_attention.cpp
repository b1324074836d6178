#include "kiln/model/paged_attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "kiln/kernels/vector_ops.h"

namespace kiln::model {
namespace {

// Keys scored at once; bounds the stack buffer whatever the block size.
constexpr int kChunk = 64;

}  // namespace

void AttendPaged(const AttentionQuery& query, const KvCache& cache, float* out) {
  const int block_size = cache.block_size();
  const std::size_t dk = cache.key_length();
  const std::size_t dv = cache.value_length();
  std::fill(out, out + dv, 0.0f);

  float running_max = -std::numeric_limits<float>::infinity();
  float running_sum = 0.0f;
  float scores[kChunk];
  const int history = query.position + 1;
  for (int start = 0; start < history; start += block_size) {
    const int block = query.block_table[start / block_size];
    const int in_block = std::min(block_size, history - start);
    kernels::RowsView keys = cache.Keys(query.layer, block, query.kv_head);
    kernels::RowsView values = cache.Values(query.layer, block, query.kv_head);
    for (int first = 0; first < in_block; first += kChunk) {
      const int n = std::min(kChunk, in_block - first);
      kernels::RowDots(query.q, keys.From(first), n, dk, scores);

      const float chunk_max = *std::max_element(scores, scores + n);
      if (chunk_max > running_max) {
        // Rescale what was accumulated against the old maximum.
        const float correction = std::exp(running_max - chunk_max);
        if (running_sum > 0.0f) kernels::Scale(correction, out, dv);
        running_sum *= correction;
        running_max = chunk_max;
      }
      for (int j = 0; j < n; ++j) {
        scores[j] = std::exp(scores[j] - running_max);
        running_sum += scores[j];
      }
      kernels::AccumulateRows(scores, values.From(first), n, dv, out);
    }
  }
  kernels::Scale(1.0f / running_sum, out, dv);
}

}  // namespace kiln::model
