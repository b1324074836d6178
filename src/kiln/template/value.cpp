#include "kiln/template/value.h"

#include <cmath>

#include "kiln/template/fail.h"
#include "kiln/template/py_format.h"

namespace kiln::jinja {
namespace {

constexpr size_t kIndexThreshold = 8;

// Tears down values iteratively: containers that nothing else references hand their children to
// the work list before they die, so destruction never recurses more than one level.
void DrainIteratively(std::vector<Value>& pending) {
  while (!pending.empty()) {
    Value v = std::move(pending.back());
    pending.pop_back();
    v.ReleaseChildrenInto(pending);
  }
}

void CheckDepth(int depth) {
  if (depth > kMaxValueDepth) LimitFail("value nested more than {} levels deep", kMaxValueDepth);
}

bool EqualsAt(const Value& a, const Value& b, int depth);

bool ListsEqual(const std::vector<Value>& a, const std::vector<Value>& b, int depth) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!EqualsAt(a[i], b[i], depth + 1)) return false;
  }
  return true;
}

bool EqualsAt(const Value& a, const Value& b, int depth) {
  CheckDepth(depth);
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.as_float() == b.as_float();
    return a.as_int() == b.as_int();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Kind::kUndefined:
    case Kind::kNone:
      return true;
    case Kind::kString:
      return a.str() == b.str();
    case Kind::kList:
    case Kind::kTuple:
      return a.SharesStorage(b) || ListsEqual(a.items(), b.items(), depth);
    case Kind::kDict: {
      if (a.SharesStorage(b)) return true;
      if (a.dict().size() != b.dict().size()) return false;
      for (const auto& [key, value] : a.dict().entries()) {
        const Value* other = b.dict().Find(key);
        if (other == nullptr || !EqualsAt(value, *other, depth + 1)) return false;
      }
      return true;
    }
    default:
      return a.identity() == b.identity();
  }
}

int CompareAt(const Value& a, const Value& b, int depth) {
  CheckDepth(depth);
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) {
      const double x = a.as_float();
      const double y = b.as_float();
      return x < y ? -1 : (x > y ? 1 : 0);
    }
    const int64_t x = a.as_int();
    const int64_t y = b.as_int();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a.is_string() && b.is_string()) {
    const int c = a.str().compare(b.str());  // UTF-8 byte order is code point order
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  if (a.kind() == b.kind() && a.is_list()) {
    const auto& x = a.items();
    const auto& y = b.items();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (!EqualsAt(x[i], y[i], depth + 1)) return CompareAt(x[i], y[i], depth + 1);
    }
    return x.size() < y.size() ? -1 : (x.size() > y.size() ? 1 : 0);
  }
  RuntimeFail("'<' not supported between instances of '{}' and '{}'", TypeName(a), TypeName(b));
}

void AppendRepr(std::string& out, const Value& v, int depth);

void AppendItems(std::string& out, const std::vector<Value>& items, int depth) {
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ", ";
    AppendRepr(out, items[i], depth + 1);
  }
}

void AppendDictRepr(std::string& out, const Dict& dict, int depth) {
  out += '{';
  bool first = true;
  for (const auto& [key, value] : dict.entries()) {
    if (!first) out += ", ";
    first = false;
    AppendRepr(out, key, depth + 1);
    out += ": ";
    AppendRepr(out, value, depth + 1);
  }
  out += '}';
}

void AppendRepr(std::string& out, const Value& v, int depth) {
  CheckDepth(depth);
  switch (v.kind()) {
    case Kind::kString:
      out += StringRepr(v.str());
      return;
    case Kind::kUndefined:
      out += "Undefined";
      return;
    case Kind::kList:
      out += '[';
      AppendItems(out, v.items(), depth);
      out += ']';
      return;
    case Kind::kTuple:
      out += '(';
      AppendItems(out, v.items(), depth);
      if (v.items().size() == 1) out += ',';
      out += ')';
      return;
    case Kind::kDict:
      AppendDictRepr(out, v.dict(), depth);
      return;
    case Kind::kNamespace:
      out += "<Namespace ";
      AppendDictRepr(out, v.dict(), depth);
      out += '>';
      return;
    default:
      AppendStr(out, v);
  }
}

}  // namespace

List::List(std::vector<Value> values) : items(std::move(values)) {}

List::~List() {
  DrainIteratively(items);
}

Dict::~Dict() {
  std::vector<Value> pending;
  MoveContentsInto(pending);
  DrainIteratively(pending);
}

void Dict::MoveContentsInto(std::vector<Value>& out) {
  index_.clear();
  for (auto& [key, value] : entries_) {
    out.push_back(std::move(key));
    out.push_back(std::move(value));
  }
  entries_.clear();
}

std::ptrdiff_t Dict::IndexOf(std::string_view key) const {
  if (!index_.empty()) {
    const auto it = index_.find(key);
    return it == index_.end() ? -1 : static_cast<std::ptrdiff_t>(it->second);
  }
  for (size_t i = 0; i < entries_.size(); ++i) {
    const Value& k = entries_[i].first;
    if (k.is_string() && k.str() == key) return static_cast<std::ptrdiff_t>(i);
  }
  return -1;
}

std::ptrdiff_t Dict::IndexOf(const Value& key) const {
  if (key.is_string()) return IndexOf(std::string_view(key.str()));
  if (key.kind() == Kind::kList || key.is_dict() || key.is_namespace()) {
    RuntimeFail("unhashable type: '{}'", TypeName(key));
  }
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (Equals(entries_[i].first, key)) return static_cast<std::ptrdiff_t>(i);
  }
  return -1;
}

const Value* Dict::Find(std::string_view key) const {
  const auto i = IndexOf(key);
  return i < 0 ? nullptr : &entries_[static_cast<size_t>(i)].second;
}
const Value* Dict::Find(const Value& key) const {
  const auto i = IndexOf(key);
  return i < 0 ? nullptr : &entries_[static_cast<size_t>(i)].second;
}
Value* Dict::Find(std::string_view key) {
  const auto i = IndexOf(key);
  return i < 0 ? nullptr : &entries_[static_cast<size_t>(i)].second;
}
Value* Dict::Find(const Value& key) {
  const auto i = IndexOf(key);
  return i < 0 ? nullptr : &entries_[static_cast<size_t>(i)].second;
}

void Dict::Set(Value key, Value value) {
  if (Value* existing = Find(key)) {
    *existing = std::move(value);
    return;
  }
  entries_.emplace_back(std::move(key), std::move(value));
  if (!index_.empty()) {
    const Value& k = entries_.back().first;
    if (k.is_string()) index_.emplace(k.str(), entries_.size() - 1);
  } else if (entries_.size() > kIndexThreshold) {
    Reindex();
  }
}

void Dict::Set(std::string_view key, Value value) {
  if (Value* existing = Find(key)) {
    *existing = std::move(value);
    return;
  }
  Set(Value::String(std::string(key)), std::move(value));
}

bool Dict::Erase(const Value& key) {
  const auto i = IndexOf(key);
  if (i < 0) return false;
  Value removed = std::move(entries_[static_cast<size_t>(i)].second);
  entries_.erase(entries_.begin() + i);
  Reindex();
  return true;
}

void Dict::Clear() {
  std::vector<Value> pending;
  MoveContentsInto(pending);
  DrainIteratively(pending);
}

void Dict::Reindex() {
  index_.clear();
  if (entries_.size() <= kIndexThreshold) return;
  for (size_t i = 0; i < entries_.size(); ++i) {
    const Value& k = entries_[i].first;
    if (k.is_string()) index_.emplace(k.str(), i);
  }
}

Value Value::Undefined(std::string hint) {
  Value v;
  if (!hint.empty()) v.ptr_ = std::make_shared<std::string>(std::move(hint));
  return v;
}

Value Value::None() {
  Value v;
  v.kind_ = Kind::kNone;
  return v;
}

Value Value::Bool(bool b) {
  Value v;
  v.kind_ = Kind::kBool;
  v.bool_ = b;
  return v;
}

Value Value::Int(int64_t i) {
  Value v;
  v.kind_ = Kind::kInt;
  v.int_ = i;
  return v;
}

Value Value::Float(double f) {
  Value v;
  v.kind_ = Kind::kFloat;
  v.float_ = f;
  return v;
}

Value Value::String(std::string s) {
  Value v;
  v.kind_ = Kind::kString;
  v.ptr_ = std::make_shared<std::string>(std::move(s));
  return v;
}

Value Value::Markup(std::string s) {
  Value v = String(std::move(s));
  v.markup_ = true;
  return v;
}

Value StringLike(const Value& like, std::string s) {
  return like.is_markup() ? Value::Markup(std::move(s)) : Value::String(std::move(s));
}

Value Value::NewList(std::vector<Value> items) {
  return FromList(std::make_shared<List>(std::move(items)));
}

Value Value::NewTuple(std::vector<Value> items) {
  return FromList(std::make_shared<List>(std::move(items)), /*tuple=*/true);
}

Value Value::NewDict() {
  return FromDict(std::make_shared<Dict>());
}

Value Value::FromList(ListPtr list, bool tuple) {
  Value v;
  v.kind_ = tuple ? Kind::kTuple : Kind::kList;
  v.ptr_ = std::move(list);
  return v;
}

Value Value::FromDict(DictPtr dict) {
  Value v;
  v.kind_ = Kind::kDict;
  v.ptr_ = std::move(dict);
  return v;
}

Value Value::NewNamespace(DictPtr attributes) {
  Value v;
  v.kind_ = Kind::kNamespace;
  v.ptr_ = std::move(attributes);
  return v;
}

Value Value::FromCallable(CallablePtr callable) {
  Value v;
  v.kind_ = Kind::kCallable;
  v.ptr_ = std::const_pointer_cast<Callable>(std::move(callable));
  return v;
}

Value Value::FromObject(ObjectPtr object) {
  Value v;
  v.kind_ = Kind::kObject;
  v.ptr_ = std::move(object);
  return v;
}

std::string Value::UndefinedHint() const {
  if (kind_ != Kind::kUndefined || !ptr_) return {};
  return *static_cast<const std::string*>(ptr_.get());
}

void Value::ReleaseChildrenInto(std::vector<Value>& out) {
  if (ptr_.use_count() != 1) return;
  if (is_list()) {
    auto& items = list().items;
    for (auto& item : items) out.push_back(std::move(item));
    items.clear();
  } else if (is_dict() || is_namespace()) {
    dict().MoveContentsInto(out);
  }
}

bool Truthy(const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined:
    case Kind::kNone:
      return false;
    case Kind::kBool:
      return v.as_bool();
    case Kind::kInt:
      return v.as_int() != 0;
    case Kind::kFloat:
      return v.as_float() != 0.0;
    case Kind::kString:
      return !v.str().empty();
    case Kind::kList:
    case Kind::kTuple:
      return !v.items().empty();
    case Kind::kDict:
      return !v.dict().empty();
    default:
      return true;
  }
}

bool Equals(const Value& a, const Value& b) {
  return EqualsAt(a, b, 0);
}

int Compare(const Value& a, const Value& b) {
  return CompareAt(a, b, 0);
}

std::string_view TypeName(const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined:
      return "Undefined";
    case Kind::kNone:
      return "NoneType";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
      return "int";
    case Kind::kFloat:
      return "float";
    case Kind::kString:
      return "str";
    case Kind::kList:
      return "list";
    case Kind::kTuple:
      return "tuple";
    case Kind::kDict:
      return "dict";
    case Kind::kNamespace:
      return "Namespace";
    case Kind::kCallable:
      return "function";
    case Kind::kObject:
      return "object";
  }
  return "object";
}

void AppendStr(std::string& out, const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined:
      return;
    case Kind::kNone:
      out += "None";
      return;
    case Kind::kBool:
      out += v.as_bool() ? "True" : "False";
      return;
    case Kind::kInt:
      out += std::to_string(v.as_int());
      return;
    case Kind::kFloat:
      out += FloatRepr(v.as_float());
      return;
    case Kind::kString:
      out += v.str();
      return;
    case Kind::kCallable:
      out += v.callable().Repr();
      return;
    case Kind::kObject:
      out += v.object().Repr();
      return;
    default:
      AppendRepr(out, v, 0);
  }
}

std::string ToStr(const Value& v) {
  if (v.is_string()) return v.str();
  std::string out;
  AppendStr(out, v);
  return out;
}

std::string Repr(const Value& v) {
  std::string out;
  AppendRepr(out, v, 0);
  return out;
}

}  // namespace kiln::jinja
