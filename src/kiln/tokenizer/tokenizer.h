// Tokenizer: text <-> token ids for a model, built from its GGUF vocabulary. Exact: ids match
// llama.cpp / Hugging Face for SentencePiece ("llama") and byte-level BPE ("gpt2") vocabularies.
// Thread-safe for concurrent Encode/Decode calls once constructed.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/tokenizer/vocab.h"

namespace kiln::tokenizer {

class SpecialTokenMatcher;

struct EncodeOptions {
  bool add_special = true;     // add BOS/EOS as the vocabulary asks
  bool parse_special = false;  // match control tokens written in the text (chat templates need it)
};

struct DecodeOptions {
  bool render_special = false;  // render control tokens' text (otherwise they decode to nothing)
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Builds the tokenizer the vocabulary asks for; kiln::Error for an unsupported kind or
  // pre-tokenizer, naming it and listing what is supported. A BPE pre-tokenizer name nobody
  // knows falls back to llama.cpp's "default" with a logged warning (see pretokenizer.h).
  static std::unique_ptr<Tokenizer> Create(Vocab vocab);
  static std::unique_ptr<Tokenizer> FromGguf(const gguf::GgufFile& file);

  // Splits out special tokens (control tokens only when parse_special; user-defined tokens
  // always), encodes each run of plain text with EncodeText, and adds BOS/EOS as asked.
  std::vector<TokenId> Encode(std::string_view text, EncodeOptions options = {}) const;

  // The bytes one token stands for in decoded text (may be part of a UTF-8 character).
  virtual std::string TokenToBytes(TokenId id, DecodeOptions options = {}) const = 0;

  // The text of a whole sequence; invalid UTF-8 from byte tokens is kept as bytes.
  virtual std::string Decode(std::span<const TokenId> ids, DecodeOptions options = {}) const;

  const Vocab& vocab() const { return vocab_; }

 protected:
  explicit Tokenizer(Vocab vocab);

  // Encodes one run of text that contains no special tokens, appending to `out`.
  // `after_special` is true at the start of the input and right after a special token
  // (SentencePiece adds its space prefix there).
  virtual void EncodeText(std::string_view text, bool after_special,
                          std::vector<TokenId>& out) const = 0;

  // SentencePiece vocabularies that add a space prefix drop it again from the first decoded piece.
  bool strips_leading_space() const;

  Vocab vocab_;

 private:
  std::shared_ptr<const SpecialTokenMatcher> special_matcher_;
  friend class IncrementalDecoder;
};

// Streams decoded text token by token without ever emitting half a UTF-8 character: bytes of an
// incomplete character are held until the rest arrives (or until Flush, which emits them
// replaced by U+FFFD). Every chunk is well-formed UTF-8: ill-formed bytes become U+FFFD. Text
// that is valid UTF-8 as a whole comes out exactly as Decode gives it. One per generation
// stream; not thread-safe.
class IncrementalDecoder {
 public:
  explicit IncrementalDecoder(const Tokenizer& tokenizer, DecodeOptions options = {});
  // Returns the text that became complete with this token (possibly empty).
  std::string Push(TokenId id);
  std::string Flush();

 private:
  const Tokenizer& tokenizer_;
  DecodeOptions options_;
  std::string pending_;  // bytes of a UTF-8 character not yet complete
  bool at_start_;        // no token has decoded to anything yet and the leading-space rule applies
};

}  // namespace kiln::tokenizer
