#include "kiln/engine/generator.h"

#include <algorithm>
#include <numeric>

#include "kiln/base/error.h"

namespace kiln::engine {
namespace {

int ResolveContext(const model::ModelConfig& config, int requested) {
  if (requested < 0) Fail("context size must be positive, got {}", requested);
  if (requested > 0) return requested;
  return std::min(
      config.context_length > 0 ? config.context_length : GeneratorOptions::kDefaultContext,
      GeneratorOptions::kDefaultContext);
}

model::KvCacheOptions CacheOptions(int context, const GeneratorOptions& o) {
  if (o.block_size < 1) Fail("KV block size must be positive, got {}", o.block_size);
  return {.num_blocks = (context + o.block_size - 1) / o.block_size,
          .block_size = o.block_size,
          .type = o.cache_type};
}

}  // namespace

Generator::Generator(const model::Model& model, const GeneratorOptions& options,
                     kernels::ThreadPool& pool)
    : model_(model),
      pool_(pool),
      context_size_(ResolveContext(model.config(), options.context_size)),
      max_batch_tokens_(std::clamp(options.max_batch_tokens, 1, context_size_)),
      cache_(model.config(), CacheOptions(context_size_, options)),
      workspace_(model.config(), std::max(max_batch_tokens_, options.max_outputs),
                 std::max(options.max_outputs, 1)) {
  block_table_.resize(cache_.num_blocks());
  std::iota(block_table_.begin(), block_table_.end(), 0);
  const int most = workspace_.max_tokens();
  positions_.resize(most);
  sequences_.assign(most, 0);
  want_logits_.resize(most);
}

std::span<const float> Generator::Feed(std::span<const std::int32_t> tokens) {
  if (tokens.empty()) Fail("nothing to feed: the token list is empty");
  model::ForwardResult result;
  for (std::size_t begin = 0; begin < tokens.size(); begin += max_batch_tokens_) {
    const std::size_t n = std::min<std::size_t>(max_batch_tokens_, tokens.size() - begin);
    result = Forward(tokens.subspan(begin, n), /*all_logits=*/false);
  }
  return result.Logits(0);
}

model::ForwardResult Generator::FeedAll(std::span<const std::int32_t> tokens) {
  if (static_cast<int>(tokens.size()) > workspace_.max_outputs()) {
    Fail("{} tokens need logits but this generator returns at most {} per call", tokens.size(),
         workspace_.max_outputs());
  }
  return Forward(tokens, /*all_logits=*/true);
}

model::ForwardResult Generator::Forward(std::span<const std::int32_t> tokens, bool all_logits) {
  const int n = static_cast<int>(tokens.size());
  if (n == 0) Fail("nothing to feed: the token list is empty");
  if (position_ + n > context_size_) {
    Fail("the sequence would hold {} tokens but the context is {} (raise --ctx-size)",
         position_ + n, context_size_);
  }
  const int vocab = model_.config().vocab_size;
  for (std::int32_t t : tokens) {
    if (t < 0 || t >= vocab) Fail("token id {} is outside the vocabulary (0..{})", t, vocab - 1);
  }
  for (int i = 0; i < n; ++i) {
    positions_[i] = position_ + i;
    want_logits_[i] = all_logits || i == n - 1 ? 1 : 0;
  }
  const std::span<const std::int32_t> table(block_table_);
  const model::ForwardBatch batch{
      .tokens = tokens,
      .positions = std::span<const std::int32_t>(positions_).first(n),
      .sequences = std::span<const std::int32_t>(sequences_).first(n),
      .block_tables = std::span<const std::span<const std::int32_t>>(&table, 1),
      .want_logits = std::span<const std::uint8_t>(want_logits_).first(n),
  };
  model::ForwardResult result = model_.Forward(batch, cache_, workspace_, pool_);
  position_ += n;
  return result;
}

}  // namespace kiln::engine
