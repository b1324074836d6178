// SpecialTokenMatcher: finds special tokens (control, user-defined, unknown) written literally in
// text, leftmost-longest, as Hugging Face's added-vocabulary matching does.
#pragma once

#include <string_view>
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
  struct Candidate {
    std::string_view text;
    TokenId id;
    bool always;  // user-defined: matched even without parse_special
  };
  // Candidates by first byte, longest first.
  std::vector<std::vector<Candidate>> by_first_byte_;
};

}  // namespace kiln::tokenizer
