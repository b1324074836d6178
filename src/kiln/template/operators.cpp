#include "kiln/template/operators.h"

#include <cmath>

#include "kiln/template/fail.h"
#include "kiln/template/py_format.h"
#include "kiln/template/utf8.h"

namespace kiln::jinja {
namespace {

std::string_view Symbol(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAdd:
      return "+";
    case BinaryOp::kSub:
      return "-";
    case BinaryOp::kMul:
      return "*";
    case BinaryOp::kDiv:
      return "/";
    case BinaryOp::kFloorDiv:
      return "//";
    case BinaryOp::kMod:
      return "%";
    case BinaryOp::kPow:
      return "**";
    case BinaryOp::kConcat:
      return "~";
  }
  return "?";
}

[[noreturn]] void FailOperands(BinaryOp op, const Value& a, const Value& b) {
  if (op == BinaryOp::kAdd && a.is_string()) {
    RuntimeFail("can only concatenate str (not \"{}\") to str", TypeName(b));
  }
  RuntimeFail("unsupported operand type(s) for {}: '{}' and '{}'", Symbol(op), TypeName(a),
              TypeName(b));
}

[[noreturn]] void FailOverflow() {
  RuntimeFail("integer overflow: the result does not fit in 64 bits");
}

Value Repeat(Interpreter& in, const Value& seq, int64_t times) {
  if (times < 0) times = 0;
  if (seq.is_string()) {
    const std::string& s = seq.str();
    if (!s.empty() && static_cast<uint64_t>(times) > SIZE_MAX / s.size()) FailOverflow();
    in.CheckStringSize(s.size() * static_cast<size_t>(times));
    std::string out;
    out.reserve(s.size() * static_cast<size_t>(times));
    for (int64_t i = 0; i < times; ++i) out += s;
    return Value::String(std::move(out));
  }
  const auto& items = seq.items();
  if (!items.empty() && static_cast<uint64_t>(times) > SIZE_MAX / items.size()) FailOverflow();
  in.CheckCollectionSize(items.size() * static_cast<size_t>(times));
  std::vector<Value> out;
  out.reserve(items.size() * static_cast<size_t>(times));
  for (int64_t i = 0; i < times; ++i) out.insert(out.end(), items.begin(), items.end());
  return Value::FromList(std::make_shared<List>(std::move(out)), seq.kind() == Kind::kTuple);
}

double FloatFloorDiv(double a, double b) {
  // Python computes floor division of floats from fmod so that a == b * q + a % b holds.
  const double mod = std::fmod(a, b);
  double div = (a - mod) / b;
  if (mod != 0 && ((b < 0) != (mod < 0))) div -= 1.0;
  if (div == 0) return std::copysign(0.0, a / b);
  const double floored = std::floor(div);
  return (div - floored > 0.5) ? floored + 1.0 : floored;
}

double FloatMod(double a, double b) {
  double mod = std::fmod(a, b);
  if (mod != 0) {
    if ((b < 0) != (mod < 0)) mod += b;
  } else {
    mod = std::copysign(0.0, b);
  }
  return mod;
}

Value Arithmetic(BinaryOp op, const Value& a, const Value& b) {
  if (a.is_float() || b.is_float() || op == BinaryOp::kDiv) {
    const double x = a.as_float();
    const double y = b.as_float();
    switch (op) {
      case BinaryOp::kAdd:
        return Value::Float(x + y);
      case BinaryOp::kSub:
        return Value::Float(x - y);
      case BinaryOp::kMul:
        return Value::Float(x * y);
      case BinaryOp::kDiv:
        if (y == 0) RuntimeFail("division by zero");
        return Value::Float(x / y);
      case BinaryOp::kFloorDiv:
        if (y == 0) RuntimeFail("float floor division by zero");
        return Value::Float(FloatFloorDiv(x, y));
      case BinaryOp::kMod:
        if (y == 0) RuntimeFail("float modulo by zero");
        return Value::Float(FloatMod(x, y));
      case BinaryOp::kPow:
        if (x == 0 && y < 0) RuntimeFail("0.0 cannot be raised to a negative power");
        if (x < 0 && y != std::floor(y))
          RuntimeFail("negative number cannot be raised to a fractional power");
        return Value::Float(std::pow(x, y));
      default:
        break;
    }
  }
  const int64_t x = a.as_int();
  const int64_t y = b.as_int();
  int64_t r = 0;
  switch (op) {
    case BinaryOp::kAdd:
      if (__builtin_add_overflow(x, y, &r)) FailOverflow();
      return Value::Int(r);
    case BinaryOp::kSub:
      if (__builtin_sub_overflow(x, y, &r)) FailOverflow();
      return Value::Int(r);
    case BinaryOp::kMul:
      if (__builtin_mul_overflow(x, y, &r)) FailOverflow();
      return Value::Int(r);
    case BinaryOp::kFloorDiv: {
      if (y == 0) RuntimeFail("integer division or modulo by zero");
      if (x == INT64_MIN && y == -1) FailOverflow();
      int64_t q = x / y;
      if ((x % y != 0) && ((x < 0) != (y < 0))) --q;
      return Value::Int(q);
    }
    case BinaryOp::kMod: {
      if (y == 0) RuntimeFail("integer division or modulo by zero");
      if (y == -1) return Value::Int(0);
      int64_t m = x % y;
      if (m != 0 && ((m < 0) != (y < 0))) m += y;
      return Value::Int(m);
    }
    case BinaryOp::kPow: {
      if (y < 0) {
        if (x == 0) RuntimeFail("0.0 cannot be raised to a negative power");
        return Value::Float(std::pow(static_cast<double>(x), static_cast<double>(y)));
      }
      int64_t result = 1;
      int64_t base = x;
      for (int64_t e = y; e > 0; e >>= 1) {
        if (e & 1) {
          if (__builtin_mul_overflow(result, base, &result)) FailOverflow();
        }
        if (e > 1 && __builtin_mul_overflow(base, base, &base)) {
          if (x == 0 || x == 1 || x == -1) break;
          FailOverflow();
        }
      }
      if (x == -1) return Value::Int(y % 2 == 0 ? 1 : -1);
      return Value::Int(result);
    }
    default:
      break;
  }
  return Value();
}

}  // namespace

void FailUndefined(const Value& undefined) {
  std::string hint = undefined.UndefinedHint();
  if (hint.empty()) hint = "an undefined value was used";
  RuntimeFail("{}", hint);
}

Value BinaryOperation(Interpreter& in, BinaryOp op, const Value& a, const Value& b) {
  if (op == BinaryOp::kConcat) {
    std::string out = ToStr(a);
    const std::string right = ToStr(b);
    in.CheckStringSize(out.size() + right.size());
    out += right;
    return Value::String(std::move(out));
  }
  if (a.is_undefined()) FailUndefined(a);
  if (b.is_undefined()) FailUndefined(b);
  if (a.is_number() && b.is_number()) return Arithmetic(op, a, b);
  switch (op) {
    case BinaryOp::kAdd:
      if (a.is_string() && b.is_string()) {
        if (a.is_markup() || b.is_markup()) {
          std::string out = EscapeValue(a) + EscapeValue(b);
          in.CheckStringSize(out.size());
          return Value::Markup(std::move(out));
        }
        in.CheckStringSize(a.str().size() + b.str().size());
        return Value::String(a.str() + b.str());
      }
      if (a.is_list() && a.kind() == b.kind()) {
        in.CheckCollectionSize(a.items().size() + b.items().size());
        std::vector<Value> items = a.items();
        items.insert(items.end(), b.items().begin(), b.items().end());
        return Value::FromList(std::make_shared<List>(std::move(items)), a.kind() == Kind::kTuple);
      }
      break;
    case BinaryOp::kMul:
      if ((a.is_string() || a.is_list()) && b.is_integral()) return Repeat(in, a, b.as_int());
      if ((b.is_string() || b.is_list()) && a.is_integral()) return Repeat(in, b, a.as_int());
      break;
    case BinaryOp::kMod:
      if (a.is_string()) {
        std::string out = PercentFormat(a.str(), b, a.is_markup());
        in.CheckStringSize(out.size());
        return StringLike(a, std::move(out));
      }
      break;
    default:
      break;
  }
  FailOperands(op, a, b);
}

Value Negate(const Value& v) {
  if (v.is_undefined()) FailUndefined(v);
  if (v.is_float()) return Value::Float(-v.as_float());
  if (v.is_integral()) {
    if (v.as_int() == INT64_MIN) FailOverflow();
    return Value::Int(-v.as_int());
  }
  RuntimeFail("bad operand type for unary -: '{}'", TypeName(v));
}

Value UnaryPlus(const Value& v) {
  if (v.is_undefined()) FailUndefined(v);
  if (v.is_float()) return v;
  if (v.is_integral()) return Value::Int(v.as_int());
  RuntimeFail("bad operand type for unary +: '{}'", TypeName(v));
}

Value SliceValue(Interpreter& in, const Value& object, std::optional<int64_t> start,
                 std::optional<int64_t> stop, std::optional<int64_t> step_opt) {
  const int64_t step = step_opt.value_or(1);
  if (step == 0) RuntimeFail("slice step cannot be zero");
  std::vector<uint32_t> cps;
  int64_t length = 0;
  if (object.is_string()) {
    cps = utf8::Decode(object.str());
    length = static_cast<int64_t>(cps.size());
  } else if (object.is_list()) {
    length = static_cast<int64_t>(object.items().size());
  } else if (object.is_dict()) {
    RuntimeFail("unhashable type: 'slice'");
  } else {
    RuntimeFail("'{}' object is not subscriptable", TypeName(object));
  }
  // Python's slice.indices(): clamp the bounds according to the step's direction.
  auto clamp = [&](std::optional<int64_t> bound, int64_t fallback) {
    if (!bound) return fallback;
    int64_t b = *bound;
    if (b < 0) {
      b += length;
      if (b < 0) b = step < 0 ? -1 : 0;
    } else if (b >= length) {
      b = step < 0 ? length - 1 : length;
    }
    return b;
  };
  const int64_t first = clamp(start, step < 0 ? length - 1 : 0);
  const int64_t last = clamp(stop, step < 0 ? -1 : length);
  std::vector<int64_t> indexes;
  if (step > 0) {
    for (int64_t i = first; i < last; i += step) indexes.push_back(i);
  } else {
    for (int64_t i = first; i > last; i += step) indexes.push_back(i);
  }
  in.Charge(1 + indexes.size() / 16);
  if (object.is_string()) {
    std::string out;
    for (int64_t i : indexes) utf8::Append(out, cps[static_cast<size_t>(i)]);
    return StringLike(object, std::move(out));
  }
  std::vector<Value> items;
  items.reserve(indexes.size());
  for (int64_t i : indexes) items.push_back(object.items()[static_cast<size_t>(i)]);
  return Value::FromList(std::make_shared<List>(std::move(items)), object.kind() == Kind::kTuple);
}

}  // namespace kiln::jinja
