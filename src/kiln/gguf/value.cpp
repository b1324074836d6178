#include "kiln/gguf/value.h"

#include <fmt/format.h>

#include <limits>

#include "kiln/base/error.h"

namespace kiln::gguf {

std::string_view NameOf(ValueType type) {
  switch (type) {
    case ValueType::kUInt8: return "uint8";
    case ValueType::kInt8: return "int8";
    case ValueType::kUInt16: return "uint16";
    case ValueType::kInt16: return "int16";
    case ValueType::kUInt32: return "uint32";
    case ValueType::kInt32: return "int32";
    case ValueType::kFloat32: return "float32";
    case ValueType::kBool: return "bool";
    case ValueType::kString: return "string";
    case ValueType::kArray: return "array";
    case ValueType::kUInt64: return "uint64";
    case ValueType::kInt64: return "int64";
    case ValueType::kFloat64: return "float64";
  }
  return "unknown";
}

bool Value::is_integer() const {
  switch (type()) {
    case ValueType::kUInt8:
    case ValueType::kInt8:
    case ValueType::kUInt16:
    case ValueType::kInt16:
    case ValueType::kUInt32:
    case ValueType::kInt32:
    case ValueType::kUInt64:
    case ValueType::kInt64: return true;
    default: return false;
  }
}

bool Value::is_number() const {
  return is_integer() || type() == ValueType::kFloat32 || type() == ValueType::kFloat64;
}

std::int64_t Value::AsInt() const {
  if (!is_integer()) Fail("expected an integer, found a {}", NameOf(type()));
  if (auto* u = std::get_if<std::uint64_t>(&storage_)) {
    if (*u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      Fail("integer {} is too large", *u);
    }
    return static_cast<std::int64_t>(*u);
  }
  return std::visit(
      [](const auto& v) -> std::int64_t {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
          return static_cast<std::int64_t>(v);
        } else {
          return 0;
        }
      },
      storage_);
}

std::uint64_t Value::AsUInt() const {
  if (auto* u = std::get_if<std::uint64_t>(&storage_)) return *u;
  std::int64_t v = AsInt();
  if (v < 0) Fail("expected a non-negative integer, found {}", v);
  return static_cast<std::uint64_t>(v);
}

double Value::AsDouble() const {
  if (auto* f = std::get_if<float>(&storage_)) return *f;
  if (auto* d = std::get_if<double>(&storage_)) return *d;
  if (auto* u = std::get_if<std::uint64_t>(&storage_)) return static_cast<double>(*u);
  if (is_integer()) return static_cast<double>(AsInt());
  Fail("expected a number, found a {}", NameOf(type()));
}

bool Value::AsBool() const {
  if (auto* b = std::get_if<bool>(&storage_)) return *b;
  Fail("expected a bool, found a {}", NameOf(type()));
}

const std::string& Value::AsString() const {
  if (auto* s = std::get_if<std::string>(&storage_)) return *s;
  Fail("expected a string, found a {}", NameOf(type()));
}

const Array& Value::AsArray() const {
  if (auto* a = std::get_if<Array>(&storage_)) return *a;
  Fail("expected an array, found a {}", NameOf(type()));
}

std::string Value::ToDisplayString(std::size_t max_items) const {
  switch (type()) {
    case ValueType::kString: {
      const std::string& s = AsString();
      if (s.size() <= 80) return fmt::format("\"{}\"", s);
      return fmt::format("\"{}...\" ({} bytes)", s.substr(0, 60), s.size());
    }
    case ValueType::kArray: {
      const Array& a = AsArray();
      std::string out = fmt::format("[{} x {}]", a.items.size(), NameOf(a.element_type));
      if (a.items.empty() || max_items == 0) return out;
      out += " [";
      for (std::size_t i = 0; i < a.items.size() && i < max_items; ++i) {
        if (i > 0) out += ", ";
        out += a.items[i].ToDisplayString(0);
      }
      if (a.items.size() > max_items) out += ", ...";
      return out + "]";
    }
    case ValueType::kBool: return AsBool() ? "true" : "false";
    case ValueType::kFloat32:
    case ValueType::kFloat64: return fmt::format("{}", AsDouble());
    case ValueType::kUInt64: return fmt::format("{}", AsUInt());
    default: return fmt::format("{}", AsInt());
  }
}

}  // namespace kiln::gguf
