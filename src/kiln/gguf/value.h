// gguf::Value: one metadata value of a GGUF file (a scalar, a string, or a typed array of
// values), as read by GgufFile and written by GgufWriter.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace kiln::gguf {

// Metadata value types, numbered as in the GGUF specification.
enum class ValueType : std::uint32_t {
  kUInt8 = 0,
  kInt8 = 1,
  kUInt16 = 2,
  kInt16 = 3,
  kUInt32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUInt64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};

std::string_view NameOf(ValueType type);

// Deepest nesting of arrays inside arrays that the reader accepts and the writer produces.
inline constexpr int kMaxArrayNesting = 8;

class Value;

struct Array {
  ValueType element_type = ValueType::kUInt8;
  std::vector<Value> items;
};

class Value {
 public:
  using Storage = std::variant<std::uint8_t, std::int8_t, std::uint16_t, std::int16_t,
                               std::uint32_t, std::int32_t, float, bool, std::string, Array,
                               std::uint64_t, std::int64_t, double>;

  Value() : storage_(std::uint8_t{0}) {}
  template <typename T>
    requires std::is_constructible_v<Storage, T>
  Value(T v) : storage_(std::move(v)) {}  // NOLINT(google-explicit-constructor): values are data
  Value(const char* s) : storage_(std::string(s)) {}

  // Arrays of one element type, for writers: Value::ArrayOf(std::vector<float>{...}).
  template <typename T>
  static Value ArrayOf(const std::vector<T>& items) {
    Array a;
    a.element_type = Value(T{}).type();
    a.items.reserve(items.size());
    for (const T& item : items) a.items.emplace_back(item);
    return Value(std::move(a));
  }

  ValueType type() const { return static_cast<ValueType>(storage_.index()); }
  const Storage& storage() const { return storage_; }

  bool is_integer() const;
  bool is_number() const;  // integer or floating point
  bool is_string() const { return type() == ValueType::kString; }
  bool is_array() const { return type() == ValueType::kArray; }

  // Converting accessors; each throws kiln::Error when the value is of another kind or out of range.
  std::int64_t AsInt() const;
  std::uint64_t AsUInt() const;
  double AsDouble() const;
  bool AsBool() const;
  const std::string& AsString() const;
  const Array& AsArray() const;

  // A short human-readable rendering (arrays abbreviated), for `kiln model info`.
  std::string ToDisplayString(std::size_t max_items = 8) const;

 private:
  Storage storage_;
};

}  // namespace kiln::gguf
