// Vocab: a model's token table as stored in GGUF metadata (tokenizer.ggml.*): pieces, scores,
// token types, merges, special token ids and flags. Shared by every tokenizer kind.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace kiln::gguf {
class GgufFile;
}

namespace kiln::tokenizer {

using TokenId = std::int32_t;

// tokenizer.ggml.token_type values.
enum class TokenType : std::int32_t {
  kUndefined = 0,
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

enum class TokenizerKind {
  kSentencePiece,  // tokenizer.ggml.model = "llama"
  kBytePairBpe,    // tokenizer.ggml.model = "gpt2"
};

struct SpecialTokens {
  std::optional<TokenId> bos, eos, eot, eom, unk, sep, pad;
  bool add_bos = false;
  bool add_eos = false;
  // End-of-generation tokens: eos, eot, eom and any control token whose text marks an end
  // (<|im_end|>, <|eot_id|>, <|end|>, ...). Generation stops on any of them.
  std::vector<TokenId> end_of_generation;
};

struct Vocab {
  TokenizerKind kind = TokenizerKind::kSentencePiece;
  std::string model;  // tokenizer.ggml.model as written
  std::string pre;    // tokenizer.ggml.pre ("default" when absent)
  std::vector<std::string> pieces;
  std::vector<float> scores;  // empty when the file has none
  std::vector<TokenType> types;
  std::vector<std::string> merges;  // "a b" pairs, BPE only, in rank order
  std::unordered_map<std::string, TokenId> piece_to_id;
  SpecialTokens special;
  bool add_space_prefix = false;  // tokenizer.ggml.add_space_prefix (SentencePiece default: true)
  std::optional<std::string> chat_template;  // tokenizer.chat_template

  std::size_t size() const { return pieces.size(); }
  bool IsValid(TokenId id) const { return id >= 0 && static_cast<std::size_t>(id) < pieces.size(); }
  std::optional<TokenId> Find(std::string_view piece) const;

  // Reads and validates the vocabulary of a GGUF file; kiln::Error naming the file and the
  // key on missing or inconsistent metadata (lengths that disagree, special ids out of range,
  // an unsupported tokenizer model).
  static Vocab FromGguf(const gguf::GgufFile& file);
};

}  // namespace kiln::tokenizer
