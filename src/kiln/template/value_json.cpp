#include "kiln/template/value_json.h"

#include <algorithm>
#include <cmath>

#include "kiln/template/fail.h"
#include "kiln/template/py_format.h"
#include "kiln/template/utf8.h"

namespace kiln::jinja {
namespace {

template <typename Json>
Value Convert(const Json& json, int depth) {
  if (depth > kMaxValueDepth) LimitFail("JSON nested more than {} levels deep", kMaxValueDepth);
  switch (json.type()) {
    case nlohmann::json::value_t::null:
    case nlohmann::json::value_t::discarded:
      return Value::None();
    case nlohmann::json::value_t::boolean:
      return Value::Bool(json.template get<bool>());
    case nlohmann::json::value_t::number_integer:
      return Value::Int(json.template get<int64_t>());
    case nlohmann::json::value_t::number_unsigned: {
      const auto u = json.template get<uint64_t>();
      if (u > static_cast<uint64_t>(INT64_MAX)) return Value::Float(static_cast<double>(u));
      return Value::Int(static_cast<int64_t>(u));
    }
    case nlohmann::json::value_t::number_float:
      return Value::Float(json.template get<double>());
    case nlohmann::json::value_t::string:
      return Value::String(json.template get<std::string>());
    case nlohmann::json::value_t::array: {
      std::vector<Value> items;
      items.reserve(json.size());
      for (const auto& item : json) items.push_back(Convert(item, depth + 1));
      return Value::NewList(std::move(items));
    }
    case nlohmann::json::value_t::object: {
      Value dict = Value::NewDict();
      for (auto it = json.begin(); it != json.end(); ++it) {
        dict.dict().Set(Value::String(it.key()), Convert(it.value(), depth + 1));
      }
      return dict;
    }
    case nlohmann::json::value_t::binary:
      break;
  }
  RuntimeFail("binary JSON values are not supported in a template context");
}

void AppendJsonString(std::string& out, std::string_view s, bool ensure_ascii) {
  out += '"';
  for (size_t i = 0; i < s.size();) {
    const auto byte = static_cast<unsigned char>(s[i]);
    if (byte >= 0x20 && byte < 0x80 && byte != '"' && byte != '\\') {
      out += static_cast<char>(byte);
      ++i;
      continue;
    }
    const uint32_t cp = utf8::Next(s, i);
    switch (cp) {
      case '"':
        out += "\\\"";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case '\t':
        out += "\\t";
        continue;
      case '\b':
        out += "\\b";
        continue;
      case '\f':
        out += "\\f";
        continue;
      default:
        break;
    }
    if (cp < 0x20) {
      out += fmt::format("\\u{:04x}", cp);
    } else if (!ensure_ascii) {
      utf8::Append(out, cp);
    } else if (cp < 0x10000) {
      out += fmt::format("\\u{:04x}", cp);
    } else {
      const uint32_t v = cp - 0x10000;
      out += fmt::format("\\u{:04x}\\u{:04x}", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF));
    }
  }
  out += '"';
}

std::string JsonFloat(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  return FloatRepr(d);
}

class JsonWriter {
 public:
  explicit JsonWriter(const JsonFormat& format)
      : format_(format),
        item_separator_(format.item_separator.value_or(format.indent ? "," : ", ")) {}

  void Write(const Value& v, int depth) {
    if (depth > kMaxValueDepth) LimitFail("value nested more than {} levels deep", kMaxValueDepth);
    switch (v.kind()) {
      case Kind::kNone:
        out_ += "null";
        return;
      case Kind::kBool:
        out_ += v.as_bool() ? "true" : "false";
        return;
      case Kind::kInt:
        out_ += std::to_string(v.as_int());
        return;
      case Kind::kFloat:
        out_ += JsonFloat(v.as_float());
        return;
      case Kind::kString:
        AppendJsonString(out_, v.str(), format_.ensure_ascii);
        return;
      case Kind::kList:
      case Kind::kTuple:
        WriteList(v.items(), depth);
        return;
      case Kind::kDict:
        WriteDict(v.dict(), depth);
        return;
      default:
        RuntimeFail("Object of type {} is not JSON serializable", TypeName(v));
    }
  }

  std::string Take() { return std::move(out_); }

 private:
  void Newline(int depth) {
    if (!format_.indent) return;
    out_ += '\n';
    for (int i = 0; i < depth; ++i) out_ += *format_.indent;
  }

  void WriteList(const std::vector<Value>& items, int depth) {
    if (items.empty()) {
      out_ += "[]";
      return;
    }
    out_ += '[';
    for (size_t i = 0; i < items.size(); ++i) {
      if (i > 0) out_ += item_separator_;
      Newline(depth + 1);
      Write(items[i], depth + 1);
    }
    Newline(depth);
    out_ += ']';
  }

  static std::string KeyString(const Value& key) {
    switch (key.kind()) {
      case Kind::kString:
        return key.str();
      case Kind::kNone:
        return "null";
      case Kind::kBool:
        return key.as_bool() ? "true" : "false";
      case Kind::kInt:
        return std::to_string(key.as_int());
      case Kind::kFloat:
        return JsonFloat(key.as_float());
      default:
        RuntimeFail("keys must be str, int, float, bool or None, not {}", TypeName(key));
    }
  }

  void WriteDict(const Dict& dict, int depth) {
    if (dict.empty()) {
      out_ += "{}";
      return;
    }
    std::vector<std::pair<std::string, const Value*>> entries;
    entries.reserve(dict.size());
    for (const auto& [key, value] : dict.entries()) entries.emplace_back(KeyString(key), &value);
    if (format_.sort_keys) {
      std::stable_sort(entries.begin(), entries.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
    }
    out_ += '{';
    for (size_t i = 0; i < entries.size(); ++i) {
      if (i > 0) out_ += item_separator_;
      Newline(depth + 1);
      AppendJsonString(out_, entries[i].first, format_.ensure_ascii);
      out_ += format_.key_separator;
      Write(*entries[i].second, depth + 1);
    }
    Newline(depth);
    out_ += '}';
  }

  const JsonFormat& format_;
  std::string item_separator_;
  std::string out_;
};

}  // namespace

Value FromJson(const nlohmann::ordered_json& json) {
  return Convert(json, 0);
}
Value FromJson(const nlohmann::json& json) {
  return Convert(json, 0);
}

Value ParseJson(std::string_view text) {
  nlohmann::ordered_json json =
      nlohmann::ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) RuntimeFail("from_json: the string is not valid JSON");
  return FromJson(json);
}

std::string ToJson(const Value& value, const JsonFormat& format) {
  JsonWriter writer(format);
  writer.Write(value, 0);
  return writer.Take();
}

}  // namespace kiln::jinja
