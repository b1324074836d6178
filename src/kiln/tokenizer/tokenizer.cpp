#include "kiln/tokenizer/tokenizer.h"

#include "kiln/tokenizer/special_token_matcher.h"
#include "kiln/tokenizer/utf8.h"

namespace kiln::tokenizer {
namespace {

using detail::IsValidUtf8Continuation;
using detail::Utf8SequenceLength;

constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";  // U+FFFD

}  // namespace

Tokenizer::Tokenizer(Vocab vocab)
    : vocab_(std::move(vocab)), special_matcher_(std::make_shared<SpecialTokenMatcher>(vocab_)) {}

bool Tokenizer::strips_leading_space() const {
  return vocab_.kind == TokenizerKind::kSentencePiece && vocab_.add_space_prefix;
}

std::vector<TokenId> Tokenizer::Encode(std::string_view text, EncodeOptions options) const {
  std::vector<TokenId> out;
  const SpecialTokens& sp = vocab_.special;
  if (options.add_special && sp.add_bos && sp.bos) out.push_back(*sp.bos);
  bool after_special = true;
  for (const auto& fragment : special_matcher_->Split(text, options.parse_special)) {
    if (fragment.token >= 0) {
      out.push_back(fragment.token);
      after_special = true;
    } else {
      EncodeText(fragment.text, after_special, out);
      after_special = false;
    }
  }
  if (options.add_special && sp.add_eos && sp.eos) out.push_back(*sp.eos);
  return out;
}

std::string Tokenizer::Decode(std::span<const TokenId> ids, DecodeOptions options) const {
  std::string out;
  // Hugging Face strips one space from the start of the decoded text (the one the space prefix
  // added), so only the first piece that decodes to anything loses its leading space.
  bool strip = strips_leading_space();
  for (TokenId id : ids) {
    std::string piece = TokenToBytes(id, options);
    if (strip && !piece.empty()) {
      if (piece[0] == ' ') piece.erase(0, 1);
      strip = false;
    }
    out += piece;
  }
  return out;
}

IncrementalDecoder::IncrementalDecoder(const Tokenizer& tokenizer, DecodeOptions options)
    : tokenizer_(tokenizer), options_(options), at_start_(tokenizer.strips_leading_space()) {}

std::string IncrementalDecoder::Push(TokenId id) {
  std::string piece = tokenizer_.TokenToBytes(id, options_);
  if (at_start_ && !piece.empty()) {  // the same leading-space rule as Decode
    if (piece[0] == ' ') piece.erase(0, 1);
    at_start_ = false;
  }
  pending_ += piece;
  std::string out;
  std::size_t i = 0;
  while (i < pending_.size()) {
    auto lead = static_cast<unsigned char>(pending_[i]);
    std::size_t len = Utf8SequenceLength(lead);
    if (len == 0) {  // a byte no character starts with
      out += kReplacementCharacter;
      ++i;
      continue;
    }
    std::size_t have = 1;
    while (have < len && i + have < pending_.size() &&
           IsValidUtf8Continuation(lead, have, static_cast<unsigned char>(pending_[i + have]))) {
      ++have;
    }
    if (have == len) {
      out.append(pending_, i, len);
      i += len;
    } else if (i + have == pending_.size()) {
      break;  // the character may complete with the next token
    } else {
      out += kReplacementCharacter;  // one U+FFFD for the ill-formed prefix, as Unicode advises
      i += have;
    }
  }
  pending_.erase(0, i);
  return out;
}

std::string IncrementalDecoder::Flush() {
  std::string out;
  if (!pending_.empty()) out = std::string(kReplacementCharacter);
  pending_.clear();
  return out;
}

}  // namespace kiln::tokenizer
