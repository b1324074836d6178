// Registry of the `|filter` functions. The filters are split by what they work on:
// filters_text.cpp (strings, numbers, JSON) and filters_collections.cpp (lists and dicts).
#pragma once

#include <string_view>
#include <unordered_map>

#include "kiln/template/ast.h"
#include "kiln/template/interpreter.h"

namespace kiln::jinja {

using FilterTable = std::unordered_map<std::string_view, FilterFn>;

void RegisterTextFilters(FilterTable& table);
void RegisterCollectionFilters(FilterTable& table);

// Jinja2's make_attrgetter: `attribute` is a dotted path (numeric parts index lists), an
// integer, or undefined/None for the item itself. Case-folds strings when ignore_case is set.
Value AttributeOf(Interpreter& in, const Value& item, const Value& attribute,
                  bool ignore_case = false);

// str(v) as Jinja2's filters see it (undefined prints as "").
inline std::string SoftStr(const Value& v) {
  return ToStr(v);
}

}  // namespace kiln::jinja
