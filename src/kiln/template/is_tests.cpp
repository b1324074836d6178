// The tests of `x is name(args)`: Jinja2's builtin tests with Python's notion of types (a bool
// is a number but not an integer; strings and dicts are sequences; undefined is iterable).
#include <unordered_map>

#include "kiln/template/builtins.h"
#include "kiln/template/fail.h"
#include "kiln/template/interpreter.h"
#include "kiln/template/operators.h"
#include "kiln/template/utf8.h"

namespace kiln::jinja {
namespace {

const Value& OneArg(std::string_view test, Arguments& args) {
  if (args.positional.size() + args.keyword.size() != 1) {
    RuntimeFail("test '{}' takes exactly one argument", test);
  }
  return args.positional.empty() ? args.keyword[0].second : args.positional[0];
}

void NoArgs(std::string_view test, const Arguments& args) {
  if (!args.positional.empty() || !args.keyword.empty()) {
    RuntimeFail("test '{}' takes no arguments", test);
  }
}

#define KILN_SIMPLE_TEST(fn_name, test_name, expr)              \
  bool fn_name(Interpreter&, const Value& v, Arguments& args) { \
    NoArgs(test_name, args);                                    \
    return (expr);                                              \
  }

KILN_SIMPLE_TEST(IsDefined, "defined", !v.is_undefined())
KILN_SIMPLE_TEST(IsUndefined, "undefined", v.is_undefined())
KILN_SIMPLE_TEST(IsNone, "none", v.is_none())
KILN_SIMPLE_TEST(IsBoolean, "boolean", v.is_bool())
KILN_SIMPLE_TEST(IsTrue, "true", v.is_bool() && v.as_bool())
KILN_SIMPLE_TEST(IsFalse, "false", v.is_bool() && !v.as_bool())
KILN_SIMPLE_TEST(IsString, "string", v.is_string())
KILN_SIMPLE_TEST(IsNumber, "number", v.is_number())
KILN_SIMPLE_TEST(IsInteger, "integer", v.is_int())
KILN_SIMPLE_TEST(IsFloat, "float", v.is_float())
KILN_SIMPLE_TEST(IsMapping, "mapping", v.is_dict())
KILN_SIMPLE_TEST(IsIterable, "iterable",
                 v.is_undefined() || v.is_string() || v.is_list() || v.is_dict())
// Undefined has __len__ and __getitem__ in Jinja2, so it passes as a sequence.
KILN_SIMPLE_TEST(IsSequence, "sequence",
                 v.is_undefined() || v.is_string() || v.is_list() || v.is_dict())
// The only objects are loop variables, which are callable (recursive loops), as in Jinja2;
// Jinja2's Undefined defines __call__ (to raise), so it counts as callable too.
KILN_SIMPLE_TEST(IsCallable, "callable", v.is_callable() || v.is_object() || v.is_undefined())
KILN_SIMPLE_TEST(IsEscaped, "escaped", v.is_markup())

#undef KILN_SIMPLE_TEST

// Jinja2 defines odd, even and divisibleby with Python's %, so floats work and strings fail.
Value Modulo(Interpreter& in, const Value& v, const Value& divisor) {
  return BinaryOperation(in, BinaryOp::kMod, v, divisor);
}

bool IsOdd(Interpreter& in, const Value& v, Arguments& args) {
  NoArgs("odd", args);
  return Equals(Modulo(in, v, Value::Int(2)), Value::Int(1));
}

bool IsEven(Interpreter& in, const Value& v, Arguments& args) {
  NoArgs("even", args);
  return Equals(Modulo(in, v, Value::Int(2)), Value::Int(0));
}

bool IsDivisibleBy(Interpreter& in, const Value& v, Arguments& args) {
  return Equals(Modulo(in, v, OneArg("divisibleby", args)), Value::Int(0));
}

bool IsEq(Interpreter&, const Value& v, Arguments& args) {
  return Equals(v, OneArg("eq", args));
}
bool IsNe(Interpreter&, const Value& v, Arguments& args) {
  return !Equals(v, OneArg("ne", args));
}

int Ordered(const Value& a, const Value& b) {
  if (a.is_undefined() || b.is_undefined()) RuntimeFail("an undefined value cannot be compared");
  return Compare(a, b);
}

bool IsLt(Interpreter&, const Value& v, Arguments& args) {
  return Ordered(v, OneArg("lt", args)) < 0;
}
bool IsLe(Interpreter&, const Value& v, Arguments& args) {
  return Ordered(v, OneArg("le", args)) <= 0;
}
bool IsGt(Interpreter&, const Value& v, Arguments& args) {
  return Ordered(v, OneArg("gt", args)) > 0;
}
bool IsGe(Interpreter&, const Value& v, Arguments& args) {
  return Ordered(v, OneArg("ge", args)) >= 0;
}

bool IsIn(Interpreter&, const Value& v, Arguments& args) {
  return Contains(OneArg("in", args), v);
}

// Python's `is`: identity for containers, equality of value and type for scalars (CPython
// interns small values, and templates use this for `x is sameas false`).
bool IsSameAs(Interpreter&, const Value& v, Arguments& args) {
  const Value& other = OneArg("sameas", args);
  if (v.kind() != other.kind()) return false;
  switch (v.kind()) {
    case Kind::kUndefined:
    case Kind::kNone:
      return true;
    case Kind::kBool:
    case Kind::kInt:
    case Kind::kFloat:
    case Kind::kString:
      return Equals(v, other);
    default:
      return v.identity() == other.identity();
  }
}

bool IsLower(Interpreter&, const Value& v, Arguments& args) {
  NoArgs("lower", args);
  const std::string s = ToStr(v);
  bool cased = false;
  for (size_t i = 0; i < s.size();) {
    const uint32_t cp = utf8::Next(s, i);
    if (utf8::IsUpper(cp)) return false;
    if (utf8::IsLower(cp)) cased = true;
  }
  return cased;
}

bool IsUpper(Interpreter&, const Value& v, Arguments& args) {
  NoArgs("upper", args);
  const std::string s = ToStr(v);
  bool cased = false;
  for (size_t i = 0; i < s.size();) {
    const uint32_t cp = utf8::Next(s, i);
    if (utf8::IsLower(cp)) return false;
    if (utf8::IsUpper(cp)) cased = true;
  }
  return cased;
}

bool IsFilter(Interpreter&, const Value& v, Arguments& args) {
  NoArgs("filter", args);
  return v.is_string() && FindFilter(v.str()) != nullptr;
}

bool IsTest(Interpreter&, const Value& v, Arguments& args) {
  NoArgs("test", args);
  return v.is_string() && FindTest(v.str()) != nullptr;
}

}  // namespace

TestFn FindTest(std::string_view name) {
  static const std::unordered_map<std::string_view, TestFn> kTests = {
      {"defined", IsDefined},
      {"undefined", IsUndefined},
      {"none", IsNone},
      {"boolean", IsBoolean},
      {"true", IsTrue},
      {"false", IsFalse},
      {"string", IsString},
      {"number", IsNumber},
      {"integer", IsInteger},
      {"float", IsFloat},
      {"mapping", IsMapping},
      {"iterable", IsIterable},
      {"sequence", IsSequence},
      {"callable", IsCallable},
      {"escaped", IsEscaped},
      {"odd", IsOdd},
      {"even", IsEven},
      {"divisibleby", IsDivisibleBy},
      {"eq", IsEq},
      {"equalto", IsEq},
      {"==", IsEq},
      {"ne", IsNe},
      {"!=", IsNe},
      {"lt", IsLt},
      {"lessthan", IsLt},
      {"<", IsLt},
      {"le", IsLe},
      {"<=", IsLe},
      {"gt", IsGt},
      {"greaterthan", IsGt},
      {">", IsGt},
      {"ge", IsGe},
      {">=", IsGe},
      {"in", IsIn},
      {"sameas", IsSameAs},
      {"lower", IsLower},
      {"upper", IsUpper},
      {"filter", IsFilter},
      {"test", IsTest},
  };
  const auto it = kTests.find(name);
  return it == kTests.end() ? nullptr : it->second;
}

}  // namespace kiln::jinja
