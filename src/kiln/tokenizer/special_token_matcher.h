// SpecialTokenMatcher: finds special tokens (control, user-defined, unknown) written literally in
// text, leftmost-longest, as Hugging Face's added-vocabulary matching does.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "kiln/tokenizer/vocab.h"

namespace kiln::tokenizer {

class SpecialTokenMatcher {
 public:
  explicit SpecialTokenMatcher(const Vocab& vocab);

  struct Fragment {
    std::string_view text;  // a run of plain text, when token < 0
    TokenId token = -1;     // a matched special token
  };

  // Splits `text` into plain runs and special tokens. Control and unknown tokens are matched
  // only when `parse_special`; user-defined tokens always (they are part of the vocabulary's
  // normal text, like llama.cpp and Hugging Face treat them).
  std::vector<Fragment> Split(std::string_view text, bool parse_special) const;

 private:
  // The tokens one matching mode looks for, by first byte; within a byte, by text, with the
  // distinct text lengths longest first. A position costs one hash lookup per distinct length,
  // however many tokens share the first byte (some vocabularies have thousands of "[PAD...]").
  struct Bucket {
    std::vector<std::size_t> lengths;
    std::unordered_map<std::string_view, TokenId> ids;
  };
  struct Table {
    std::array<Bucket, 256> by_first_byte;
    bool empty = true;
  };
  static void Add(Table& table, std::string_view text, TokenId id);
  static std::vector<Fragment> Split(const Table& table, std::string_view text);

  Table always_;        // user-defined tokens
  Table with_special_;  // user-defined, control and unknown tokens
};

}  // namespace kiln::tokenizer
