#include "kiln/tokenizer/special_token_matcher.h"

#include <algorithm>
#include <functional>

namespace kiln::tokenizer {

SpecialTokenMatcher::SpecialTokenMatcher(const Vocab& vocab) {
  for (std::size_t i = 0; i < vocab.size(); ++i) {
    TokenType type = vocab.types[i];
    if (type != TokenType::kControl && type != TokenType::kUserDefined &&
        type != TokenType::kUnknown) {
      continue;
    }
    std::string_view text = vocab.pieces[i];
    if (text.empty()) continue;
    auto id = static_cast<TokenId>(i);
    if (type == TokenType::kUserDefined) Add(always_, text, id);
    Add(with_special_, text, id);
  }
}

void SpecialTokenMatcher::Add(Table& table, std::string_view text, TokenId id) {
  Bucket& bucket = table.by_first_byte[static_cast<unsigned char>(text[0])];
  if (!bucket.ids.emplace(text, id).second) return;  // the first id wins for a duplicate text
  auto at =
      std::lower_bound(bucket.lengths.begin(), bucket.lengths.end(), text.size(), std::greater<>());
  if (at == bucket.lengths.end() || *at != text.size()) bucket.lengths.insert(at, text.size());
  table.empty = false;
}

std::vector<SpecialTokenMatcher::Fragment> SpecialTokenMatcher::Split(std::string_view text,
                                                                      bool parse_special) const {
  return Split(parse_special ? with_special_ : always_, text);
}

std::vector<SpecialTokenMatcher::Fragment> SpecialTokenMatcher::Split(const Table& table,
                                                                      std::string_view text) {
  std::vector<Fragment> out;
  std::size_t run_start = 0;
  std::size_t pos = 0;
  while (!table.empty && pos < text.size()) {
    const Bucket& bucket = table.by_first_byte[static_cast<unsigned char>(text[pos])];
    TokenId match = -1;
    std::size_t match_size = 0;
    for (std::size_t len : bucket.lengths) {
      if (len > text.size() - pos) continue;
      auto it = bucket.ids.find(text.substr(pos, len));
      if (it != bucket.ids.end()) {
        match = it->second;
        match_size = len;
        break;
      }
    }
    if (match < 0) {
      ++pos;
      continue;
    }
    if (pos > run_start) out.push_back({text.substr(run_start, pos - run_start), -1});
    out.push_back({{}, match});
    pos += match_size;
    run_start = pos;
  }
  if (run_start < text.size()) out.push_back({text.substr(run_start), -1});
  return out;
}

}  // namespace kiln::tokenizer
