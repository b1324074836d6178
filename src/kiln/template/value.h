// The runtime value of the template engine, modelled on the Python objects Jinja2 templates
// manipulate: undefined, None, bool, int, float, str, list, tuple, dict (insertion-ordered),
// namespace, callables (builtins, bound methods, macros) and opaque objects (the loop variable).
// Lists, dicts and namespaces are shared and mutable, as in Python; strings are immutable.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace kiln::jinja {

class Value;
class Interpreter;
struct Arguments;

enum class Kind : uint8_t {
  kUndefined,
  kNone,
  kBool,
  kInt,
  kFloat,
  kString,
  kList,
  kTuple,
  kDict,
  kNamespace,
  kCallable,
  kObject,
};

class Callable;
class Object;
class Dict;
struct List;
using ListPtr = std::shared_ptr<List>;
using DictPtr = std::shared_ptr<Dict>;
using CallablePtr = std::shared_ptr<const Callable>;
using ObjectPtr = std::shared_ptr<Object>;

class Value {
 public:
  Value() = default;  // undefined

  static Value Undefined(std::string hint = {});
  static Value None();
  static Value Bool(bool b);
  static Value Int(int64_t i);
  static Value Float(double f);
  static Value String(std::string s);
  // A string marked HTML-safe (markupsafe.Markup), as `|safe` and `|escape` return: plain
  // strings combined with it by `+` or `%` are HTML-escaped first.
  static Value Markup(std::string s);
  static Value NewList(std::vector<Value> items = {});
  static Value NewTuple(std::vector<Value> items);
  static Value NewDict();
  static Value FromList(ListPtr list, bool tuple = false);
  static Value FromDict(DictPtr dict);
  static Value NewNamespace(DictPtr attributes);
  static Value FromCallable(CallablePtr callable);
  static Value FromObject(ObjectPtr object);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::kUndefined; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_bool() const { return kind_ == Kind::kBool; }
  bool is_int() const { return kind_ == Kind::kInt; }
  bool is_float() const { return kind_ == Kind::kFloat; }
  // bool, int or float (Python's bool is an int).
  bool is_number() const {
    return kind_ == Kind::kBool || kind_ == Kind::kInt || kind_ == Kind::kFloat;
  }
  // bool or int.
  bool is_integral() const { return kind_ == Kind::kBool || kind_ == Kind::kInt; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_markup() const { return kind_ == Kind::kString && markup_; }
  // list or tuple.
  bool is_list() const { return kind_ == Kind::kList || kind_ == Kind::kTuple; }
  bool is_dict() const { return kind_ == Kind::kDict; }
  bool is_namespace() const { return kind_ == Kind::kNamespace; }
  bool is_callable() const { return kind_ == Kind::kCallable; }
  bool is_object() const { return kind_ == Kind::kObject; }

  bool as_bool() const { return bool_; }
  // The integer value of a bool or int.
  int64_t as_int() const { return kind_ == Kind::kBool ? (bool_ ? 1 : 0) : int_; }
  // The value of any number as a double.
  double as_float() const { return kind_ == Kind::kFloat ? float_ : static_cast<double>(as_int()); }
  const std::string& str() const { return *static_cast<const std::string*>(ptr_.get()); }
  List& list() const { return *static_cast<List*>(ptr_.get()); }
  const std::vector<Value>& items() const;  // of a list or tuple
  Dict& dict() const { return *static_cast<Dict*>(ptr_.get()); }
  const Callable& callable() const { return *static_cast<const Callable*>(ptr_.get()); }
  Object& object() const { return *static_cast<Object*>(ptr_.get()); }
  ListPtr list_ptr() const { return std::static_pointer_cast<List>(ptr_); }
  DictPtr dict_ptr() const { return std::static_pointer_cast<Dict>(ptr_); }
  const void* identity() const { return ptr_.get(); }
  // Why the value is undefined, e.g. "'x' is undefined"; empty when unknown.
  std::string UndefinedHint() const;
  // True when this value and `other` share storage (same list, dict, ...).
  bool SharesStorage(const Value& other) const { return ptr_ && ptr_ == other.ptr_; }
  long use_count() const { return ptr_.use_count(); }
  // Moves out the items of a list/dict that nothing else references (for iterative teardown).
  void ReleaseChildrenInto(std::vector<Value>& out);

 private:
  Kind kind_ = Kind::kUndefined;
  bool markup_ = false;
  union {
    bool bool_;
    int64_t int_ = 0;
    double float_;
  };
  std::shared_ptr<void> ptr_;
};

// A mutable list. Its destructor releases nested lists iteratively, so a deeply nested value
// built by a hostile template cannot overflow the stack when it dies.
struct List {
  List() = default;
  explicit List(std::vector<Value> values);
  ~List();
  List(const List&) = delete;
  List& operator=(const List&) = delete;

  std::vector<Value> items;
};

// An insertion-ordered dictionary, like a Python dict. Keys are compared with Python equality
// (1 == 1.0 == True); string keys are indexed once the dict grows past a few entries.
class Dict {
 public:
  Dict() = default;
  ~Dict();
  Dict(const Dict&) = delete;
  Dict& operator=(const Dict&) = delete;

  const Value* Find(std::string_view key) const;
  const Value* Find(const Value& key) const;
  Value* Find(std::string_view key);
  Value* Find(const Value& key);
  // Inserts at the end, or replaces the value in place when the key exists.
  void Set(Value key, Value value);
  void Set(std::string_view key, Value value);
  bool Erase(const Value& key);
  void Clear();
  // Moves every key and value into `out`, leaving the dict empty.
  void MoveContentsInto(std::vector<Value>& out);

  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  const std::vector<std::pair<Value, Value>>& entries() const { return entries_; }

 private:
  std::ptrdiff_t IndexOf(const Value& key) const;
  std::ptrdiff_t IndexOf(std::string_view key) const;
  void Reindex();

  std::vector<std::pair<Value, Value>> entries_;
  std::unordered_map<std::string_view, size_t> index_;  // views into the key strings
};

// Something a template can call: a builtin function, a bound method, a macro, `caller`.
class Callable {
 public:
  virtual ~Callable() = default;
  virtual Value Call(Interpreter& interpreter, Arguments& args) const = 0;
  virtual std::string Repr() const = 0;
};

// An object with read-only attributes, such as the `loop` variable.
class Object {
 public:
  virtual ~Object() = default;
  // Returns an undefined value when there is no such attribute.
  virtual Value GetAttr(std::string_view name) = 0;
  virtual std::string Repr() const = 0;
};

inline const std::vector<Value>& Value::items() const {
  return list().items;
}

// Python's bool(value).
bool Truthy(const Value& v);
// Python's == (deep, numbers compare across int/float/bool, lists never equal tuples).
bool Equals(const Value& a, const Value& b);
// Python's ordering for <, <=, >, >=: negative, zero or positive. Throws for unorderable types.
int Compare(const Value& a, const Value& b);
// Python's type name, for messages: 'str', 'int', 'list', 'dict', 'NoneType', ...
std::string_view TypeName(const Value& v);
// Python's str(): strings as they are, None as "None", lists as their repr; undefined is "".
std::string ToStr(const Value& v);
// Python's repr().
std::string Repr(const Value& v);
// Appends str(v) to out (avoids a copy for strings).
void AppendStr(std::string& out, const Value& v);

// A string value like `like`: Markup when `like` is Markup, a plain string otherwise.
Value StringLike(const Value& like, std::string s);

// Structural limits shared by recursive operations on values (repr, tojson, equality, copies).
inline constexpr int kMaxValueDepth = 512;

}  // namespace kiln::jinja
