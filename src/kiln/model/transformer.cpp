// The decoder forward pass shared by llama, qwen2 and qwen3: pre-norm attention and SwiGLU
// feed-forward blocks around a residual stream. Architecture differences (biases, Q/K norms,
// RoPE pairing) are switched by the weights and config, never by architecture name.
#include <algorithm>
#include <cmath>

#include "kiln/kernels/matmul.h"
#include "kiln/kernels/vector_ops.h"
#include "kiln/model/model.h"
#include "kiln/model/paged_attention.h"

namespace kiln::model {
namespace {

// Per-token loops are short; hand each thread several tokens at a time.
constexpr std::int64_t kTokenGrain = 4;

// y = x·Wᵀ for n tokens. In kExact precision, quantized weights multiply each token's 8-bit part
// and 8-bit remainder as 2n rows of one MatMul call, and the two products are added.
void Project(const Weight& w, const float* x, int n, float* y, ForwardWorkspace& ws,
             kernels::ThreadPool& pool) {
  const std::int64_t block = kernels::ActivationBlockSize(w.type);
  if (ws.precision() == ActivationPrecision::kFast || block == 1) {
    kernels::MatMul(w, x, n, y, pool, ws.matmul_scratch);
    return;
  }
  const std::size_t cols = w.cols, rows = w.rows;
  const int capacity =
      static_cast<int>(std::min(ws.split_in.size() / (2 * cols), ws.split_out.size() / (2 * rows)));
  for (int first = 0; first < n; first += capacity) {
    const int count = std::min(capacity, n - first);
    float* hi = ws.split_in.data();
    float* lo = hi + count * cols;
    pool.ParallelFor(count, kTokenGrain, [&](std::int64_t begin, std::int64_t end, int) {
      for (std::int64_t t = begin; t < end; ++t) {
        kernels::SplitForInt8(x + (first + t) * cols, cols, block, hi + t * cols, lo + t * cols);
      }
    });
    kernels::MatMul(w, hi, 2 * count, ws.split_out.data(), pool, ws.matmul_scratch);
    pool.ParallelFor(count, kTokenGrain, [&](std::int64_t begin, std::int64_t end, int) {
      for (std::int64_t t = begin; t < end; ++t) {
        float* out = y + (first + t) * rows;
        const float* from_hi = ws.split_out.data() + t * rows;
        const float* from_lo = from_hi + count * rows;
        std::copy(from_hi, from_hi + rows, out);
        kernels::AddTo(from_lo, out, rows);
      }
    });
  }
}

float* Row(std::vector<float>& buffer, std::int64_t token, int width) {
  return buffer.data() + static_cast<std::size_t>(token) * width;
}

}  // namespace

ForwardResult Model::Forward(const ForwardBatch& batch, KvCache& cache, ForwardWorkspace& ws,
                             kernels::ThreadPool& pool) const {
  CheckBatch(batch, cache, ws);
  const int n = static_cast<int>(batch.tokens.size());
  const int embd = config_.embedding_length;
  const int pairs = config_.rope.dimension_count / 2;

  pool.ParallelFor(n, kTokenGrain, [&](std::int64_t begin, std::int64_t end, int) {
    for (std::int64_t t = begin; t < end; ++t) {
      EmbedToken(batch.tokens[t], Row(ws.residual, t, embd));
      rope_.Angles(batch.positions[t], Row(ws.rope_cos, t, pairs), Row(ws.rope_sin, t, pairs));
    }
  });

  for (int layer = 0; layer < config_.block_count; ++layer) {
    AttentionBlock(layer, batch, cache, ws, pool);
    FeedForwardBlock(layer, n, ws, pool);
  }

  // Hidden states without logits (embeddings): the final norm into `normed`, free by now.
  bool any_hidden = false;
  for (std::uint8_t w : batch.want_hidden) any_hidden = any_hidden || w != 0;
  if (any_hidden) {
    pool.ParallelFor(n, kTokenGrain, [&](std::int64_t begin, std::int64_t end, int) {
      for (std::int64_t t = begin; t < end; ++t) {
        if (!batch.want_hidden[t]) continue;
        kernels::RmsNorm(Row(ws.residual, t, embd), weights_.output_norm.data(), embd,
                         config_.rms_epsilon, Row(ws.normed, t, embd));
      }
    });
  }

  // Only the tokens that want logits go through the final norm and the output matrix.
  int outputs = 0;
  for (int t = 0; t < n; ++t) {
    if (batch.want_logits[t]) ws.output_tokens[outputs++] = t;
  }
  for (int o = 0; o < outputs; ++o) {
    kernels::RmsNorm(Row(ws.residual, ws.output_tokens[o], embd), weights_.output_norm.data(), embd,
                     config_.rms_epsilon, Row(ws.hidden, o, embd));
  }
  if (outputs > 0) Project(weights_.output, ws.hidden.data(), outputs, ws.logits.data(), ws, pool);

  ForwardResult result;
  result.n_outputs = outputs;
  result.vocab_size = config_.vocab_size;
  result.embedding_length = embd;
  result.logits = {ws.logits.data(), static_cast<std::size_t>(outputs) * config_.vocab_size};
  result.hidden = {ws.hidden.data(), static_cast<std::size_t>(outputs) * embd};
  if (any_hidden) result.token_hidden = {ws.normed.data(), static_cast<std::size_t>(n) * embd};
  return result;
}

void Model::AttentionBlock(int layer, const ForwardBatch& batch, KvCache& cache,
                           ForwardWorkspace& ws, kernels::ThreadPool& pool) const {
  const LayerWeights& w = weights_.layers[layer];
  const ModelConfig& c = config_;
  const int n = static_cast<int>(batch.tokens.size());
  const int embd = c.embedding_length;
  const int pairs = c.rope.dimension_count / 2;
  const float softmax_scale = static_cast<float>(1.0 / std::sqrt(c.key_length));

  pool.ParallelFor(n, kTokenGrain, [&](std::int64_t begin, std::int64_t end, int) {
    for (std::int64_t t = begin; t < end; ++t) {
      kernels::RmsNorm(Row(ws.residual, t, embd), w.attn_norm.data(), embd, c.rms_epsilon,
                       Row(ws.normed, t, embd));
    }
  });
  Project(w.attn_q, ws.normed.data(), n, ws.q.data(), ws, pool);
  Project(w.attn_k, ws.normed.data(), n, ws.k.data(), ws, pool);
  Project(w.attn_v, ws.normed.data(), n, ws.v.data(), ws, pool);

  // Per token: biases, per-head norms, RoPE, then keys and values into the cache.
  pool.ParallelFor(n, kTokenGrain, [&](std::int64_t begin, std::int64_t end, int) {
    for (std::int64_t t = begin; t < end; ++t) {
      float* q = Row(ws.q, t, c.q_width());
      float* k = Row(ws.k, t, c.k_width());
      float* v = Row(ws.v, t, c.v_width());
      if (!w.q_bias.empty()) {
        kernels::AddTo(w.q_bias.data(), q, c.q_width());
        kernels::AddTo(w.k_bias.data(), k, c.k_width());
        kernels::AddTo(w.v_bias.data(), v, c.v_width());
      }
      if (!w.q_norm.empty()) {
        for (int h = 0; h < c.head_count; ++h) {
          float* head = q + h * c.key_length;
          kernels::RmsNorm(head, w.q_norm.data(), c.key_length, c.rms_epsilon, head);
        }
        for (int h = 0; h < c.head_count_kv; ++h) {
          float* head = k + h * c.key_length;
          kernels::RmsNorm(head, w.k_norm.data(), c.key_length, c.rms_epsilon, head);
        }
      }
      const float* cos = Row(ws.rope_cos, t, pairs);
      const float* sin = Row(ws.rope_sin, t, pairs);
      rope_.Rotate(q, c.head_count, c.key_length, cos, sin);
      rope_.Rotate(k, c.head_count_kv, c.key_length, cos, sin);
      kernels::Scale(softmax_scale, q, c.q_width());

      const int position = batch.positions[t];
      const auto& table = batch.block_tables[batch.sequences[t]];
      cache.Store(layer, table[position / cache.block_size()], position % cache.block_size(), k, v);
    }
  });

  // Every (token, head) pair attends independently over its own sequence.
  const int group = c.head_count / c.head_count_kv;
  pool.ParallelFor(static_cast<std::int64_t>(n) * c.head_count, 1,
                   [&](std::int64_t begin, std::int64_t end, int) {
                     for (std::int64_t i = begin; i < end; ++i) {
                       const int t = static_cast<int>(i / c.head_count);
                       const int h = static_cast<int>(i % c.head_count);
                       AttentionQuery query;
                       query.q = Row(ws.q, t, c.q_width()) + h * c.key_length;
                       query.layer = layer;
                       query.kv_head = h / group;
                       query.position = batch.positions[t];
                       query.block_table = batch.block_tables[batch.sequences[t]];
                       AttendPaged(
                           query, cache,
                           Row(ws.attention, t, c.attention_out_width()) + h * c.value_length);
                     }
                   });

  Project(w.attn_output, ws.attention.data(), n, ws.normed.data(), ws, pool);
  pool.ParallelFor(n, kTokenGrain, [&](std::int64_t begin, std::int64_t end, int) {
    for (std::int64_t t = begin; t < end; ++t) {
      kernels::AddTo(Row(ws.normed, t, embd), Row(ws.residual, t, embd), embd);
    }
  });
}

void Model::FeedForwardBlock(int layer, int n, ForwardWorkspace& ws,
                             kernels::ThreadPool& pool) const {
  const LayerWeights& w = weights_.layers[layer];
  const int embd = config_.embedding_length;
  const int ffn = config_.feed_forward_length;

  pool.ParallelFor(n, kTokenGrain, [&](std::int64_t begin, std::int64_t end, int) {
    for (std::int64_t t = begin; t < end; ++t) {
      kernels::RmsNorm(Row(ws.residual, t, embd), w.ffn_norm.data(), embd, config_.rms_epsilon,
                       Row(ws.normed, t, embd));
    }
  });
  Project(w.ffn_gate, ws.normed.data(), n, ws.gate.data(), ws, pool);
  Project(w.ffn_up, ws.normed.data(), n, ws.up.data(), ws, pool);
  pool.ParallelFor(n, kTokenGrain, [&](std::int64_t begin, std::int64_t end, int) {
    for (std::int64_t t = begin; t < end; ++t) {
      kernels::SwiGlu(Row(ws.gate, t, ffn), Row(ws.up, t, ffn), ffn, Row(ws.gate, t, ffn));
    }
  });
  Project(w.ffn_down, ws.gate.data(), n, ws.normed.data(), ws, pool);
  pool.ParallelFor(n, kTokenGrain, [&](std::int64_t begin, std::int64_t end, int) {
    for (std::int64_t t = begin; t < end; ++t) {
      kernels::AddTo(Row(ws.normed, t, embd), Row(ws.residual, t, embd), embd);
    }
  });
}

}  // namespace kiln::model
