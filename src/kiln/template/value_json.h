// Conversions between template values and JSON: the render context comes in as nlohmann JSON,
// and `tojson` must print exactly what Python's json.dumps prints (", " and ": " separators,
// non-ASCII kept, floats as Python writes them, keys in insertion order).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "kiln/template/value.h"

namespace kiln::jinja {

// Objects become dicts in the JSON's key order (nlohmann::json keeps keys sorted; ordered_json
// keeps them as written, which is what templates printing `tools | tojson` need).
Value FromJson(const nlohmann::ordered_json& json);
Value FromJson(const nlohmann::json& json);

// Parses JSON text into a value (the `from_json` filter).
Value ParseJson(std::string_view text);

struct JsonFormat {
  std::optional<std::string> indent;          // none: everything on one line
  std::optional<std::string> item_separator;  // default ", " (or "," with an indent)
  std::string key_separator = ": ";
  bool sort_keys = false;
  bool ensure_ascii = false;
};

// Python's json.dumps(value, ...) with the given options.
std::string ToJson(const Value& value, const JsonFormat& format);

}  // namespace kiln::jinja
