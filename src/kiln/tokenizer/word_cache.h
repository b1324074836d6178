// WordCache: the tokens of recently encoded words, shared by all threads encoding with one
// tokenizer (most text repeats its words, and merging a word costs far more than a lookup).
// A fixed table of cache-line entries indexed by the word's hash, newest word wins a slot:
// bounded memory, no allocation after construction, thread-safe through striped locks.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string_view>
#include <vector>

#include "kiln/tokenizer/vocab.h"

namespace kiln::tokenizer::detail {

class WordCache {
 public:
  // Longer words, or words of more tokens, are not cached: they are rare, and a fixed entry
  // size keeps each lookup to one cache line.
  static constexpr std::size_t kMaxWordBytes = 22;
  static constexpr std::size_t kMaxTokens = 8;

  // `entries` is rounded up to a power of two; 64 bytes each.
  explicit WordCache(std::size_t entries = std::size_t{1} << 15);

  // Appends the tokens of `word` to `out` and returns true when the word is cached.
  bool Lookup(std::string_view word, std::vector<TokenId>& out) const;
  // Remembers the tokens of `word`, replacing whatever word had its slot; ignored for words
  // or token lists over the limits.
  void Insert(std::string_view word, std::span<const TokenId> tokens);

  std::size_t size() const;  // words held now
  std::size_t capacity() const { return mask_ + 1; }

 private:
  struct alignas(64) Entry {
    std::uint8_t length = 0;  // 0: empty (words are never empty)
    std::uint8_t count = 0;
    char bytes[kMaxWordBytes];
    std::uint64_t hash = 0;
    TokenId tokens[kMaxTokens];
  };
  static_assert(sizeof(Entry) == 64);
  static constexpr std::size_t kStripes = 64;  // locks, each guarding every 64th entry

  std::size_t mask_;
  std::unique_ptr<Entry[]> entries_;
  mutable std::array<std::mutex, kStripes> locks_;
};

}  // namespace kiln::tokenizer::detail
