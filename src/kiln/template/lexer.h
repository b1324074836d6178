// The template lexer: splits a template into text and the tokens inside {{ }} and {% %} tags,
// applying Jinja2's whitespace control exactly (trim_blocks, lstrip_blocks, `-` and `+` markers)
// and dropping comments and unwrapping raw blocks on the way.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::jinja {

enum class TokenKind : uint8_t {
  kText,
  kVariableBegin,
  kVariableEnd,
  kBlockBegin,
  kBlockEnd,
  kName,
  kString,
  kInteger,
  kFloat,
  kOperator,
  kEnd,
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string value;  // text, name, decoded string literal or operator spelling
  int64_t int_value = 0;
  double float_value = 0;
  int line = 1;
  int column = 1;
};

struct LexerOptions {
  bool trim_blocks = true;    // drop the first newline after a block or comment tag
  bool lstrip_blocks = true;  // drop spaces and tabs before a block or comment tag on its line
};

// Throws TemplateError (kSyntax) with the line and column of the problem.
std::vector<Token> Tokenize(std::string_view source, const LexerOptions& options);

}  // namespace kiln::jinja
