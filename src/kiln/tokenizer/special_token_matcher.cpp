#include "kiln/tokenizer/special_token_matcher.h"

#include <algorithm>

namespace kiln::tokenizer {

SpecialTokenMatcher::SpecialTokenMatcher(const Vocab& vocab) : by_first_byte_(256) {
  for (std::size_t i = 0; i < vocab.size(); ++i) {
    TokenType type = vocab.types[i];
    if (type != TokenType::kControl && type != TokenType::kUserDefined &&
        type != TokenType::kUnknown) {
      continue;
    }
    std::string_view text = vocab.pieces[i];
    if (text.empty()) continue;
    by_first_byte_[static_cast<unsigned char>(text[0])].push_back(
        {text, static_cast<TokenId>(i), type == TokenType::kUserDefined});
  }
  for (auto& list : by_first_byte_) {
    std::stable_sort(list.begin(), list.end(), [](const Candidate& a, const Candidate& b) {
      return a.text.size() > b.text.size();
    });
  }
}

std::vector<SpecialTokenMatcher::Fragment> SpecialTokenMatcher::Split(std::string_view text,
                                                                      bool parse_special) const {
  std::vector<Fragment> out;
  std::size_t run_start = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const Candidate* match = nullptr;
    for (const Candidate& c : by_first_byte_[static_cast<unsigned char>(text[pos])]) {
      if (!parse_special && !c.always) continue;
      if (text.substr(pos, c.text.size()) == c.text) {
        match = &c;
        break;
      }
    }
    if (match == nullptr) {
      ++pos;
      continue;
    }
    if (pos > run_start) out.push_back({text.substr(run_start, pos - run_start), -1});
    out.push_back({{}, match->id});
    pos += match->text.size();
    run_start = pos;
  }
  if (run_start < text.size()) out.push_back({text.substr(run_start), -1});
  return out;
}

}  // namespace kiln::tokenizer
