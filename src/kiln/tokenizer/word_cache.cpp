#include "kiln/tokenizer/word_cache.h"

#include <algorithm>
#include <cstring>
#include <functional>

namespace kiln::tokenizer::detail {

WordCache::WordCache(std::size_t entries) {
  std::size_t capacity = kStripes;
  while (capacity < entries) capacity *= 2;
  mask_ = capacity - 1;
  entries_ = std::make_unique<Entry[]>(capacity);
}

bool WordCache::Lookup(std::string_view word, std::vector<TokenId>& out) const {
  if (word.empty() || word.size() > kMaxWordBytes) return false;
  const std::uint64_t hash = std::hash<std::string_view>{}(word);
  const std::size_t index = hash & mask_;
  const Entry& e = entries_[index];
  std::lock_guard lock(locks_[index % kStripes]);
  if (e.hash != hash || e.length != word.size() ||
      std::memcmp(e.bytes, word.data(), word.size()) != 0) {
    return false;
  }
  out.insert(out.end(), e.tokens, e.tokens + e.count);
  return true;
}

void WordCache::Insert(std::string_view word, std::span<const TokenId> tokens) {
  if (word.empty() || word.size() > kMaxWordBytes || tokens.size() > kMaxTokens) return;
  const std::uint64_t hash = std::hash<std::string_view>{}(word);
  const std::size_t index = hash & mask_;
  Entry& e = entries_[index];
  std::lock_guard lock(locks_[index % kStripes]);
  e.hash = hash;
  e.length = static_cast<std::uint8_t>(word.size());
  e.count = static_cast<std::uint8_t>(tokens.size());
  std::memcpy(e.bytes, word.data(), word.size());
  std::copy(tokens.begin(), tokens.end(), e.tokens);
}

std::size_t WordCache::size() const {
  std::size_t held = 0;
  for (std::size_t i = 0; i <= mask_; ++i) {
    std::lock_guard lock(locks_[i % kStripes]);
    held += entries_[i].length > 0 ? 1 : 0;
  }
  return held;
}

}  // namespace kiln::tokenizer::detail
