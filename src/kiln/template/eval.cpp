// Expression half of the interpreter, and Jinja2's rules for looking things up and calling them.
#include <fmt/format.h>

#include "kiln/template/builtins.h"
#include "kiln/template/callables.h"
#include "kiln/template/fail.h"
#include "kiln/template/interpreter.h"
#include "kiln/template/operators.h"
#include "kiln/template/utf8.h"

namespace kiln::jinja {
namespace {

std::string ObjectName(const Value& v) {
  return fmt::format("'{} object'", TypeName(v));
}

// Slices bypass Jinja2's lenient getitem, so a bad bound is Python's TypeError.
std::optional<int64_t> SliceBound(const Value& v) {
  if (v.is_none()) return std::nullopt;
  if (!v.is_integral()) {
    RuntimeFail("slice indices must be integers or None, not {}", TypeName(v));
  }
  return v.as_int();
}

}  // namespace

Value Interpreter::Eval(const Expr& expr, const ScopePtr& scope) {
  DepthGuard guard(*this);
  Charge();
  switch (expr.kind) {
    case ExprKind::kLiteral:
      return static_cast<const LiteralExpr&>(expr).value;
    case ExprKind::kName:
      return EvalName(static_cast<const NameExpr&>(expr), scope);
    case ExprKind::kList:
    case ExprKind::kTuple:
      return EvalSequence(static_cast<const SequenceExpr&>(expr), scope);
    case ExprKind::kDict:
      return EvalDict(static_cast<const DictExpr&>(expr), scope);
    case ExprKind::kGetAttr: {
      const auto& e = static_cast<const GetAttrExpr&>(expr);
      return GetAttr(Eval(*e.object, scope), e.name);
    }
    case ExprKind::kGetItem: {
      const auto& e = static_cast<const GetItemExpr&>(expr);
      const Value object = Eval(*e.object, scope);
      return GetItem(object, Eval(*e.index, scope));
    }
    case ExprKind::kSlice:
      return EvalSlice(static_cast<const SliceExpr&>(expr), scope);
    case ExprKind::kCall:
      return EvalCall(static_cast<const CallExpr&>(expr), scope);
    case ExprKind::kFilter:
      return EvalFilter(static_cast<const FilterExpr&>(expr), scope);
    case ExprKind::kTest:
      return EvalTest(static_cast<const TestExpr&>(expr), scope);
    case ExprKind::kNot:
      return Value::Bool(!Truthy(Eval(*static_cast<const UnaryExpr&>(expr).operand, scope)));
    case ExprKind::kNegate:
      return Negate(Eval(*static_cast<const UnaryExpr&>(expr).operand, scope));
    case ExprKind::kPlus:
      return UnaryPlus(Eval(*static_cast<const UnaryExpr&>(expr).operand, scope));
    case ExprKind::kBinary: {
      const auto& e = static_cast<const BinaryExpr&>(expr);
      const Value left = Eval(*e.left, scope);
      return BinaryOperation(*this, e.op, left, Eval(*e.right, scope));
    }
    case ExprKind::kAnd: {
      const auto& e = static_cast<const BinaryExpr&>(expr);
      Value left = Eval(*e.left, scope);
      return Truthy(left) ? Eval(*e.right, scope) : left;
    }
    case ExprKind::kOr: {
      const auto& e = static_cast<const BinaryExpr&>(expr);
      Value left = Eval(*e.left, scope);
      return Truthy(left) ? left : Eval(*e.right, scope);
    }
    case ExprKind::kCompare:
      return EvalCompare(static_cast<const CompareExpr&>(expr), scope);
    case ExprKind::kConditional: {
      const auto& e = static_cast<const ConditionalExpr&>(expr);
      if (Truthy(Eval(*e.condition, scope))) return Eval(*e.then_expr, scope);
      if (e.else_expr) return Eval(*e.else_expr, scope);
      return Value::Undefined(
          fmt::format("the inline if-expression on line {} evaluated to false and no else "
                      "section was defined",
                      e.line));
    }
  }
  return Value();
}

Value Interpreter::EvalName(const NameExpr& expr, const ScopePtr& scope) {
  if (const Value* v = scope->Find(expr.name)) return *v;
  Value global = FindGlobal(expr.name);
  if (!global.is_undefined()) return global;
  return Value::Undefined(fmt::format("'{}' is undefined", expr.name));
}

Value Interpreter::EvalSequence(const SequenceExpr& expr, const ScopePtr& scope) {
  std::vector<Value> items;
  items.reserve(expr.items.size());
  for (const ExprPtr& item : expr.items) items.push_back(Eval(*item, scope));
  if (expr.kind == ExprKind::kTuple) return Value::NewTuple(std::move(items));
  return Value::NewList(std::move(items));
}

Value Interpreter::EvalDict(const DictExpr& expr, const ScopePtr& scope) {
  Value dict = Value::NewDict();
  for (const auto& [key_expr, value_expr] : expr.items) {
    Value key = Eval(*key_expr, scope);
    Value value = Eval(*value_expr, scope);
    dict.dict().Set(std::move(key), std::move(value));
  }
  return dict;
}

Value Interpreter::EvalSlice(const SliceExpr& expr, const ScopePtr& scope) {
  const Value object = Eval(*expr.object, scope);
  if (object.is_undefined()) FailUndefined(object);
  std::optional<int64_t> start, stop, step;
  if (expr.start) start = SliceBound(Eval(*expr.start, scope));
  if (expr.stop) stop = SliceBound(Eval(*expr.stop, scope));
  if (expr.step) step = SliceBound(Eval(*expr.step, scope));
  return SliceValue(*this, object, start, stop, step);
}

Arguments Interpreter::EvalArgs(const CallArgs& args, const ScopePtr& scope) {
  Arguments out;
  out.positional.reserve(args.positional.size());
  for (const ExprPtr& arg : args.positional) out.positional.push_back(Eval(*arg, scope));
  if (args.star_args) {
    for (Value& v : Iterate(Eval(*args.star_args, scope))) out.positional.push_back(std::move(v));
  }
  for (const auto& [name, arg] : args.keyword) out.keyword.emplace_back(name, Eval(*arg, scope));
  if (args.star_kwargs) {
    const Value kwargs = Eval(*args.star_kwargs, scope);
    if (!kwargs.is_dict())
      RuntimeFail("argument after ** must be a mapping, not {}", TypeName(kwargs));
    for (const auto& [key, value] : kwargs.dict().entries()) {
      if (!key.is_string()) RuntimeFail("keywords must be strings");
      out.keyword.emplace_back(key.str(), value);
    }
  }
  return out;
}

Value Interpreter::EvalCall(const CallExpr& expr, const ScopePtr& scope) {
  const Value callee = Eval(*expr.callee, scope);
  Arguments args = EvalArgs(expr.args, scope);
  return Call(callee, args);
}

Value Interpreter::Call(const Value& callee, Arguments& args) {
  DepthGuard guard(*this);
  Charge();
  if (callee.is_callable()) return callee.callable().Call(*this, args);
  if (callee.is_object()) {
    if (auto* loop = dynamic_cast<LoopObject*>(&callee.object())) return loop->Recurse(*this, args);
  }
  if (callee.is_undefined()) FailUndefined(callee);
  RuntimeFail("'{}' object is not callable", TypeName(callee));
}

Value Interpreter::RunFilter(const FilterCall& filter, const Value& input, const ScopePtr& scope) {
  Arguments args = EvalArgs(filter.args, scope);
  if (filter.fn == nullptr) RuntimeFail("no filter named '{}'", filter.name);
  return filter.fn(*this, input, args);
}

Value Interpreter::EvalFilter(const FilterExpr& expr, const ScopePtr& scope) {
  const Value input = Eval(*expr.input, scope);
  return RunFilter(expr.filter, input, scope);
}

Value Interpreter::EvalTest(const TestExpr& expr, const ScopePtr& scope) {
  const Value input = Eval(*expr.input, scope);
  Arguments args = EvalArgs(expr.args, scope);
  if (expr.fn == nullptr) RuntimeFail("no test named '{}'", expr.name);
  const bool result = expr.fn(*this, input, args);
  return Value::Bool(result != expr.negated);
}

Value Interpreter::EvalCompare(const CompareExpr& expr, const ScopePtr& scope) {
  Value left = Eval(*expr.first, scope);
  for (const auto& [op, right_expr] : expr.rest) {
    Value right = Eval(*right_expr, scope);
    bool result = false;
    switch (op) {
      case CompareOp::kEq:
        result = Equals(left, right);
        break;
      case CompareOp::kNe:
        result = !Equals(left, right);
        break;
      case CompareOp::kIn:
        result = Contains(right, left);
        break;
      case CompareOp::kNotIn:
        result = !Contains(right, left);
        break;
      default: {
        if (left.is_undefined()) FailUndefined(left);
        if (right.is_undefined()) FailUndefined(right);
        const int c = Compare(left, right);
        result = op == CompareOp::kLt   ? c < 0
                 : op == CompareOp::kLe ? c <= 0
                 : op == CompareOp::kGt ? c > 0
                                        : c >= 0;
      }
    }
    if (!result) return Value::Bool(false);
    left = std::move(right);
  }
  return Value::Bool(true);
}

Value Interpreter::GetAttr(const Value& object, std::string_view name) {
  if (object.is_undefined()) FailUndefined(object);
  // The sandbox hides private attributes.
  if (!name.empty() && name[0] == '_') {
    return Value::Undefined(fmt::format("access to attribute '{}' is unsafe", name));
  }
  switch (object.kind()) {
    case Kind::kDict: {
      Value method = FindMethod(object, name);
      if (!method.is_undefined()) return method;
      if (const Value* v = object.dict().Find(name)) return *v;
      break;
    }
    case Kind::kNamespace:
      if (const Value* v = object.dict().Find(name)) return *v;
      break;
    case Kind::kString:
    case Kind::kList:
    case Kind::kTuple: {
      Value method = FindMethod(object, name);
      if (!method.is_undefined()) return method;
      break;
    }
    case Kind::kObject:
      return object.object().GetAttr(name);
    default:
      break;
  }
  return Value::Undefined(fmt::format("{} has no attribute '{}'", ObjectName(object), name));
}

Value Interpreter::GetItem(const Value& object, const Value& key) {
  if (object.is_undefined()) FailUndefined(object);
  switch (object.kind()) {
    case Kind::kDict: {
      if (key.is_string() || key.is_number() || key.is_none() || key.kind() == Kind::kTuple) {
        if (const Value* v = object.dict().Find(key)) return *v;
      }
      break;
    }
    case Kind::kList:
    case Kind::kTuple:
      if (key.is_integral()) {
        const auto& items = object.items();
        int64_t i = key.as_int();
        if (i < 0) i += static_cast<int64_t>(items.size());
        if (i >= 0 && i < static_cast<int64_t>(items.size())) return items[static_cast<size_t>(i)];
        return Value::Undefined(
            fmt::format("{} has no element {}", ObjectName(object), key.as_int()));
      }
      break;
    case Kind::kString:
      if (key.is_integral()) {
        const std::string& s = object.str();
        int64_t i = key.as_int();
        if (utf8::IsAscii(s)) {
          if (i < 0) i += static_cast<int64_t>(s.size());
          if (i >= 0 && i < static_cast<int64_t>(s.size())) {
            return StringLike(object, std::string(1, s[static_cast<size_t>(i)]));
          }
        } else {
          const std::vector<size_t> bounds = utf8::Boundaries(s);
          const auto n = static_cast<int64_t>(bounds.size()) - 1;
          if (i < 0) i += n;
          if (i >= 0 && i < n) {
            const size_t at = bounds[static_cast<size_t>(i)];
            return StringLike(object, s.substr(at, bounds[static_cast<size_t>(i) + 1] - at));
          }
        }
        return Value::Undefined(
            fmt::format("{} has no element {}", ObjectName(object), key.as_int()));
      }
      break;
    default:
      break;
  }
  // Jinja2 falls back to the attribute of that name.
  if (key.is_string()) return GetAttr(object, key.str());
  return Value::Undefined(fmt::format("{} has no element {}", ObjectName(object), Repr(key)));
}

Value Interpreter::GetAttrPath(const Value& object, std::string_view path) {
  Value current = object;
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    const std::string_view part =
        path.substr(start, dot == std::string_view::npos ? dot : dot - start);
    bool numeric = !part.empty();
    int64_t index = 0;
    for (char c : part) {
      if (c < '0' || c > '9' || index > 1'000'000'000) {
        numeric = false;
        break;
      }
      index = index * 10 + (c - '0');
    }
    current = numeric ? GetItem(current, Value::Int(index))
                      : GetItem(current, Value::String(std::string(part)));
    if (dot == std::string_view::npos) return current;
    start = dot + 1;
  }
}

Value Interpreter::ApplyFilter(std::string_view name, const Value& input, Arguments& args) {
  const FilterFn fn = FindFilter(name);
  if (fn == nullptr) RuntimeFail("no filter named '{}'", name);
  return fn(*this, input, args);
}

bool Interpreter::ApplyTest(std::string_view name, const Value& input, Arguments& args) {
  const TestFn fn = FindTest(name);
  if (fn == nullptr) RuntimeFail("no test named '{}'", name);
  return fn(*this, input, args);
}

}  // namespace kiln::jinja
