// Causal attention of one query head over its sequence's keys and values in the paged KV cache,
// one block at a time with a running (online) softmax, so no score buffer grows with context.
#pragma once

#include <cstdint>
#include <span>

#include "kiln/model/kv_cache.h"

namespace kiln::model {

struct AttentionQuery {
  const float* q;  // key_length floats, RoPE applied and pre-multiplied by the softmax scale
  int layer;
  int kv_head;
  int position;  // attends to positions 0..position
  std::span<const std::int32_t> block_table;
};

// out (value_length floats) = softmax(q . K^T) V over the query's history.
void AttendPaged(const AttentionQuery& query, const KvCache& cache, float* out);

}  // namespace kiln::model
