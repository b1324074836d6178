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
  // pre-tokenizer, naming it and listing what is supported.
  static std::unique_ptr<Tokenizer> Create(Vocab vocab);
  static std::unique_ptr<Tokenizer> FromGguf(const gguf::GgufFile& file);

  virtual std::vector<TokenId> Encode(std::string_view text, EncodeOptions options = {}) const = 0;

  // The bytes one token stands for in decoded text (may be part of a UTF-8 character).
  virtual std::string TokenToBytes(TokenId id, DecodeOptions options = {}) const = 0;

  // The text of a whole sequence; invalid UTF-8 from byte tokens is kept as bytes.
  virtual std::string Decode(std::span<const TokenId> ids, DecodeOptions options = {}) const = 0;

  const Vocab& vocab() const { return vocab_; }

 protected:
  explicit Tokenizer(Vocab vocab) : vocab_(std::move(vocab)) {}
  Vocab vocab_;
};

// Streams decoded text token by token without ever emitting half a UTF-8 character: bytes of an
// incomplete character are held until the rest arrives (or until Flush, which emits them
// replaced by U+FFFD). One per generation stream; not thread-safe.
class IncrementalDecoder {
 public:
  explicit IncrementalDecoder(const Tokenizer& tokenizer, DecodeOptions options = {});
  // Returns the text that became complete with this token (possibly empty).
  std::string Push(TokenId id);
  std::string Flush();

 private:
  const Tokenizer& tokenizer_;
  DecodeOptions options_;
  std::string pending_;
  bool first_ = true;
};

}  // namespace kiln::tokenizer
