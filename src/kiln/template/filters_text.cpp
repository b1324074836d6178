// Filters on strings, numbers and JSON: trim, upper, replace, indent, tojson, int, round, ...
#include <cmath>
#include <cstdlib>

#include "kiln/template/fail.h"
#include "kiln/template/filters.h"
#include "kiln/template/operators.h"
#include "kiln/template/py_format.h"
#include "kiln/template/string_ops.h"
#include "kiln/template/utf8.h"
#include "kiln/template/value_json.h"

namespace kiln::jinja {
namespace {

Value CheckedString(Interpreter& in, std::string s) {
  in.CheckStringSize(s.size());
  return Value::String(std::move(s));
}

Value Trim(Interpreter&, const Value& input, Arguments& args) {
  BoundArgs a("trim", args, {"chars"});
  const std::string s = SoftStr(input);
  if (a[0].is_undefined() || a[0].is_none()) {
    return StringLike(input, std::string(utf8::StripWhitespace(s, utf8::StripSide::kBoth)));
  }
  const std::string chars = input.is_markup() ? EscapeValue(a[0]) : SoftStr(a[0]);
  return StringLike(input, std::string(utf8::StripChars(s, chars, utf8::StripSide::kBoth)));
}

Value Upper(Interpreter&, const Value& input, Arguments& args) {
  BoundArgs a("upper", args, {});
  return StringLike(input, utf8::Upper(SoftStr(input)));
}

Value Lower(Interpreter&, const Value& input, Arguments& args) {
  BoundArgs a("lower", args, {});
  return StringLike(input, utf8::Lower(SoftStr(input)));
}

Value Capitalize(Interpreter&, const Value& input, Arguments& args) {
  BoundArgs a("capitalize", args, {});
  return StringLike(input, PyCapitalize(SoftStr(input)));
}

// Jinja2's title filter: capitalizes each word, where words start after whitespace or one of
// - ( { [ <.
Value Title(Interpreter&, const Value& input, Arguments& args) {
  BoundArgs a("title", args, {});
  const std::string s = SoftStr(input);
  std::string out;
  bool word_start = true;
  for (size_t i = 0; i < s.size();) {
    const uint32_t cp = utf8::Next(s, i);
    const bool separator =
        utf8::IsSpace(cp) || cp == '-' || cp == '(' || cp == '{' || cp == '[' || cp == '<';
    if (separator) {
      utf8::Append(out, cp);
      word_start = true;
    } else {
      utf8::Append(out, word_start ? utf8::ToUpper(cp) : utf8::ToLower(cp));
      word_start = false;
    }
  }
  return Value::String(std::move(out));
}

Value Replace(Interpreter& in, const Value& input, Arguments& args) {
  BoundArgs a("replace", args, {"old", "new", "count"}, 2);
  int64_t count = -1;
  if (a.has(2) && !a[2].is_none()) {
    if (!a[2].is_integral()) RuntimeFail("replace() count must be an integer");
    count = a[2].as_int();
  }
  return CheckedString(in, PyReplace(SoftStr(input), SoftStr(a[0]), SoftStr(a[1]), count,
                                     in.options().limits.max_output_bytes));
}

Value String(Interpreter&, const Value& input, Arguments& args) {
  BoundArgs a("string", args, {});
  return input.is_string() ? input : Value::String(SoftStr(input));
}

Value Safe(Interpreter&, const Value& input, Arguments& args) {
  BoundArgs a("safe", args, {});
  return input.is_markup() ? input : Value::Markup(SoftStr(input));
}

Value Escape(Interpreter& in, const Value& input, Arguments& args) {
  BoundArgs a("escape", args, {});
  if (input.is_markup()) return input;
  std::string out = HtmlEscape(SoftStr(input));
  in.CheckStringSize(out.size());
  return Value::Markup(std::move(out));
}

Value ForceEscape(Interpreter& in, const Value& input, Arguments& args) {
  BoundArgs a("forceescape", args, {});
  std::string out = HtmlEscape(SoftStr(input));
  in.CheckStringSize(out.size());
  return Value::Markup(std::move(out));
}

// Hugging Face's tojson: json.dumps(x, ensure_ascii=False, indent=None, separators=None,
// sort_keys=False).
Value ToJsonFilter(Interpreter& in, const Value& input, Arguments& args) {
  BoundArgs a("tojson", args, {"ensure_ascii", "indent", "separators", "sort_keys"});
  JsonFormat format;
  format.ensure_ascii = Truthy(a[0]);
  format.sort_keys = Truthy(a[3]);
  const Value& indent = a[1];
  if (indent.is_integral()) {
    format.indent =
        std::string(static_cast<size_t>(std::clamp<int64_t>(indent.as_int(), 0, 1000)), ' ');
  } else if (indent.is_string()) {
    format.indent = indent.str();
  } else if (!indent.is_undefined() && !indent.is_none()) {
    RuntimeFail("tojson indent must be an integer or a string");
  }
  if (!a[2].is_undefined() && !a[2].is_none()) {
    if (!a[2].is_list() || a[2].items().size() != 2 || !a[2].items()[0].is_string() ||
        !a[2].items()[1].is_string()) {
      RuntimeFail("tojson separators must be a pair of strings");
    }
    format.item_separator = a[2].items()[0].str();
    format.key_separator = a[2].items()[1].str();
  }
  in.Charge();
  return CheckedString(in, ToJson(input, format));
}

Value FromJsonFilter(Interpreter& in, const Value& input, Arguments& args) {
  BoundArgs a("from_json", args, {});
  if (!input.is_string()) RuntimeFail("from_json needs a string, not {}", TypeName(input));
  in.Charge(1 + input.str().size() / 64);
  return ParseJson(input.str());
}

Value Indent(Interpreter& in, const Value& input, Arguments& args) {
  BoundArgs a("indent", args, {"width", "first", "blank"});
  std::string indentation = "    ";
  if (a[0].is_string()) {
    indentation = a[0].str();
  } else if (a[0].is_integral()) {
    indentation =
        std::string(static_cast<size_t>(std::clamp<int64_t>(a[0].as_int(), 0, 1000)), ' ');
  } else if (a.has(0)) {
    RuntimeFail("indent width must be an integer or a string");
  }
  // Jinja2 appends a newline (so that splitlines() keeps a trailing empty line), which only
  // works on strings.
  if (input.is_undefined()) FailUndefined(input);
  if (!input.is_string()) {
    RuntimeFail("unsupported operand type(s) for +=: '{}' and 'str'", TypeName(input));
  }
  const std::string s = input.str() + "\n";
  const std::vector<std::string> lines = utf8::SplitLines(s);
  in.CheckStringSize(s.size() + lines.size() * indentation.size());
  std::string out;
  if (Truthy(a[2])) {
    for (size_t i = 0; i < lines.size(); ++i) {
      if (i > 0) out += "\n" + indentation;
      out += lines[i];
    }
  } else {
    out = lines.empty() ? std::string() : lines[0];
    for (size_t i = 1; i < lines.size(); ++i) {
      out += "\n";
      if (!lines[i].empty()) out += indentation;
      out += lines[i];
    }
  }
  if (Truthy(a[1])) out = indentation + out;
  return StringLike(input, std::move(out));
}

Value Center(Interpreter& in, const Value& input, Arguments& args) {
  BoundArgs a("center", args, {"width"});
  const int64_t width = a.has(0) ? (a[0].is_integral() ? a[0].as_int() : 0) : 80;
  const std::string s = SoftStr(input);
  const auto len = static_cast<int64_t>(utf8::Length(s));
  if (width <= len) return StringLike(input, s);
  in.CheckStringSize(s.size() + static_cast<size_t>(width - len));
  const auto total = static_cast<size_t>(width - len);
  const size_t left = total / 2 + (total & static_cast<size_t>(width) & 1);
  return StringLike(input, std::string(left, ' ') + s + std::string(total - left, ' '));
}

Value Truncate(Interpreter&, const Value& input, Arguments& args) {
  BoundArgs a("truncate", args, {"length", "killwords", "end", "leeway"});
  const int64_t length = a.has(0) ? (a[0].is_integral() ? a[0].as_int() : 255) : 255;
  const std::string end = a.has(2) ? SoftStr(a[2]) : "...";
  const int64_t leeway = a.has(3) && a[3].is_integral() ? a[3].as_int() : 5;
  const auto end_len = static_cast<int64_t>(utf8::Length(end));
  if (length < end_len) RuntimeFail("expected length >= {}, got {}", end_len, length);
  if (leeway < 0) RuntimeFail("expected leeway >= 0, got {}", leeway);
  if (!input.is_string()) {
    // Jinja2 measures the value itself; only strings are ever cut.
    size_t len = 0;
    if (input.is_list()) {
      len = input.items().size();
    } else if (input.is_dict()) {
      len = input.dict().size();
    } else if (!input.is_undefined()) {
      RuntimeFail("object of type '{}' has no len()", TypeName(input));
    }
    if (static_cast<int64_t>(len) <= length + leeway) return input;
    RuntimeFail("truncate can only cut strings, not {}", TypeName(input));
  }
  const std::string s = SoftStr(input);
  const std::vector<size_t> bounds = utf8::Boundaries(s);
  const auto len = static_cast<int64_t>(bounds.size()) - 1;
  if (len <= length + leeway) return StringLike(input, s);
  std::string head = s.substr(0, bounds[static_cast<size_t>(length - end_len)]);
  if (!Truthy(a[1])) {
    const size_t space = head.rfind(' ');
    if (space != std::string::npos) head.resize(space);
  }
  return StringLike(input, head + (input.is_markup() ? HtmlEscape(end) : end));
}

Value WordCount(Interpreter&, const Value& input, Arguments& args) {
  BoundArgs a("wordcount", args, {});
  const std::string s = SoftStr(input);
  int64_t words = 0;
  bool in_word = false;
  for (size_t i = 0; i < s.size();) {
    const uint32_t cp = utf8::Next(s, i);
    const bool word_char = utf8::IsAlnum(cp) || cp == '_';
    if (word_char && !in_word) ++words;
    in_word = word_char;
  }
  return Value::Int(words);
}

Value Format(Interpreter& in, const Value& input, Arguments& args) {
  if (!args.positional.empty() && !args.keyword.empty()) {
    RuntimeFail("format can't handle positional and keyword arguments at the same time");
  }
  Value operand;
  if (!args.keyword.empty()) {
    operand = Value::NewDict();
    for (auto& [key, value] : args.keyword) operand.dict().Set(std::string_view(key), value);
  } else {
    operand = Value::NewTuple(args.positional);
  }
  std::string out = PercentFormat(SoftStr(input), operand, input.is_markup());
  in.CheckStringSize(out.size());
  return StringLike(input, std::move(out));
}

// Python's int(str, base): optional sign, underscores between digits, surrounding whitespace.
std::optional<int64_t> ParseInt(std::string_view text, int base) {
  std::string_view s = utf8::StripWhitespace(text, utf8::StripSide::kBoth);
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.size() > 2 && s[0] == '0') {
    const char p = static_cast<char>(std::tolower(static_cast<unsigned char>(s[1])));
    if ((p == 'x' && base == 16) || (p == 'o' && base == 8) || (p == 'b' && base == 2)) {
      s.remove_prefix(2);
      if (!s.empty() && s[0] == '_') s.remove_prefix(1);
    }
  }
  if (s.empty()) return std::nullopt;
  uint64_t value = 0;
  bool last_underscore = true;  // no leading underscore
  for (char c : s) {
    if (c == '_') {
      if (last_underscore) return std::nullopt;
      last_underscore = true;
      continue;
    }
    int digit = -1;
    if (c >= '0' && c <= '9') digit = c - '0';
    if (c >= 'a' && c <= 'z') digit = c - 'a' + 10;
    if (c >= 'A' && c <= 'Z') digit = c - 'A' + 10;
    if (digit < 0 || digit >= base) return std::nullopt;
    if (value > (static_cast<uint64_t>(INT64_MAX) + 1 - static_cast<uint64_t>(digit)) /
                    static_cast<uint64_t>(base)) {
      RuntimeFail("int() value '{}' does not fit in 64 bits", text);
    }
    value = value * static_cast<uint64_t>(base) + static_cast<uint64_t>(digit);
    last_underscore = false;
  }
  if (last_underscore) return std::nullopt;
  if (!negative && value > static_cast<uint64_t>(INT64_MAX)) {
    RuntimeFail("int() value '{}' does not fit in 64 bits", text);
  }
  return negative ? static_cast<int64_t>(0 - value) : static_cast<int64_t>(value);
}

// Python's float(str): decimal or exponent notation, inf, nan, underscores between digits.
std::optional<double> ParseFloat(std::string_view text) {
  const std::string_view s = utf8::StripWhitespace(text, utf8::StripSide::kBoth);
  std::string clean;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '_') {
      if (i == 0 || i + 1 == s.size() || !std::isdigit(static_cast<unsigned char>(s[i - 1])) ||
          !std::isdigit(static_cast<unsigned char>(s[i + 1]))) {
        return std::nullopt;
      }
      continue;
    }
    clean += s[i];
  }
  if (clean.empty()) return std::nullopt;
  std::string lower = utf8::Lower(clean);
  std::string_view body = lower;
  if (body[0] == '+' || body[0] == '-') body.remove_prefix(1);
  if (body == "inf" || body == "infinity" || body == "nan") {
    const double v = body == "nan" ? NAN : INFINITY;
    return lower[0] == '-' ? -v : v;
  }
  for (char c : body) {
    if (!std::isdigit(static_cast<unsigned char>(c)) && c != '.' && c != 'e' && c != '+' &&
        c != '-') {
      return std::nullopt;  // strtod would also accept hex floats, which Python does not
    }
  }
  char* end = nullptr;
  const double v = std::strtod(clean.c_str(), &end);
  if (end != clean.c_str() + clean.size()) return std::nullopt;
  return v;
}

Value IntFilter(Interpreter&, const Value& input, Arguments& args) {
  BoundArgs a("int", args, {"default", "base"});
  const Value fallback = a.has(0) ? a[0] : Value::Int(0);
  int64_t base = 10;
  if (a.has(1)) {
    if (!a[1].is_integral() || a[1].as_int() < 2 || a[1].as_int() > 36) {
      RuntimeFail("int() base must be between 2 and 36");
    }
    base = a[1].as_int();
  }
  if (input.is_integral()) return Value::Int(input.as_int());
  auto from_float = [&](double d) {
    if (std::isnan(d)) return fallback;
    if (!std::isfinite(d) || std::fabs(d) >= 9.2e18)
      RuntimeFail("cannot convert {} to an integer", d);
    return Value::Int(static_cast<int64_t>(d));
  };
  if (input.is_float()) return from_float(input.as_float());
  if (input.is_string()) {
    if (auto v = ParseInt(input.str(), static_cast<int>(base))) return Value::Int(*v);
    // "42.23"|int is 42.
    if (auto d = ParseFloat(input.str())) return from_float(*d);
  }
  return fallback;
}

Value FloatFilter(Interpreter&, const Value& input, Arguments& args) {
  BoundArgs a("float", args, {"default"});
  if (input.is_number()) return Value::Float(input.as_float());
  if (input.is_string()) {
    if (auto d = ParseFloat(input.str())) return Value::Float(*d);
  }
  return a.has(0) ? a[0] : Value::Float(0.0);
}

Value Abs(Interpreter&, const Value& input, Arguments& args) {
  BoundArgs a("abs", args, {});
  if (input.is_float()) return Value::Float(std::fabs(input.as_float()));
  if (input.is_integral()) {
    if (input.as_int() == INT64_MIN) RuntimeFail("integer overflow");
    return Value::Int(std::llabs(input.as_int()));
  }
  RuntimeFail("bad operand type for abs(): '{}'", TypeName(input));
}

// Python's round(x, n) on a float: correctly rounded, ties to even on the exact binary value,
// which is what printf's %.nf does.
double PyRound(double x, int64_t digits) {
  if (!std::isfinite(x)) return x;
  if (digits >= 0) {
    if (digits > 300) return x;
    char buf[512];
    std::snprintf(buf, sizeof(buf), "%.*f", static_cast<int>(digits), x);
    return std::strtod(buf, nullptr);
  }
  if (digits < -308) return std::copysign(0.0, x);
  const double scale = std::pow(10.0, static_cast<double>(-digits));
  return std::nearbyint(x / scale) * scale;
}

// Python's round(int, n): unchanged for n >= 0, else to a multiple of 10**-n, ties to even.
int64_t RoundInt(int64_t x, int64_t digits) {
  if (digits >= 0) return x;
  if (digits < -18) return 0;
  int64_t p = 1;
  for (int64_t i = 0; i < -digits; ++i) p *= 10;
  int64_t q = x / p;
  int64_t r = x % p;
  if (r < 0) {
    r += p;
    --q;
  }
  if (r > p - r || (r == p - r && q % 2 != 0)) ++q;
  int64_t result = 0;
  if (__builtin_mul_overflow(q, p, &result)) RuntimeFail("integer overflow in round()");
  return result;
}

Value Round(Interpreter&, const Value& input, Arguments& args) {
  BoundArgs a("round", args, {"precision", "method"});
  int64_t precision = 0;
  if (a.has(0)) {
    if (!a[0].is_integral()) RuntimeFail("round() precision must be an integer");
    precision = a[0].as_int();
  }
  const std::string method = a.has(1) ? SoftStr(a[1]) : "common";
  if (method != "common" && method != "ceil" && method != "floor") {
    RuntimeFail("method must be common, ceil or floor");
  }
  if (!input.is_number()) RuntimeFail("type {} doesn't define __round__ method", TypeName(input));
  if (method == "common") {
    if (input.is_integral()) return Value::Int(RoundInt(input.as_int(), precision));
    return Value::Float(PyRound(input.as_float(), precision));
  }
  const double scale = std::pow(10.0, static_cast<double>(precision));
  const double scaled = input.as_float() * scale;
  return Value::Float((method == "ceil" ? std::ceil(scaled) : std::floor(scaled)) / scale);
}

}  // namespace

void RegisterTextFilters(FilterTable& table) {
  table.insert({
      {"trim", Trim},
      {"upper", Upper},
      {"lower", Lower},
      {"capitalize", Capitalize},
      {"title", Title},
      {"replace", Replace},
      {"string", String},
      {"safe", Safe},
      {"escape", Escape},
      {"e", Escape},
      {"forceescape", ForceEscape},
      {"tojson", ToJsonFilter},
      {"from_json", FromJsonFilter},
      {"indent", Indent},
      {"center", Center},
      {"truncate", Truncate},
      {"wordcount", WordCount},
      {"format", Format},
      {"int", IntFilter},
      {"float", FloatFilter},
      {"abs", Abs},
      {"round", Round},
  });
}

}  // namespace kiln::jinja
