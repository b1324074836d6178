// Python's operators on template values: arithmetic with Python's int/float rules (floor
// division and modulo round toward negative infinity, `/` is always a float), string and list
// concatenation and repetition, `%` formatting, `~`, and slicing.
#pragma once

#include <cstdint>
#include <optional>

#include "kiln/template/ast.h"
#include "kiln/template/interpreter.h"
#include "kiln/template/value.h"

namespace kiln::jinja {

Value BinaryOperation(Interpreter& in, BinaryOp op, const Value& a, const Value& b);
Value Negate(const Value& v);
Value UnaryPlus(const Value& v);

// x[start:stop:step] on a str, list or tuple; absent bounds are nullopt.
Value SliceValue(Interpreter& in, const Value& object, std::optional<int64_t> start,
                 std::optional<int64_t> stop, std::optional<int64_t> step);

// Throws the error Jinja2 raises when an undefined value is used where a value is needed.
[[noreturn]] void FailUndefined(const Value& undefined);

}  // namespace kiln::jinja
