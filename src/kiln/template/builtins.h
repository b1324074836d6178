// The engine's builtin library, looked up by name: filters (filters.cpp), tests (is_tests.cpp),
// global functions (globals.cpp) and the methods of str, list and dict (methods.cpp).
#pragma once

#include <string_view>

#include "kiln/template/ast.h"
#include "kiln/template/value.h"

namespace kiln::jinja {

// Null when there is no such filter or test.
FilterFn FindFilter(std::string_view name);
TestFn FindTest(std::string_view name);

// A global function such as range or namespace; undefined when there is none.
Value FindGlobal(std::string_view name);

// `receiver.name` as a bound method of a str, list or dict; undefined when there is none.
Value FindMethod(const Value& receiver, std::string_view name);

}  // namespace kiln::jinja
