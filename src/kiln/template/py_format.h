// Python's text formatting, which templates see through printed values and string operators:
// repr() of floats and strings, printf-style `%` formatting and str.format().
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "kiln/template/value.h"

namespace kiln::jinja {

// repr(float): the shortest string that round-trips, e.g. 1.0, 0.1, 1e+16, 1e-05, inf, nan.
std::string FloatRepr(double d);

// repr(str): quoted with ' (or " when the text has ' but no "), with Python's escapes.
std::string StringRepr(std::string_view s);

// markupsafe.escape: & < > " ' as HTML entities.
std::string HtmlEscape(std::string_view s);
// escape(v): Markup stays as it is, anything else is str(v) escaped.
std::string EscapeValue(const Value& v);

// `format % args`: args is a tuple (positional), a dict (for %(name)s) or a single value.
// With escape_args (a Markup format string), %s and %r arguments are HTML-escaped.
std::string PercentFormat(std::string_view format, const Value& args, bool escape_args = false);

// format.format(*positional, **keyword); escape_args as for PercentFormat.
std::string StrFormat(std::string_view format, const std::vector<Value>& positional,
                      const std::vector<std::pair<std::string, Value>>& keyword,
                      bool escape_args = false);

}  // namespace kiln::jinja
