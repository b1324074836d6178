// Python str operations shared by the str methods (methods.cpp) and the filters (filters.cpp).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::jinja {

// str.split(sep, maxsplit) and str.rsplit; no sep splits on runs of whitespace.
std::vector<std::string> PySplit(std::string_view s, std::optional<std::string_view> sep,
                                 int64_t maxsplit, bool from_right);
// str.replace(old, new, count); `max_bytes` bounds the result (checked before it is built).
std::string PyReplace(std::string_view s, std::string_view old, std::string_view replacement,
                      int64_t count, size_t max_bytes);
// str.title(): upper-cases letters that follow an uncased character.
std::string PyTitle(std::string_view s);
// str.capitalize(): first character upper case, the rest lower case.
std::string PyCapitalize(std::string_view s);
// str.count(sub).
int64_t PyCount(std::string_view s, std::string_view sub);

}  // namespace kiln::jinja
