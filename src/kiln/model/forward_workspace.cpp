#include "kiln/model/forward_workspace.h"

#include <algorithm>

#include "kiln/base/error.h"

namespace kiln::model {
namespace {

constexpr int kLogitsChunk = 16;

}  // namespace

ForwardWorkspace::ForwardWorkspace(const ModelConfig& c, int max_tokens, int max_outputs,
                                   ActivationPrecision precision)
    : max_tokens_(max_tokens), max_outputs_(max_outputs), precision_(precision) {
  if (max_tokens < 1 || max_outputs < 1 || max_outputs > max_tokens) {
    Fail("a forward workspace needs 1 <= max_outputs ({}) <= max_tokens ({})", max_outputs,
         max_tokens);
  }
  const std::size_t n = static_cast<std::size_t>(max_tokens);
  residual.resize(n * c.embedding_length);
  normed.resize(n * c.embedding_length);
  q.resize(n * c.q_width());
  k.resize(n * c.k_width());
  v.resize(n * c.v_width());
  attention.resize(n * c.attention_out_width());
  gate.resize(n * c.feed_forward_length);
  up.resize(n * c.feed_forward_length);
  rope_cos.resize(n * (c.rope.dimension_count / 2));
  rope_sin.resize(n * (c.rope.dimension_count / 2));
  output_tokens.resize(max_outputs);
  hidden.resize(static_cast<std::size_t>(max_outputs) * c.embedding_length);
  logits.resize(static_cast<std::size_t>(max_outputs) * c.vocab_size);
  const int widest_input =
      std::max({c.embedding_length, c.attention_out_width(), c.feed_forward_length});
  if (precision == ActivationPrecision::kExact) {
    const int widest_output = std::max(
        {c.q_width(), c.k_width(), c.v_width(), c.embedding_length, c.feed_forward_length});
    // Logits are computed a few tokens at a time so that their doubled rows stay small.
    logits_chunk = std::min(max_outputs, kLogitsChunk);
    split_in.resize(2 * n * widest_input);
    split_out.resize(
        2 * std::max(n * widest_output, static_cast<std::size_t>(logits_chunk) * c.vocab_size));
    matmul_scratch.Reserve(2 * n, widest_input);
  } else {
    matmul_scratch.Reserve(max_tokens, widest_input);
  }
}

}  // namespace kiln::model
