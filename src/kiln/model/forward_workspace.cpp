#include "kiln/model/forward_workspace.h"

#include "kiln/base/error.h"

namespace kiln::model {

ForwardWorkspace::ForwardWorkspace(const ModelConfig& c, int max_tokens, int max_outputs)
    : max_tokens_(max_tokens), max_outputs_(max_outputs) {
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
}

}  // namespace kiln::model
