#include "kiln/template/py_format.h"

#include <charconv>
#include <cmath>
#include <cstdio>

#include "kiln/template/fail.h"
#include "kiln/template/utf8.h"

namespace kiln::jinja {
namespace {

bool IsPrintable(uint32_t cp) {
  if (cp < 0x20 || cp == 0x7F) return false;
  if (cp < 0x7F) return true;
  if (cp >= 0xDC80 && cp <= 0xDCFF) return false;  // escaped invalid byte
  if (cp <= 0xA0 || cp == 0xAD) return false;
  return !((cp >= 0x2000 && cp <= 0x200F) || (cp >= 0x2028 && cp <= 0x202F) ||
           (cp >= 0x205F && cp <= 0x206F) || cp == 0x3000 || cp == 0xFEFF ||
           (cp >= 0xFFF9 && cp <= 0xFFFB) || (cp >= 0xE000 && cp <= 0xF8FF) || cp == 0x1680 ||
           cp == 0x180E || cp == 0x61C);
}

// Pads `text` (measured in code points) to `width` with `fill`, aligned '<', '>' or '^'.
std::string Pad(std::string text, size_t width, char align, uint32_t fill = ' ') {
  const size_t len = utf8::Length(text);
  if (len >= width) return text;
  const size_t total = width - len;
  size_t left = 0;
  if (align == '>') left = total;
  if (align == '^') left = total / 2;
  std::string out;
  for (size_t i = 0; i < left; ++i) utf8::Append(out, fill);
  out += text;
  for (size_t i = left; i < total; ++i) utf8::Append(out, fill);
  return out;
}

std::string TruncateCodePoints(const std::string& s, size_t n) {
  if (utf8::IsAscii(s)) return s.substr(0, n);
  const auto bounds = utf8::Boundaries(s);
  if (n + 1 >= bounds.size()) return s;
  return s.substr(0, bounds[n]);
}

std::string GroupThousands(std::string digits, char separator) {
  std::string out;
  const size_t n = digits.size();
  for (size_t i = 0; i < n; ++i) {
    if (i > 0 && (n - i) % 3 == 0) out += separator;
    out += digits[i];
  }
  return out;
}

std::string IntDigits(int64_t v, char type) {
  const uint64_t magnitude = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  char buf[80];
  int base = 10;
  if (type == 'x' || type == 'X') base = 16;
  if (type == 'o') base = 8;
  if (type == 'b') base = 2;
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), magnitude, base);
  std::string digits(buf, end);
  if (type == 'X') {
    for (char& c : digits) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return digits;
}

// printf-style float conversion of a finite or infinite value; `type` is one of eEfFgG.
std::string CFloat(double v, char type, int precision, bool alternate) {
  char format[16];
  std::snprintf(format, sizeof(format), "%%%s.%d%c", alternate ? "#" : "", precision, type);
  char buf[512];
  const int n = std::snprintf(buf, sizeof(buf), format, std::fabs(v));
  if (n < 0 || static_cast<size_t>(n) >= sizeof(buf)) RuntimeFail("formatted number is too long");
  return std::string(buf, static_cast<size_t>(n));
}

int64_t RequireInt(const Value& v, char type) {
  if (v.is_integral()) return v.as_int();
  if (v.is_float() && type != 'x' && type != 'X' && type != 'o' && type != 'c') {
    const double d = v.as_float();
    if (!std::isfinite(d) || std::fabs(d) >= 9.2e18) RuntimeFail("cannot convert float to integer");
    return static_cast<int64_t>(d);
  }
  RuntimeFail("%{} format: a real number is required, not {}", type, TypeName(v));
}

double RequireFloat(const Value& v, char type) {
  if (v.is_number()) return v.as_float();
  RuntimeFail("%{} format: a real number is required, not {}", type, TypeName(v));
}

}  // namespace

std::string FloatRepr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<size_t>(end - buf));
  std::string out;
  if (sci.front() == '-') {
    out += '-';
    sci.remove_prefix(1);
  }
  const size_t e = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e)) {
    if (c != '.') digits += c;
  }
  int exponent = 0;
  std::string_view exp_text = sci.substr(e + 1);
  if (exp_text.front() == '+') exp_text.remove_prefix(1);
  std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exponent);
  const int decpt = exponent + 1;
  const int ndigits = static_cast<int>(digits.size());
  if (decpt <= -4 || decpt > 16) {
    out += digits[0];
    if (ndigits > 1) {
      out += '.';
      out += digits.substr(1);
    }
    out += fmt::format("e{}{:02d}", exponent < 0 ? '-' : '+', std::abs(exponent));
  } else if (decpt <= 0) {
    out += "0.";
    out.append(static_cast<size_t>(-decpt), '0');
    out += digits;
  } else if (decpt >= ndigits) {
    out += digits;
    out.append(static_cast<size_t>(decpt - ndigits), '0');
    out += ".0";
  } else {
    out += digits.substr(0, static_cast<size_t>(decpt));
    out += '.';
    out += digits.substr(static_cast<size_t>(decpt));
  }
  return out;
}

std::string StringRepr(std::string_view s) {
  const bool has_single = s.find('\'') != std::string_view::npos;
  const bool has_double = s.find('"') != std::string_view::npos;
  const char quote = (has_single && !has_double) ? '"' : '\'';
  std::string out(1, quote);
  for (size_t i = 0; i < s.size();) {
    const uint32_t cp = utf8::Next(s, i);
    if (cp == static_cast<uint32_t>(quote) || cp == '\\') {
      out += '\\';
      out += static_cast<char>(cp);
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (IsPrintable(cp)) {
      utf8::Append(out, cp);
    } else if (cp < 0x100) {
      out += fmt::format("\\x{:02x}", cp);
    } else if (cp < 0x10000) {
      out += fmt::format("\\u{:04x}", cp);
    } else {
      out += fmt::format("\\U{:08x}", cp);
    }
  }
  out += quote;
  return out;
}

std::string HtmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&#34;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string EscapeValue(const Value& v) {
  return v.is_markup() ? v.str() : HtmlEscape(ToStr(v));
}

std::string PercentFormat(std::string_view format, const Value& args, bool escape_args) {
  std::vector<Value> positional;
  const Dict* mapping = nullptr;
  if (args.kind() == Kind::kTuple) {
    positional = args.items();
  } else {
    positional.push_back(args);
    if (args.is_dict()) mapping = &args.dict();
  }
  size_t next_arg = 0;
  bool used_mapping = false;
  auto take = [&]() -> const Value& {
    if (next_arg >= positional.size()) RuntimeFail("not enough arguments for format string");
    return positional[next_arg++];
  };

  std::string out;
  size_t i = 0;
  while (i < format.size()) {
    const size_t pct = format.find('%', i);
    if (pct == std::string_view::npos) {
      out.append(format.substr(i));
      break;
    }
    out.append(format.substr(i, pct - i));
    i = pct + 1;
    if (i >= format.size()) RuntimeFail("incomplete format");
    const Value* arg = nullptr;
    if (format[i] == '(') {
      const size_t close = format.find(')', i);
      if (close == std::string_view::npos) RuntimeFail("incomplete format key");
      if (mapping == nullptr) RuntimeFail("format requires a mapping");
      const Value* found = mapping->Find(format.substr(i + 1, close - i - 1));
      if (found == nullptr) RuntimeFail("KeyError: '{}'", format.substr(i + 1, close - i - 1));
      arg = found;
      used_mapping = true;
      i = close + 1;
    }
    bool left = false, plus = false, space = false, alternate = false, zero = false;
    for (; i < format.size(); ++i) {
      const char c = format[i];
      if (c == '-')
        left = true;
      else if (c == '+')
        plus = true;
      else if (c == ' ')
        space = true;
      else if (c == '#')
        alternate = true;
      else if (c == '0')
        zero = true;
      else
        break;
    }
    size_t width = 0;
    if (i < format.size() && format[i] == '*') {
      width = static_cast<size_t>(std::max<int64_t>(0, RequireInt(take(), '*')));
      ++i;
    }
    while (i < format.size() && std::isdigit(static_cast<unsigned char>(format[i]))) {
      width = std::min<size_t>(width * 10 + static_cast<size_t>(format[i++] - '0'), 100000);
    }
    int precision = -1;
    if (i < format.size() && format[i] == '.') {
      ++i;
      precision = 0;
      while (i < format.size() && std::isdigit(static_cast<unsigned char>(format[i]))) {
        precision = std::min(precision * 10 + (format[i++] - '0'), 1000);
      }
    }
    while (i < format.size() && (format[i] == 'h' || format[i] == 'l' || format[i] == 'L')) ++i;
    if (i >= format.size()) RuntimeFail("incomplete format");
    const char type = format[i++];
    if (type == '%') {
      out += '%';
      continue;
    }
    if (arg == nullptr) arg = &take();

    std::string body;
    std::string sign;
    bool numeric = false;
    switch (type) {
      case 's':
      case 'r':
      case 'a':
        body = type == 's' ? (escape_args ? EscapeValue(*arg) : ToStr(*arg))
                           : (escape_args ? HtmlEscape(Repr(*arg)) : Repr(*arg));
        if (precision >= 0) body = TruncateCodePoints(body, static_cast<size_t>(precision));
        break;
      case 'd':
      case 'i':
      case 'u':
      case 'x':
      case 'X':
      case 'o': {
        const int64_t v = RequireInt(*arg, type);
        numeric = true;
        body = IntDigits(v, type == 'i' || type == 'u' ? 'd' : type);
        if (precision > 0 && body.size() < static_cast<size_t>(precision)) {
          body.insert(0, static_cast<size_t>(precision) - body.size(), '0');
        }
        if (alternate && type == 'o') body.insert(0, "0o");
        if (alternate && (type == 'x' || type == 'X')) body.insert(0, type == 'x' ? "0x" : "0X");
        sign = v < 0 ? "-" : (plus ? "+" : (space ? " " : ""));
        break;
      }
      case 'e':
      case 'E':
      case 'f':
      case 'F':
      case 'g':
      case 'G': {
        const double v = RequireFloat(*arg, type);
        numeric = std::isfinite(v);
        body = CFloat(v, type, precision < 0 ? 6 : precision, alternate);
        sign = std::signbit(v) && !std::isnan(v) ? "-" : (plus ? "+" : (space ? " " : ""));
        break;
      }
      case 'c':
        if (arg->is_string() && utf8::Length(arg->str()) == 1) {
          body = arg->str();
        } else {
          utf8::Append(body, static_cast<uint32_t>(RequireInt(*arg, 'c')));
        }
        break;
      default:
        RuntimeFail("unsupported format character '{}'", type);
    }
    const size_t len = utf8::Length(body) + sign.size();
    if (len >= width) {
      out += sign + body;
    } else if (left) {
      out += sign + body + std::string(width - len, ' ');
    } else if (zero && numeric) {
      out += sign + std::string(width - len, '0') + body;
    } else {
      out += std::string(width - len, ' ') + sign + body;
    }
  }
  if (!used_mapping && mapping == nullptr && next_arg < positional.size()) {
    RuntimeFail("not all arguments converted during string formatting");
  }
  return out;
}

namespace {

struct FormatSpec {
  uint32_t fill = ' ';
  char align = 0;
  char sign = '-';
  bool alternate = false;
  size_t width = 0;
  char grouping = 0;
  int precision = -1;
  char type = 0;
};

FormatSpec ParseSpec(std::string_view spec) {
  FormatSpec f;
  const std::vector<uint32_t> cps = utf8::Decode(spec);
  size_t i = 0;
  auto is_align = [](uint32_t c) { return c == '<' || c == '>' || c == '^' || c == '='; };
  if (cps.size() >= 2 && is_align(cps[1])) {
    f.fill = cps[0];
    f.align = static_cast<char>(cps[1]);
    i = 2;
  } else if (!cps.empty() && is_align(cps[0])) {
    f.align = static_cast<char>(cps[0]);
    i = 1;
  }
  if (i < cps.size() && (cps[i] == '+' || cps[i] == '-' || cps[i] == ' ')) {
    f.sign = static_cast<char>(cps[i++]);
  }
  if (i < cps.size() && cps[i] == '#') f.alternate = true, ++i;
  if (i < cps.size() && cps[i] == '0') {
    if (f.align == 0) f.fill = '0', f.align = '=';
    ++i;
  }
  while (i < cps.size() && utf8::IsDigit(cps[i])) {
    f.width = std::min<size_t>(f.width * 10 + (cps[i++] - '0'), 100000);
  }
  if (i < cps.size() && (cps[i] == ',' || cps[i] == '_')) f.grouping = static_cast<char>(cps[i++]);
  if (i < cps.size() && cps[i] == '.') {
    ++i;
    f.precision = 0;
    while (i < cps.size() && utf8::IsDigit(cps[i])) {
      f.precision = std::min(f.precision * 10 + static_cast<int>(cps[i++] - '0'), 1000);
    }
  }
  if (i < cps.size()) f.type = static_cast<char>(cps[i++]);
  if (i != cps.size()) RuntimeFail("invalid format specifier '{}'", spec);
  return f;
}

std::string ApplySpec(const Value& v, std::string_view spec_text) {
  const FormatSpec spec = ParseSpec(spec_text);
  std::string sign;
  std::string body;
  char default_align = '>';
  const bool float_type =
      spec.type != 0 && std::string_view("eEfFgG%").find(spec.type) != std::string_view::npos;
  if (v.is_string() || (!v.is_number() && spec.type == 0) || spec.type == 's') {
    if (!v.is_string() && spec.type == 's')
      RuntimeFail("unknown format code 's' for {}", TypeName(v));
    body = ToStr(v);
    if (spec.precision >= 0) body = TruncateCodePoints(body, static_cast<size_t>(spec.precision));
    default_align = '<';
  } else if (v.is_integral() && !float_type) {
    if (v.is_bool() && spec.type == 0 && spec_text.empty()) return ToStr(v);
    const int64_t i = v.as_int();
    const char type = spec.type == 0 || spec.type == 'n' ? 'd' : spec.type;
    if (type == 'c') {
      utf8::Append(body, static_cast<uint32_t>(i));
    } else {
      if (std::string_view("dxXob").find(type) == std::string_view::npos) {
        RuntimeFail("unknown format code '{}' for int", type);
      }
      body = IntDigits(i, type);
      if (spec.grouping != 0) body = GroupThousands(body, spec.grouping);
      if (spec.alternate && type != 'd') body.insert(0, std::string("0") + type);
      sign = i < 0 ? "-" : (spec.sign == '-' ? "" : std::string(1, spec.sign));
    }
  } else if (v.is_number()) {
    const double d = v.as_float();
    sign = std::signbit(d) && !std::isnan(d) ? "-"
                                             : (spec.sign == '-' ? "" : std::string(1, spec.sign));
    if (spec.type == 0 && spec.precision < 0) {
      body = FloatRepr(std::fabs(d));
    } else if (spec.type == '%') {
      body = CFloat(d * 100, 'f', spec.precision < 0 ? 6 : spec.precision, spec.alternate) + "%";
    } else {
      const char type = spec.type == 0 ? 'g' : spec.type;
      body = CFloat(d, type, spec.precision < 0 ? 6 : spec.precision, spec.alternate);
    }
    if (spec.grouping != 0) {
      const size_t dot = std::min(body.find_first_not_of("0123456789"), body.size());
      body = GroupThousands(body.substr(0, dot), spec.grouping) + body.substr(dot);
    }
  } else {
    RuntimeFail("unsupported format string passed to {}.__format__", TypeName(v));
  }
  const char align = spec.align == 0 ? default_align : spec.align;
  if (align == '=') {
    const size_t len = utf8::Length(body) + sign.size();
    std::string pad;
    for (size_t k = len; k < spec.width; ++k) utf8::Append(pad, spec.fill);
    return sign + pad + body;
  }
  return Pad(sign + body, spec.width, align, spec.fill);
}

}  // namespace

std::string StrFormat(std::string_view format, const std::vector<Value>& positional,
                      const std::vector<std::pair<std::string, Value>>& keyword, bool escape_args) {
  std::string out;
  size_t auto_index = 0;
  size_t i = 0;
  while (i < format.size()) {
    const char c = format[i];
    if (c == '}') {
      if (i + 1 < format.size() && format[i + 1] == '}') {
        out += '}';
        i += 2;
        continue;
      }
      RuntimeFail("single '}}' encountered in format string");
    }
    if (c != '{') {
      out += c;
      ++i;
      continue;
    }
    if (i + 1 < format.size() && format[i + 1] == '{') {
      out += '{';
      i += 2;
      continue;
    }
    const size_t close = format.find('}', i);
    if (close == std::string_view::npos) RuntimeFail("single '{{' encountered in format string");
    std::string_view field = format.substr(i + 1, close - i - 1);
    i = close + 1;
    std::string_view spec;
    char conversion = 0;
    if (const size_t colon = field.find(':'); colon != std::string_view::npos) {
      spec = field.substr(colon + 1);
      field = field.substr(0, colon);
    }
    if (const size_t bang = field.find('!'); bang != std::string_view::npos) {
      if (bang + 2 != field.size()) RuntimeFail("invalid conversion in format string");
      conversion = field[bang + 1];
      field = field.substr(0, bang);
    }
    const Value* arg = nullptr;
    if (field.empty()) {
      if (auto_index >= positional.size()) {
        RuntimeFail("Replacement index {} out of range for positional args tuple", auto_index);
      }
      arg = &positional[auto_index++];
    } else if (std::isdigit(static_cast<unsigned char>(field[0]))) {
      size_t index = 0;
      auto [p, ec] = std::from_chars(field.data(), field.data() + field.size(), index);
      if (ec != std::errc() || p != field.data() + field.size()) {
        RuntimeFail("unsupported format field '{}'", field);
      }
      if (index >= positional.size()) {
        RuntimeFail("Replacement index {} out of range for positional args tuple", index);
      }
      arg = &positional[index];
    } else {
      for (const auto& [name, value] : keyword) {
        if (name == field) arg = &value;
      }
      if (arg == nullptr) RuntimeFail("KeyError: '{}'", field);
    }
    Value converted;
    if (conversion == 'r' || conversion == 'a') {
      converted = Value::String(Repr(*arg));
    } else if (conversion == 's') {
      converted = Value::String(ToStr(*arg));
    } else if (conversion != 0) {
      RuntimeFail("unknown conversion specifier {}", conversion);
    }
    std::string field_text = ApplySpec(conversion != 0 ? converted : *arg, spec);
    out += escape_args && !arg->is_markup() ? HtmlEscape(field_text) : field_text;
  }
  return out;
}

}  // namespace kiln::jinja
