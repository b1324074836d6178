// SentencePiece tokenizer for GGUF vocabularies with tokenizer.ggml.model = "llama": the
// score-driven symbol merging of SentencePiece's BPE model, with byte fallback, exactly as
// llama.cpp's SPM tokenizer does it (which agrees with Hugging Face on these vocabularies).

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "kiln/base/error.h"
#include "kiln/tokenizer/tokenizer_kinds.h"
#include "kiln/tokenizer/utf8.h"

namespace kiln::tokenizer::detail {
namespace {

constexpr std::string_view kSpaceMarker = "\xE2\x96\x81";  // U+2581, SentencePiece's visible space

std::string ReplaceSpaceMarkers(std::string_view piece) {
  std::string out;
  out.reserve(piece.size());
  for (std::size_t i = 0; i < piece.size();) {
    if (piece.substr(i, kSpaceMarker.size()) == kSpaceMarker) {
      out += ' ';
      i += kSpaceMarker.size();
    } else {
      out += piece[i++];
    }
  }
  return out;
}

// The byte a byte-fallback piece "<0xNN>" stands for.
std::optional<unsigned char> ParseBytePiece(std::string_view piece) {
  if (piece.size() != 6 || piece.substr(0, 3) != "<0x" || piece[5] != '>') return std::nullopt;
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  int hi = hex(piece[3]);
  int lo = hex(piece[4]);
  if (hi < 0 || lo < 0) return std::nullopt;
  return static_cast<unsigned char>(hi * 16 + lo);
}

class SentencePieceTokenizer final : public Tokenizer {
 public:
  explicit SentencePieceTokenizer(Vocab vocab);
  // piece_ids_ holds views into vocab_, so the object must stay where it was built.
  SentencePieceTokenizer(const SentencePieceTokenizer&) = delete;
  SentencePieceTokenizer& operator=(const SentencePieceTokenizer&) = delete;

  std::string TokenToBytes(TokenId id, DecodeOptions options) const override;

 protected:
  void EncodeText(std::string_view text, bool after_special,
                  std::vector<TokenId>& out) const override;

 private:
  // A run of the normalized text; merged symbols keep the left one's slot and leave size 0 in
  // the right one's. prev/next link the live symbols in text order.
  struct Symbol {
    std::int32_t prev;
    std::int32_t next;
    std::uint32_t begin;
    std::uint32_t size;
  };
  // Two neighbouring symbols whose concatenation is a piece. `size` is the concatenation's
  // length when it was queued: a merge of either side changes it and marks the entry stale.
  struct Bigram {
    float score;
    std::int32_t left;
    std::int32_t right;
    std::uint32_t size;
  };

  // Buffers one EncodeText call reuses for all its segments.
  struct MergeScratch {
    std::vector<Symbol> symbols;
    std::vector<Bigram> queue;
  };

  std::optional<TokenId> Find(std::string_view piece) const;
  // Merges norm[begin, end) into pieces and appends their ids.
  void EncodeSegment(std::string_view norm, std::size_t begin, std::size_t end,
                     MergeScratch& scratch, std::vector<TokenId>& out) const;
  void AppendFallback(std::string_view symbol, std::vector<TokenId>& out) const;

  // Every piece, as llama.cpp looks them up while merging (all token types); the first id wins.
  std::unordered_map<std::string_view, TokenId> piece_ids_;
  std::size_t max_piece_size_ = 0;
  // No piece has a space marker after another character, so words can be merged one by one.
  bool words_are_independent_ = true;
  // The token for each byte of the fallback: "<0xNN>", else the one-byte piece; -1 when neither.
  std::array<TokenId, 256> byte_ids_{};
  // What each token decodes to without render_special.
  std::vector<std::string> decoded_;
};

SentencePieceTokenizer::SentencePieceTokenizer(Vocab vocab) : Tokenizer(std::move(vocab)) {
  const std::size_t n = vocab_.size();
  if (!vocab_.scores.empty() && vocab_.scores.size() != n) {
    Fail("SentencePiece vocabulary has {} scores for {} tokens", vocab_.scores.size(), n);
  }
  if (vocab_.types.size() != n) {
    Fail("SentencePiece vocabulary has {} token types for {} tokens", vocab_.types.size(), n);
  }
  piece_ids_.reserve(n);
  decoded_.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::string& piece = vocab_.pieces[i];
    piece_ids_.emplace(piece, static_cast<TokenId>(i));
    max_piece_size_ = std::max(max_piece_size_, piece.size());
    for (std::size_t pos = piece.find(kSpaceMarker, 1); pos != std::string::npos;
         pos = piece.find(kSpaceMarker, pos + 1)) {
      if (pos < kSpaceMarker.size() ||
          piece.compare(pos - kSpaceMarker.size(), kSpaceMarker.size(), kSpaceMarker) != 0) {
        words_are_independent_ = false;
      }
    }
    switch (vocab_.types[i]) {
      case TokenType::kNormal:
        decoded_[i] = ReplaceSpaceMarkers(piece);
        break;
      case TokenType::kUserDefined:
        // Verbatim, as llama.cpp renders them: Encode matches them in the raw text, so this
        // keeps Decode(Encode(text)) == text.
        decoded_[i] = piece;
        break;
      case TokenType::kByte: {
        auto byte = ParseBytePiece(piece);
        if (!byte) {
          Fail("token {} is a byte token, but its text '{}' is not of the form <0xNN>", i, piece);
        }
        decoded_[i] = std::string(1, static_cast<char>(*byte));
        break;
      }
      case TokenType::kControl:
      case TokenType::kUnknown:
      case TokenType::kUnused:
      case TokenType::kUndefined:
        break;  // nothing unless render_special (control, unknown), see TokenToBytes
    }
  }
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (int b = 0; b < 256; ++b) {
    const char byte_piece[] = {'<', '0', 'x', kHex[b >> 4], kHex[b & 15], '>'};
    auto id = Find(std::string_view(byte_piece, sizeof(byte_piece)));
    if (!id) id = Find(std::string(1, static_cast<char>(b)));
    byte_ids_[b] = id.value_or(-1);
  }
}

std::optional<TokenId> SentencePieceTokenizer::Find(std::string_view piece) const {
  auto it = piece_ids_.find(piece);
  if (it == piece_ids_.end()) return std::nullopt;
  return it->second;
}

std::string SentencePieceTokenizer::TokenToBytes(TokenId id, DecodeOptions options) const {
  if (!vocab_.IsValid(id)) {
    Fail("token id {} is out of range: the vocabulary has {} tokens", id, vocab_.size());
  }
  if (options.render_special) {
    TokenType type = vocab_.types[id];
    if (type == TokenType::kControl || type == TokenType::kUnknown) return vocab_.pieces[id];
  }
  return decoded_[id];
}

// A symbol no piece covers: its bytes as byte tokens, as SentencePiece's byte fallback does.
// Vocabularies without byte tokens get one unknown token for the whole character instead.
void SentencePieceTokenizer::AppendFallback(std::string_view symbol,
                                            std::vector<TokenId>& out) const {
  bool all_bytes = std::all_of(symbol.begin(), symbol.end(), [&](char c) {
    return byte_ids_[static_cast<unsigned char>(c)] >= 0;
  });
  if (all_bytes) {
    for (char c : symbol) out.push_back(byte_ids_[static_cast<unsigned char>(c)]);
    return;
  }
  if (!vocab_.special.unk) {
    Fail(
        "cannot encode the text: the vocabulary has neither a piece, byte tokens nor an unknown "
        "token for the character '{}'",
        symbol);
  }
  out.push_back(*vocab_.special.unk);
}

void SentencePieceTokenizer::EncodeText(std::string_view text, bool after_special,
                                        std::vector<TokenId>& out) const {
  if (text.empty()) return;

  // SentencePiece sees spaces as U+2581 and, with add_dummy_prefix, one more at the start.
  std::string normalized;
  normalized.reserve(text.size() + text.size() / 2 + kSpaceMarker.size());
  if (vocab_.add_space_prefix && after_special) normalized += kSpaceMarker;
  for (char c : text) {
    if (c == ' ') {
      normalized += kSpaceMarker;
    } else {
      normalized += c;
    }
  }
  if (normalized.size() > std::numeric_limits<std::int32_t>::max()) {
    Fail("text of {} bytes is too long to tokenize", text.size());
  }
  const std::string_view norm = normalized;

  MergeScratch scratch;
  if (!words_are_independent_) {
    EncodeSegment(norm, 0, norm.size(), scratch, out);
    return;
  }
  // Cut before every space marker that follows another character: no piece spans such a cut,
  // so each word merges exactly as it would within the whole text, in a small queue.
  std::size_t start = 0;
  for (std::size_t pos = norm.find(kSpaceMarker, 1); pos != std::string_view::npos;
       pos = norm.find(kSpaceMarker, pos + kSpaceMarker.size())) {
    bool after_marker = pos >= kSpaceMarker.size() &&
                        norm.substr(pos - kSpaceMarker.size(), kSpaceMarker.size()) == kSpaceMarker;
    if (after_marker) continue;
    EncodeSegment(norm, start, pos, scratch, out);
    start = pos;
  }
  EncodeSegment(norm, start, norm.size(), scratch, out);
}

void SentencePieceTokenizer::EncodeSegment(std::string_view norm, std::size_t begin,
                                           std::size_t end, MergeScratch& scratch,
                                           std::vector<TokenId>& out) const {
  std::vector<Symbol>& symbols = scratch.symbols;
  std::vector<Bigram>& queue = scratch.queue;
  symbols.clear();
  queue.clear();
  for (std::size_t pos = begin; pos < end;) {
    // Each character starts as a symbol of its own. A byte that is not part of a well-formed
    // character is a symbol by itself (llama.cpp would let an invalid lead byte swallow the
    // following bytes, escaped spaces included, so that the text no longer decodes back).
    std::size_t len = std::max<std::size_t>(WellFormedUtf8Length(norm.substr(0, end), pos), 1);
    auto index = static_cast<std::int32_t>(symbols.size());
    symbols.push_back({index - 1, pos + len == end ? -1 : index + 1,
                       static_cast<std::uint32_t>(pos), static_cast<std::uint32_t>(len)});
    pos += len;
  }
  if (symbols.empty()) return;

  // A max-heap on score; among equal scores the leftmost pair merges first.
  auto lower_priority = [](const Bigram& a, const Bigram& b) {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  };
  auto try_add = [&](std::int32_t left, std::int32_t right) {
    if (left < 0 || right < 0) return;
    std::size_t size = std::size_t{symbols[left].size} + symbols[right].size;
    if (size > max_piece_size_) return;
    auto id = Find(norm.substr(symbols[left].begin, size));
    if (!id) return;
    float score = vocab_.scores.empty() ? 0.0f : vocab_.scores[*id];
    queue.push_back({score, left, right, static_cast<std::uint32_t>(size)});
    std::push_heap(queue.begin(), queue.end(), lower_priority);
  };

  for (std::size_t i = 1; i < symbols.size(); ++i) {
    try_add(static_cast<std::int32_t>(i - 1), static_cast<std::int32_t>(i));
  }
  while (!queue.empty()) {
    std::pop_heap(queue.begin(), queue.end(), lower_priority);
    Bigram bigram = queue.back();
    queue.pop_back();
    Symbol& left = symbols[bigram.left];
    Symbol& right = symbols[bigram.right];
    if (left.size == 0 || right.size == 0 || left.size + right.size != bigram.size) continue;
    left.size += right.size;
    right.size = 0;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = bigram.left;
    try_add(left.prev, bigram.left);
    try_add(bigram.left, left.next);
  }

  // Every merged symbol is a piece; only single characters can be missing from the vocabulary.
  for (std::int32_t i = 0; i != -1; i = symbols[i].next) {
    std::string_view symbol = norm.substr(symbols[i].begin, symbols[i].size);
    if (auto id = Find(symbol)) {
      out.push_back(*id);
    } else {
      AppendFallback(symbol, out);
    }
  }
}

}  // namespace

std::unique_ptr<Tokenizer> CreateSentencePieceTokenizer(Vocab vocab) {
  if (vocab.kind != TokenizerKind::kSentencePiece) {
    Fail("tokenizer model '{}' is not a SentencePiece ('llama') vocabulary", vocab.model);
  }
  return std::make_unique<SentencePieceTokenizer>(std::move(vocab));
}

}  // namespace kiln::tokenizer::detail
