// ForwardBatch: one forward call's input, in the shape a continuous-batching scheduler produces:
// a flat list of tokens from any number of sequences, each with its position and the sequence
// it belongs to, plus every sequence's block table into the paged KV cache. ForwardResult holds
// the outputs (views into the caller's ForwardWorkspace).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace kiln::model {

struct ForwardBatch {
  std::span<const std::int32_t> tokens;
  std::span<const std::int32_t> positions;  // position of each token in its sequence
  std::span<const std::int32_t> sequences;  // per token: index into block_tables
  // Per sequence: the KV-cache blocks holding positions [i * block_size, (i + 1) * block_size).
  // Each token's keys and values are written to its slot, then it attends to positions
  // 0..position of its sequence, all of which must be in the cache or in this batch.
  std::span<const std::span<const std::int32_t>> block_tables;
  // Per token: nonzero when its logits are wanted (a prefill needs only its last token's).
  std::span<const std::uint8_t> want_logits;
  // Optional, per token (empty = none): nonzero when its final hidden state (after the output
  // norm) is wanted without logits — embeddings pool these over a whole prompt, and computing
  // vocabulary logits for every prompt token would cost far more than the pass itself.
  std::span<const std::uint8_t> want_hidden = {};
};

// An owning ForwardBatch, for callers that assemble one token at a time (tests, simple loops).
class BatchBuilder {
 public:
  // Adds a sequence with the given block table; returns its index.
  int AddSequence(std::vector<std::int32_t> block_table) {
    tables_.push_back(std::move(block_table));
    return static_cast<int>(tables_.size()) - 1;
  }
  void AddToken(std::int32_t token, std::int32_t position, int sequence, bool want_logits) {
    tokens_.push_back(token);
    positions_.push_back(position);
    sequences_.push_back(sequence);
    want_logits_.push_back(want_logits ? 1 : 0);
  }
  void Clear() {
    tables_.clear();
    tokens_.clear();
    positions_.clear();
    sequences_.clear();
    want_logits_.clear();
  }
  std::size_t size() const { return tokens_.size(); }

  // A view valid until the builder changes.
  ForwardBatch View() {
    table_views_.assign(tables_.begin(), tables_.end());
    return {tokens_, positions_, sequences_, table_views_, want_logits_};
  }

 private:
  std::vector<std::vector<std::int32_t>> tables_;
  std::vector<std::span<const std::int32_t>> table_views_;
  std::vector<std::int32_t> tokens_, positions_, sequences_;
  std::vector<std::uint8_t> want_logits_;
};

struct ForwardResult {
  int n_outputs = 0;
  int vocab_size = 0;
  int embedding_length = 0;
  std::span<const float> logits;  // [n_outputs][vocab_size], in batch order of want_logits
  std::span<const float> hidden;  // [n_outputs][embedding_length], after the final norm
  // [batch tokens][embedding_length], after the final norm; rows are meaningful only for the
  // tokens marked in ForwardBatch::want_hidden (empty when none was).
  std::span<const float> token_hidden;

  std::span<const float> Logits(int output) const {
    return logits.subspan(static_cast<std::size_t>(output) * vocab_size, vocab_size);
  }
  std::span<const float> TokenHidden(int token) const {
    return token_hidden.subspan(static_cast<std::size_t>(token) * embedding_length,
                                embedding_length);
  }
  std::span<const float> Hidden(int output) const {
    return hidden.subspan(static_cast<std::size_t>(output) * embedding_length, embedding_length);
  }
};

}  // namespace kiln::model
