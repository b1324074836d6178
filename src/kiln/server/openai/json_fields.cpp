#include "kiln/server/openai/json_fields.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "kiln/server/openai/api_error.h"

namespace kiln::server::openai {
namespace {

// Length of the well-formed UTF-8 sequence at text[i], or 0 when the bytes there are ill-formed
// (Unicode table 3-7: no overlongs, surrogates or code points past U+10FFFF).
std::size_t ValidSequenceAt(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  std::size_t length = 0;
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf)
    length = 2;
  else if (lead >= 0xe0 && lead <= 0xef)
    length = 3;
  else if (lead >= 0xf0 && lead <= 0xf4)
    length = 4;
  else
    return 0;
  if (i + length > text.size()) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    const unsigned char b = byte(i + k);
    unsigned char low = 0x80, high = 0xbf;
    if (k == 1) {
      if (lead == 0xe0) low = 0xa0;
      if (lead == 0xed) high = 0x9f;
      if (lead == 0xf0) low = 0x90;
      if (lead == 0xf4) high = 0x8f;
    }
    if (b < low || b > high) return 0;
  }
  return length;
}

// Deepest nesting of arrays and objects, scanning outside strings; stops early past `limit` so
// the parser never sees a document deep enough to exhaust the stack in later recursive code.
int NestingDepth(std::string_view body, int limit) {
  int depth = 0, deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
      if (deepest > limit) return deepest;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

}  // namespace

bool IsValidUtf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = ValidSequenceAt(text, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string ToValidUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = ValidSequenceAt(text, i);
    if (n > 0) {
      out.append(text.substr(i, n));
      i += n;
      continue;
    }
    out += "\xef\xbf\xbd";
    // Skip the maximal prefix of a valid sequence (one replacement per maximal subpart).
    const unsigned char lead = static_cast<unsigned char>(text[i]);
    std::size_t skip = 1;
    std::size_t want = lead >= 0xf0 && lead <= 0xf4   ? 4
                       : lead >= 0xe0 && lead <= 0xef ? 3
                       : lead >= 0xc2 && lead <= 0xdf ? 2
                                                      : 1;
    while (skip < want && i + skip < text.size()) {
      const unsigned char b = static_cast<unsigned char>(text[i + skip]);
      unsigned char low = 0x80, high = 0xbf;
      if (skip == 1) {
        if (lead == 0xe0) low = 0xa0;
        if (lead == 0xed) high = 0x9f;
        if (lead == 0xf0) low = 0x90;
        if (lead == 0xf4) high = 0x8f;
      }
      if (b < low || b > high) break;
      ++skip;
    }
    i += skip;
  }
  return out;
}

Json ParseRequestBody(std::string_view body) {
  if (!IsValidUtf8(body)) {
    throw InvalidRequest("The request body is not valid UTF-8.", {}, "invalid_encoding");
  }
  if (NestingDepth(body, kMaxJsonDepth) > kMaxJsonDepth) {
    throw InvalidRequest(fmt::format(
        "The request body nests arrays and objects deeper than {} levels.", kMaxJsonDepth));
  }
  Json json = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) {
    throw InvalidRequest(
        "We could not parse the JSON body of your request. The body must be a JSON object; "
        "check that it is valid JSON (quotes, commas, brackets).");
  }
  if (!json.is_object()) {
    throw InvalidRequest(
        fmt::format("The request body must be a JSON object, got {}.", JsonTypeName(json)));
  }
  return json;
}

std::string_view JsonTypeName(const Json& value) {
  switch (value.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::boolean:
      return "a boolean";
    case Json::value_t::string:
      return "a string";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return "an integer";
    case Json::value_t::number_float:
      return "a decimal";
    case Json::value_t::object:
      return "an object";
    case Json::value_t::array:
      return "an array";
    default:
      return "an unsupported value";
  }
}

std::optional<std::int64_t> AsInteger(const Json& value) {
  if (value.is_number_integer()) {
    if (value.is_number_unsigned() &&
        value.get<std::uint64_t>() >
            static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return std::nullopt;
    }
    return value.get<std::int64_t>();
  }
  if (value.is_number_float()) {
    const double d = value.get<double>();
    // 2^63 is exactly representable; anything below it converts without overflow.
    if (std::isfinite(d) && std::floor(d) == d && d >= -9.2233720368547758e18 &&
        d < 9.2233720368547758e18) {
      return static_cast<std::int64_t>(d);
    }
  }
  return std::nullopt;
}

FieldReader::FieldReader(const Json& object, std::string prefix)
    : object_(object), prefix_(std::move(prefix)) {}

const Json* FieldReader::Get(std::string_view key) const {
  const auto it = object_.find(key);
  if (it == object_.end() || it->is_null()) return nullptr;
  return &*it;
}

std::optional<bool> FieldReader::Bool(std::string_view key) const {
  const Json* v = Get(key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_boolean()) throw InvalidType(Name(key), "a boolean", JsonTypeName(*v));
  return v->get<bool>();
}

std::optional<double> FieldReader::Number(std::string_view key) const {
  const Json* v = Get(key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_number()) throw InvalidType(Name(key), "a number", JsonTypeName(*v));
  return v->get<double>();
}

std::optional<std::int64_t> FieldReader::Integer(std::string_view key, std::int64_t min,
                                                 std::int64_t max) const {
  const Json* v = Get(key);
  if (v == nullptr) return std::nullopt;
  const std::optional<std::int64_t> value = AsInteger(*v);
  if (!value) {
    if (v->is_number_float()) {
      throw InvalidType(Name(key), "an integer", "a decimal");
    }
    if (!v->is_number()) throw InvalidType(Name(key), "an integer", JsonTypeName(*v));
    throw InvalidRequest(fmt::format("Invalid '{}': the integer is too large.", Name(key)),
                         Name(key), "invalid_value");
  }
  if (*value < min || *value > max) {
    throw InvalidRequest(fmt::format("Invalid '{}': expected a value between {} and {}, got {}.",
                                     Name(key), min, max, *value),
                         Name(key), "invalid_value");
  }
  return value;
}

std::optional<std::string> FieldReader::String(std::string_view key) const {
  const Json* v = Get(key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_string()) throw InvalidType(Name(key), "a string", JsonTypeName(*v));
  return v->get<std::string>();
}

const Json* FieldReader::Object(std::string_view key) const {
  const Json* v = Get(key);
  if (v != nullptr && !v->is_object()) throw InvalidType(Name(key), "an object", JsonTypeName(*v));
  return v;
}

const Json* FieldReader::Array(std::string_view key) const {
  const Json* v = Get(key);
  if (v != nullptr && !v->is_array()) throw InvalidType(Name(key), "an array", JsonTypeName(*v));
  return v;
}

}  // namespace kiln::server::openai
