// Byte-level BPE (tokenizer.ggml.model = "gpt2"): the text is split into words by the
// pre-tokenizer, each word starts as one token per byte (GPT-2's byte alphabet), and adjacent
// tokens are merged by merge rank, lowest rank first and leftmost first among equals, until no
// listed merge applies. This is Hugging Face's BPE model and llama.cpp's llm_tokenizer_bpe.
#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <unordered_map>

#include "kiln/base/error.h"
#include "kiln/base/log.h"
#include "kiln/tokenizer/byte_level.h"
#include "kiln/tokenizer/pretokenizer.h"
#include "kiln/tokenizer/tokenizer.h"
#include "kiln/tokenizer/tokenizer_kinds.h"
#include "kiln/tokenizer/word_cache.h"

namespace kiln::tokenizer {
namespace {

// Merges by the pair of token ids they join: open addressing over a power-of-two table, because
// the lookup sits in the innermost loop of encoding.
class MergeTable {
 public:
  struct Merge {
    std::int32_t rank = -1;  // position in tokenizer.ggml.merges; lower merges first
    TokenId result = -1;
  };

  void Reserve(std::size_t count) {
    std::size_t capacity = 16;
    while (capacity < count * 2) capacity *= 2;
    slots_.assign(capacity, Slot{});
    mask_ = capacity - 1;
  }

  // Keeps the first merge of a pair, as llama.cpp and Hugging Face do.
  void Insert(TokenId left, TokenId right, Merge merge) {
    const std::uint64_t key = Key(left, right);
    for (std::size_t i = Hash(key);; i = (i + 1) & mask_) {
      Slot& slot = slots_[i];
      if (slot.key == key) return;
      if (slot.key == kEmpty) {
        slot = {key, merge};
        return;
      }
    }
  }

  Merge Find(TokenId left, TokenId right) const {
    const std::uint64_t key = Key(left, right);
    for (std::size_t i = Hash(key);; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (slot.key == key) return slot.merge;
      if (slot.key == kEmpty) return {};
    }
  }

 private:
  static constexpr std::uint64_t kEmpty = ~std::uint64_t{0};  // ids are non-negative
  struct Slot {
    std::uint64_t key = kEmpty;
    Merge merge;
  };
  static std::uint64_t Key(TokenId left, TokenId right) {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(left)) << 32) |
           static_cast<std::uint32_t>(right);
  }
  std::size_t Hash(std::uint64_t key) const {
    return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ull) >> 20) & mask_;
  }

  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
};

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// Scratch space for encoding, reused across the words of one call so that the hot loop does not
// allocate.
struct Workspace {
  struct Symbol {
    TokenId id;  // -1: a byte the vocabulary has no token for, or a symbol merged away
    std::int32_t prev;
    std::int32_t next;
  };
  struct Candidate {
    std::int32_t rank;
    std::int32_t left;  // symbol index; the leftmost pair of a rank merges first
    std::int32_t right;
    TokenId left_id, right_id, result;
  };
  // Orders the heap so that its front is the lowest rank, then the leftmost position.
  static bool Later(const Candidate& a, const Candidate& b) {
    return a.rank != b.rank ? a.rank > b.rank : a.left > b.left;
  }

  std::vector<std::string_view> words;
  std::vector<Symbol> symbols;
  std::vector<Candidate> heap;
};

class BytePairTokenizer final : public Tokenizer {
 public:
  explicit BytePairTokenizer(Vocab vocab);

  std::string TokenToBytes(TokenId id, DecodeOptions options) const override;
  std::string Decode(std::span<const TokenId> ids, DecodeOptions options) const override;

 protected:
  void EncodeText(std::string_view text, bool after_special,
                  std::vector<TokenId>& out) const override;

 private:
  struct TokenText {
    std::string bytes;  // what the token decodes to (a special token's text)
    bool special;       // control, unknown or unused: rendered only when asked
  };

  void EncodeWord(std::string_view word, Workspace& ws, std::vector<TokenId>& out) const;
  void MergeWord(std::string_view word, Workspace& ws, std::vector<TokenId>& out) const;
  void TryAddCandidate(Workspace& ws, std::int32_t left, std::int32_t right) const;
  const TokenText& Text(TokenId id) const;

  PreTokenizer pre_;
  std::array<TokenId, 256> byte_token_{};
  MergeTable merges_;
  // Whole-word lookup for ignore_merges: every token keyed by the bytes it stands for.
  std::unordered_map<std::string, TokenId, StringHash, std::equal_to<>> bytes_to_token_;
  std::vector<TokenText> texts_;
  mutable detail::WordCache cache_;  // what MergeWord gave for recent words
};

BytePairTokenizer::BytePairTokenizer(Vocab vocab)
    : Tokenizer(std::move(vocab)), pre_(PreTokenizer::ForName(vocab_.pre)) {
  for (int b = 0; b < 256; ++b) {
    std::string piece = detail::EncodeBytes(std::string(1, static_cast<char>(b)));
    byte_token_[b] = vocab_.Find(piece).value_or(-1);
  }

  merges_.Reserve(vocab_.merges.size());
  std::size_t unusable = 0;
  std::string joined;
  for (std::size_t rank = 0; rank < vocab_.merges.size(); ++rank) {
    std::string_view merge = vocab_.merges[rank];
    // As llama.cpp: the separator is the first space after the first character.
    std::size_t space = merge.find(' ', 1);
    if (space == std::string_view::npos) {
      ++unusable;
      continue;
    }
    std::string_view left = merge.substr(0, space);
    std::string_view right = merge.substr(space + 1);
    joined.assign(left);
    joined += right;
    auto left_id = vocab_.Find(left);
    auto right_id = vocab_.Find(right);
    auto result_id = vocab_.Find(joined);
    // Hugging Face refuses such files; a merge that makes no token can never be emitted anyway.
    if (!left_id || !right_id || !result_id) {
      ++unusable;
      continue;
    }
    merges_.Insert(*left_id, *right_id, {static_cast<std::int32_t>(rank), *result_id});
  }
  if (unusable > 0) {
    log::Warn("BPE merges skipped: malformed or naming pieces that are not tokens",
              {{"count", unusable}});
  }

  texts_.reserve(vocab_.size());
  for (std::size_t i = 0; i < vocab_.size(); ++i) {
    const std::string& piece = vocab_.pieces[i];
    switch (vocab_.types[i]) {
      case TokenType::kControl:
      case TokenType::kUnknown:
      case TokenType::kUnused:
        texts_.push_back({piece, true});
        break;
      case TokenType::kUserDefined:  // added as plain text, not in the byte alphabet
        texts_.push_back({piece, false});
        break;
      default:
        texts_.push_back({detail::DecodeBytes(piece), false});
        break;
    }
  }

  if (pre_.ignore_merges()) {
    bytes_to_token_.reserve(vocab_.size());
    for (std::size_t i = 0; i < vocab_.size(); ++i) {
      bool exact = false;
      std::string bytes = detail::DecodeBytes(vocab_.pieces[i], &exact);
      // Only pieces written in the byte alphabet can equal an encoded word; the first id wins.
      if (exact) bytes_to_token_.emplace(std::move(bytes), static_cast<TokenId>(i));
    }
  }
}

void BytePairTokenizer::EncodeText(std::string_view text, bool /*after_special*/,
                                   std::vector<TokenId>& out) const {
  // Symbol indices are 32-bit; no real prompt comes near this.
  if (text.size() > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max())) {
    Fail("cannot tokenize {} bytes of text at once (at most 2 GiB)", text.size());
  }
  Workspace ws;
  pre_.Split(text, ws.words);
  for (std::string_view word : ws.words) EncodeWord(word, ws, out);
}

void BytePairTokenizer::TryAddCandidate(Workspace& ws, std::int32_t left,
                                        std::int32_t right) const {
  const TokenId left_id = ws.symbols[left].id;
  const TokenId right_id = ws.symbols[right].id;
  if (left_id < 0 || right_id < 0) return;
  MergeTable::Merge merge = merges_.Find(left_id, right_id);
  if (merge.rank < 0) return;
  ws.heap.push_back({merge.rank, left, right, left_id, right_id, merge.result});
  std::push_heap(ws.heap.begin(), ws.heap.end(), Workspace::Later);
}

void BytePairTokenizer::EncodeWord(std::string_view word, Workspace& ws,
                                   std::vector<TokenId>& out) const {
  // Bytes without a token are dropped, as llama.cpp and Hugging Face (without an unknown token)
  // do; every byte-level vocabulary in use has all 256.
  if (word.size() == 1) {
    TokenId id = byte_token_[static_cast<std::uint8_t>(word[0])];
    if (id >= 0) out.push_back(id);
    return;
  }
  if (cache_.Lookup(word, out)) return;
  const std::size_t first = out.size();
  auto whole = pre_.ignore_merges() ? bytes_to_token_.find(word) : bytes_to_token_.end();
  if (whole != bytes_to_token_.end()) {
    out.push_back(whole->second);
  } else {
    MergeWord(word, ws, out);
  }
  cache_.Insert(word, std::span(out).subspan(first));
}

void BytePairTokenizer::MergeWord(std::string_view word, Workspace& ws,
                                  std::vector<TokenId>& out) const {
  auto& symbols = ws.symbols;
  symbols.clear();
  const auto n = static_cast<std::int32_t>(word.size());
  for (std::int32_t i = 0; i < n; ++i) {
    symbols.push_back(
        {byte_token_[static_cast<std::uint8_t>(word[i])], i - 1, i + 1 < n ? i + 1 : -1});
  }
  ws.heap.clear();
  for (std::int32_t i = 0; i + 1 < n; ++i) TryAddCandidate(ws, i, i + 1);

  while (!ws.heap.empty()) {
    std::pop_heap(ws.heap.begin(), ws.heap.end(), Workspace::Later);
    const Workspace::Candidate c = ws.heap.back();
    ws.heap.pop_back();
    Workspace::Symbol& left = symbols[c.left];
    Workspace::Symbol& right = symbols[c.right];
    // Stale when either side has merged since the candidate was found.
    if (left.id != c.left_id || left.next != c.right || right.id != c.right_id) continue;
    left.id = c.result;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = c.left;
    right.id = -1;
    right.next = -1;
    if (left.prev >= 0) TryAddCandidate(ws, left.prev, c.left);
    if (left.next >= 0) TryAddCandidate(ws, c.left, left.next);
  }

  for (std::int32_t i = 0; i >= 0; i = symbols[i].next) {
    if (symbols[i].id >= 0) out.push_back(symbols[i].id);
  }
}

const BytePairTokenizer::TokenText& BytePairTokenizer::Text(TokenId id) const {
  if (!vocab_.IsValid(id)) {
    Fail("token id {} is out of range: the vocabulary has {} tokens (0..{})", id, vocab_.size(),
         vocab_.size() - 1);
  }
  return texts_[static_cast<std::size_t>(id)];
}

std::string BytePairTokenizer::TokenToBytes(TokenId id, DecodeOptions options) const {
  const TokenText& text = Text(id);
  if (text.special && !options.render_special) return {};
  return text.bytes;
}

std::string BytePairTokenizer::Decode(std::span<const TokenId> ids, DecodeOptions options) const {
  std::string out;
  for (TokenId id : ids) {
    const TokenText& text = Text(id);
    if (!text.special || options.render_special) out += text.bytes;
  }
  return out;
}

}  // namespace

namespace detail {

std::unique_ptr<Tokenizer> CreateBytePairTokenizer(Vocab vocab) {
  if (vocab.kind != TokenizerKind::kBytePairBpe) {
    Fail("tokenizer model '{}' is not byte-level BPE ('gpt2')", vocab.model);
  }
  return std::make_unique<BytePairTokenizer>(std::move(vocab));
}

}  // namespace detail
}  // namespace kiln::tokenizer
