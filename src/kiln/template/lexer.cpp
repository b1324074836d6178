#include "kiln/template/lexer.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

#include "kiln/template/template_error.h"
#include "kiln/template/utf8.h"

namespace kiln::jinja {
namespace {

// Jinja2 reads templates with universal newlines and drops one trailing newline
// (keep_trailing_newline=False).
std::string NormalizeNewlines(std::string_view source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out += source[i];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}
bool IsNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool IsNameChar(char c) {
  return IsNameStart(c) || IsDigit(c);
}

bool AllWhitespace(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    if (!utf8::IsSpace(utf8::Next(s, i))) return false;
  }
  return true;
}

class Lexer {
 public:
  Lexer(std::string source, const LexerOptions& options)
      : src_(std::move(source)), options_(options) {}

  std::vector<Token> Run() {
    size_t pos = 0;
    bool line_starting = true;
    while (true) {
      const size_t tag = FindTagStart(pos);
      if (tag == std::string::npos) {
        EmitText(pos, src_.substr(pos));
        break;
      }
      const char type = src_[tag + 1];
      const char sign = SignAt(tag + 2);
      size_t inner = tag + 2 + (sign != 0 ? 1 : 0);
      std::string text = src_.substr(pos, tag - pos);
      ApplyLeftControl(text, sign, type != '{', line_starting);
      EmitText(pos, std::move(text));

      if (type == '#') {
        pos = LexComment(tag, inner, line_starting);
      } else if (type == '%' && IsRawBegin(inner)) {
        pos = LexRaw(tag, inner, line_starting);
      } else {
        pos = LexTag(tag, type, inner, line_starting);
      }
    }
    Token end;
    end.kind = TokenKind::kEnd;
    Locate(src_.size(), end);
    tokens_.push_back(std::move(end));
    return std::move(tokens_);
  }

 private:
  [[noreturn]] void Fail(size_t offset, const std::string& message) {
    Token where;
    Locate(offset, where);
    throw TemplateError(TemplateError::Kind::kSyntax, message, where.line, where.column);
  }

  // Line and column of an offset; offsets are visited mostly in increasing order.
  void Locate(size_t offset, Token& token) {
    if (offset < located_offset_) located_offset_ = 0, line_ = 1, column_ = 1;
    for (; located_offset_ < offset && located_offset_ < src_.size(); ++located_offset_) {
      if (src_[located_offset_] == '\n') {
        ++line_;
        column_ = 1;
      } else if ((static_cast<unsigned char>(src_[located_offset_]) & 0xC0) != 0x80) {
        ++column_;
      }
    }
    token.line = line_;
    token.column = column_;
  }

  size_t FindTagStart(size_t from) const {
    for (size_t i = src_.find('{', from); i != std::string::npos; i = src_.find('{', i + 1)) {
      if (i + 1 < src_.size() && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) {
        return i;
      }
    }
    return std::string::npos;
  }

  char SignAt(size_t i) const {
    return (i < src_.size() && (src_[i] == '-' || src_[i] == '+')) ? src_[i] : 0;
  }

  // Whitespace control on the text before a tag: `-` strips all whitespace; lstrip_blocks strips
  // the indentation of a block or comment tag that starts its line (unless the tag says `+`).
  void ApplyLeftControl(std::string& text, char sign, bool is_block_or_comment,
                        bool line_starting) const {
    if (sign == '-') {
      text = std::string(utf8::StripWhitespace(text, utf8::StripSide::kRight));
    } else if (sign != '+' && options_.lstrip_blocks && is_block_or_comment) {
      const size_t newline = text.rfind('\n');
      const size_t line_start = newline == std::string::npos ? 0 : newline + 1;
      if ((line_start > 0 || line_starting) && line_start < text.size() &&
          AllWhitespace(std::string_view(text).substr(line_start))) {
        text.resize(line_start);
      }
    }
  }

  void EmitText(size_t offset, std::string text) {
    if (text.empty()) return;
    Token t;
    t.kind = TokenKind::kText;
    Locate(offset, t);
    t.value = std::move(text);
    tokens_.push_back(std::move(t));
  }

  // Consumes what follows a tag's closing delimiter: all whitespace after `-`, one newline for
  // trim_blocks. Returns the new position and whether it ends a line (for lstrip_blocks).
  size_t ApplyRightControl(size_t pos, char sign, bool trims, bool& line_starting) const {
    const size_t start = pos;
    if (sign == '-') {
      std::string_view rest(src_);
      rest.remove_prefix(pos);
      pos += rest.size() - utf8::StripWhitespace(rest, utf8::StripSide::kLeft).size();
    } else if (sign != '+' && trims && options_.trim_blocks && pos < src_.size() &&
               src_[pos] == '\n') {
      ++pos;
    }
    line_starting = pos > start && src_[pos - 1] == '\n';
    return pos;
  }

  size_t LexComment(size_t tag, size_t inner, bool& line_starting) {
    const size_t close = src_.find("#}", inner);
    if (close == std::string::npos) Fail(tag, "missing end of comment tag");
    const char sign = close > inner ? SignAt(close - 1) : 0;
    return ApplyRightControl(close + 2, sign, /*trims=*/true, line_starting);
  }

  size_t SkipSpaces(size_t i) const {
    while (i < src_.size() && IsAsciiSpace(src_[i])) ++i;
    return i;
  }

  // Matches `\s*NAME\s*[-+]?%}` at i; returns the offset after `%}` or npos.
  size_t MatchSimpleTag(size_t i, std::string_view name, char& end_sign) const {
    i = SkipSpaces(i);
    if (src_.compare(i, name.size(), name) != 0) return std::string::npos;
    i += name.size();
    if (i < src_.size() && IsNameChar(src_[i])) return std::string::npos;
    i = SkipSpaces(i);
    end_sign = SignAt(i);
    if (end_sign != 0) ++i;
    if (src_.compare(i, 2, "%}") != 0) return std::string::npos;
    return i + 2;
  }

  // Jinja2 accepts `%}` and `-%}` (not `+%}`) after raw.
  bool IsRawBegin(size_t inner) const {
    char sign = 0;
    return MatchSimpleTag(inner, "raw", sign) != std::string::npos && sign != '+';
  }

  size_t LexRaw(size_t tag, size_t inner, bool& line_starting) {
    char sign = 0;
    size_t pos = MatchSimpleTag(inner, "raw", sign);
    // Jinja2 does not apply trim_blocks after {% raw %}.
    pos = ApplyRightControl(pos, sign, /*trims=*/false, line_starting);
    for (size_t end_tag = src_.find("{%", pos); end_tag != std::string::npos;
         end_tag = src_.find("{%", end_tag + 1)) {
      const char end_begin_sign = SignAt(end_tag + 2);
      char end_sign = 0;
      const size_t after =
          MatchSimpleTag(end_tag + 2 + (end_begin_sign != 0 ? 1 : 0), "endraw", end_sign);
      if (after == std::string::npos) continue;
      std::string text = src_.substr(pos, end_tag - pos);
      ApplyLeftControl(text, end_begin_sign, true, line_starting);
      EmitText(pos, std::move(text));
      return ApplyRightControl(after, end_sign, /*trims=*/true, line_starting);
    }
    Fail(tag, "missing {% endraw %} for this {% raw %}");
  }

  size_t LexTag(size_t tag, char type, size_t pos, bool& line_starting) {
    const bool block = type == '%';
    Token begin;
    begin.kind = block ? TokenKind::kBlockBegin : TokenKind::kVariableBegin;
    Locate(tag, begin);
    tokens_.push_back(std::move(begin));
    std::vector<char> brackets;
    while (true) {
      pos = SkipSpaces(pos);
      if (pos >= src_.size()) {
        Fail(tag, block ? "unexpected end of template: this {% tag is never closed"
                        : "unexpected end of template: this {{ tag is never closed");
      }
      if (brackets.empty()) {
        const char closer = block ? '%' : '}';
        char end_sign = 0;
        size_t delim = pos;
        if ((src_[pos] == '-' || (block && src_[pos] == '+')) && pos + 1 < src_.size() &&
            src_[pos + 1] == closer) {
          end_sign = src_[pos];
          delim = pos + 1;
        }
        if (src_[delim] == closer && delim + 1 < src_.size() && src_[delim + 1] == '}') {
          Token end;
          end.kind = block ? TokenKind::kBlockEnd : TokenKind::kVariableEnd;
          Locate(pos, end);
          tokens_.push_back(std::move(end));
          return ApplyRightControl(delim + 2, end_sign, /*trims=*/block, line_starting);
        }
      }
      pos = LexToken(pos, brackets);
    }
  }

  size_t LexToken(size_t pos, std::vector<char>& brackets) {
    Token t;
    Locate(pos, t);
    const char c = src_[pos];
    if (IsDigit(c)) return LexNumber(pos, std::move(t));
    if (IsNameStart(c)) {
      size_t end = pos;
      while (end < src_.size() && IsNameChar(src_[end])) ++end;
      t.kind = TokenKind::kName;
      t.value = src_.substr(pos, end - pos);
      tokens_.push_back(std::move(t));
      return end;
    }
    if (c == '\'' || c == '"') return LexString(pos, std::move(t));
    static constexpr std::string_view kTwoChar[] = {"//", "**", "==", "!=", ">=", "<="};
    for (std::string_view op : kTwoChar) {
      if (src_.compare(pos, 2, op) == 0) {
        t.kind = TokenKind::kOperator;
        t.value = std::string(op);
        tokens_.push_back(std::move(t));
        return pos + 2;
      }
    }
    if (std::string_view("+-*/%~<>=()[]{}.,:|;").find(c) == std::string_view::npos) {
      Fail(pos, fmt::format("unexpected character '{}'", c));
    }
    if (c == '(' || c == '[' || c == '{') {
      brackets.push_back(c == '(' ? ')' : (c == '[' ? ']' : '}'));
    } else if (c == ')' || c == ']' || c == '}') {
      if (brackets.empty()) Fail(pos, fmt::format("unexpected '{}'", c));
      if (brackets.back() != c) {
        Fail(pos, fmt::format("unexpected '{}', expected '{}'", c, brackets.back()));
      }
      brackets.pop_back();
    }
    t.kind = TokenKind::kOperator;
    t.value = std::string(1, c);
    tokens_.push_back(std::move(t));
    return pos + 1;
  }

  // Digits with single underscores between them, as in Python literals.
  size_t ScanDigits(size_t i) const {
    while (i < src_.size() && IsDigit(src_[i])) {
      ++i;
      if (i + 1 < src_.size() && src_[i] == '_' && IsDigit(src_[i + 1])) ++i;
    }
    return i;
  }

  size_t LexNumber(size_t pos, Token t) {
    size_t end = ScanDigits(pos);
    bool is_float = false;
    // A float never follows a dot (`x.0.1` is x[0][1]).
    const bool after_dot = pos > 0 && src_[pos - 1] == '.';
    if (!after_dot) {
      if (end + 1 < src_.size() && src_[end] == '.' && IsDigit(src_[end + 1])) {
        end = ScanDigits(end + 1);
        is_float = true;
      }
      if (end < src_.size() && (src_[end] == 'e' || src_[end] == 'E')) {
        size_t e = end + 1;
        if (e < src_.size() && (src_[e] == '+' || src_[e] == '-')) ++e;
        if (e < src_.size() && IsDigit(src_[e])) {
          end = ScanDigits(e);
          is_float = true;
        }
      }
    }
    std::string digits;
    for (size_t i = pos; i < end; ++i) {
      if (src_[i] != '_') digits += src_[i];
    }
    if (is_float) {
      t.kind = TokenKind::kFloat;
      t.float_value = std::strtod(digits.c_str(), nullptr);
    } else {
      t.kind = TokenKind::kInteger;
      auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), t.int_value);
      if (ec != std::errc()) Fail(pos, "integer literal is too large");
    }
    t.value = std::move(digits);
    tokens_.push_back(std::move(t));
    return end;
  }

  static int HexValue(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  // Decodes the escapes Python's "unicode-escape" codec knows; unknown ones stay as written.
  size_t LexString(size_t pos, Token t) {
    const char quote = src_[pos];
    std::string value;
    size_t i = pos + 1;
    while (true) {
      if (i >= src_.size()) Fail(pos, "unterminated string literal");
      const char c = src_[i];
      if (c == quote) break;
      if (c != '\\') {
        value += c;
        ++i;
        continue;
      }
      if (i + 1 >= src_.size()) Fail(pos, "unterminated string literal");
      const char e = src_[i + 1];
      i += 2;
      switch (e) {
        case '\n':
          break;  // line continuation
        case '\\':
        case '\'':
        case '"':
          value += e;
          break;
        case 'a':
          value += '\a';
          break;
        case 'b':
          value += '\b';
          break;
        case 'f':
          value += '\f';
          break;
        case 'n':
          value += '\n';
          break;
        case 'r':
          value += '\r';
          break;
        case 't':
          value += '\t';
          break;
        case 'v':
          value += '\v';
          break;
        case 'x':
        case 'u':
        case 'U': {
          const int digits = e == 'x' ? 2 : (e == 'u' ? 4 : 8);
          uint32_t cp = 0;
          for (int k = 0; k < digits; ++k) {
            const int h = i < src_.size() ? HexValue(src_[i]) : -1;
            if (h < 0) Fail(pos, fmt::format("truncated \\{} escape in string literal", e));
            cp = cp * 16 + static_cast<uint32_t>(h);
            ++i;
          }
          if (cp > 0x10FFFF) Fail(pos, "illegal Unicode character in string literal");
          utf8::Append(value, cp);
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            uint32_t cp = static_cast<uint32_t>(e - '0');
            for (int k = 0; k < 2 && i < src_.size() && src_[i] >= '0' && src_[i] <= '7'; ++k) {
              cp = cp * 8 + static_cast<uint32_t>(src_[i++] - '0');
            }
            utf8::Append(value, cp);
          } else {
            value += '\\';
            value += e;
          }
      }
    }
    t.kind = TokenKind::kString;
    t.value = std::move(value);
    tokens_.push_back(std::move(t));
    return i + 1;
  }

  std::string src_;
  const LexerOptions& options_;
  std::vector<Token> tokens_;
  size_t located_offset_ = 0;
  int line_ = 1;
  int column_ = 1;
};

}  // namespace

std::vector<Token> Tokenize(std::string_view source, const LexerOptions& options) {
  return Lexer(NormalizeNewlines(source), options).Run();
}

}  // namespace kiln::jinja
