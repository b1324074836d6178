// Reading untrusted JSON request bodies: parsing with bounds (UTF-8, nesting depth) and typed
// access to an object's fields that fails with OpenAI-style ApiErrors naming the field
// ("Invalid type for 'temperature': expected a number, but got a string instead.").
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace kiln::server::openai {

// Request JSON keeps keys in the client's order: templates print tool and message objects as
// written (`tool | tojson`).
using Json = nlohmann::ordered_json;

inline constexpr int kMaxJsonDepth = 64;

// Parses a request body that must be a JSON object. ApiError 400 for invalid UTF-8, malformed
// JSON, nesting deeper than kMaxJsonDepth, or a top level that is not an object.
Json ParseRequestBody(std::string_view body);

// "a string", "a number", "an object", ... as OpenAI's messages name JSON types.
std::string_view JsonTypeName(const Json& value);

bool IsValidUtf8(std::string_view text);
// `text` with every ill-formed UTF-8 sequence replaced by U+FFFD (the same as Python's
// bytes.decode(errors="replace") for one maximal subpart at a time).
std::string ToValidUtf8(std::string_view text);

// Typed, optional access to the fields of one JSON object. A field that is absent or null reads
// as nullopt; a field of the wrong type throws ApiError naming `prefix + key`.
class FieldReader {
 public:
  // `prefix` is prepended to field names in errors, e.g. "messages[2]." or "stream_options.".
  FieldReader(const Json& object, std::string prefix = {});

  // Absent or null: nullptr.
  const Json* Get(std::string_view key) const;
  bool Has(std::string_view key) const { return Get(key) != nullptr; }

  std::optional<bool> Bool(std::string_view key) const;
  std::optional<double> Number(std::string_view key) const;
  // Integers (also floats with an integral value, as JavaScript clients may send them) within
  // [min, max]; outside it: ApiError with code invalid_value.
  std::optional<std::int64_t> Integer(std::string_view key, std::int64_t min,
                                      std::int64_t max) const;
  std::optional<std::string> String(std::string_view key) const;
  // Requires an object or array; returns it.
  const Json* Object(std::string_view key) const;
  const Json* Array(std::string_view key) const;

  std::string Name(std::string_view key) const { return prefix_ + std::string(key); }

 private:
  const Json& object_;
  std::string prefix_;
};

// The integral value of a JSON number element (token ids, logit_bias keys' values), or nullopt
// when it is not an integer.
std::optional<std::int64_t> AsInteger(const Json& value);

}  // namespace kiln::server::openai
