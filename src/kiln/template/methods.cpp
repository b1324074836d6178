// Methods of str, list and dict that chat templates call, with Python's behaviour.
// Unlike Hugging Face's ImmutableSandboxedEnvironment, list and dict mutators (append, pop,
// update, ...) are allowed, as many published templates rely on them.
#include <unordered_map>

#include "kiln/template/builtins.h"
#include "kiln/template/callables.h"
#include "kiln/template/fail.h"
#include "kiln/template/py_format.h"
#include "kiln/template/string_ops.h"
#include "kiln/template/utf8.h"

namespace kiln::jinja {
namespace {

using utf8::StripSide;

std::string_view RequireString(std::string_view method, const Value& v) {
  if (!v.is_string()) RuntimeFail("{}() argument must be str, not {}", method, TypeName(v));
  return v.str();
}

int64_t RequireInt(std::string_view method, const Value& v) {
  if (!v.is_integral())
    RuntimeFail("{}() argument must be an integer, not {}", method, TypeName(v));
  return v.as_int();
}

Value StrList(std::vector<std::string> parts) {
  std::vector<Value> items;
  items.reserve(parts.size());
  for (auto& p : parts) items.push_back(Value::String(std::move(p)));
  return Value::NewList(std::move(items));
}

// ------------------------------------------------------------------ str

Value Strip(const Value& self, Arguments& args, StripSide side, std::string_view name) {
  BoundArgs a(name, args, {"chars"});
  if (a[0].is_undefined() || a[0].is_none()) {
    return Value::String(std::string(utf8::StripWhitespace(self.str(), side)));
  }
  return Value::String(std::string(utf8::StripChars(self.str(), RequireString(name, a[0]), side)));
}
Value StrStrip(Interpreter&, const Value& self, Arguments& args) {
  return Strip(self, args, StripSide::kBoth, "strip");
}
Value StrLStrip(Interpreter&, const Value& self, Arguments& args) {
  return Strip(self, args, StripSide::kLeft, "lstrip");
}
Value StrRStrip(Interpreter&, const Value& self, Arguments& args) {
  return Strip(self, args, StripSide::kRight, "rstrip");
}

Value Split(Interpreter& in, const Value& self, Arguments& args, bool from_right) {
  BoundArgs a(from_right ? "rsplit" : "split", args, {"sep", "maxsplit"});
  std::optional<std::string_view> sep;
  if (!a[0].is_undefined() && !a[0].is_none()) sep = RequireString("split", a[0]);
  const int64_t maxsplit = a.has(1) ? RequireInt("split", a[1]) : -1;
  in.Charge(1 + self.str().size() / 64);
  return StrList(PySplit(self.str(), sep, maxsplit, from_right));
}
Value StrSplit(Interpreter& in, const Value& self, Arguments& args) {
  return Split(in, self, args, false);
}
Value StrRSplit(Interpreter& in, const Value& self, Arguments& args) {
  return Split(in, self, args, true);
}

Value StrSplitLines(Interpreter&, const Value& self, Arguments& args) {
  BoundArgs a("splitlines", args, {"keepends"});
  return StrList(utf8::SplitLines(self.str(), Truthy(a[0])));
}

// The substring of s between Python-style start/end code point indexes, as byte offsets.
std::pair<size_t, size_t> ByteRange(std::string_view s, const Value& start, const Value& end) {
  if ((start.is_undefined() || start.is_none()) && (end.is_undefined() || end.is_none())) {
    return {0, s.size()};
  }
  const std::vector<size_t> bounds = utf8::Boundaries(s);
  const auto n = static_cast<int64_t>(bounds.size()) - 1;
  auto clamp = [n](const Value& v, int64_t fallback) {
    if (v.is_undefined() || v.is_none()) return fallback;
    int64_t i = RequireInt("slice", v);
    if (i < 0) i = std::max<int64_t>(0, i + n);
    return std::min(i, n);
  };
  const int64_t b = clamp(start, 0);
  const int64_t e = std::max(b, clamp(end, n));
  return {bounds[static_cast<size_t>(b)], bounds[static_cast<size_t>(e)]};
}

Value Affix(const Value& self, Arguments& args, bool prefix) {
  BoundArgs a(prefix ? "startswith" : "endswith", args, {"affix", "start", "end"}, 1);
  const auto [b, e] = ByteRange(self.str(), a[1], a[2]);
  const std::string_view s = std::string_view(self.str()).substr(b, e - b);
  std::vector<Value> candidates;
  if (a[0].kind() == Kind::kTuple) {
    candidates = a[0].items();
  } else {
    candidates.push_back(a[0]);
  }
  for (const Value& c : candidates) {
    const std::string_view affix = RequireString(prefix ? "startswith" : "endswith", c);
    if (prefix ? s.starts_with(affix) : s.ends_with(affix)) return Value::Bool(true);
  }
  return Value::Bool(false);
}
Value StrStartsWith(Interpreter&, const Value& self, Arguments& args) {
  return Affix(self, args, true);
}
Value StrEndsWith(Interpreter&, const Value& self, Arguments& args) {
  return Affix(self, args, false);
}

Value StrUpper(Interpreter&, const Value& self, Arguments&) {
  return Value::String(utf8::Upper(self.str()));
}
Value StrLower(Interpreter&, const Value& self, Arguments&) {
  return Value::String(utf8::Lower(self.str()));
}
Value StrTitle(Interpreter&, const Value& self, Arguments&) {
  return Value::String(PyTitle(self.str()));
}
Value StrCapitalize(Interpreter&, const Value& self, Arguments&) {
  return Value::String(PyCapitalize(self.str()));
}
Value StrSwapCase(Interpreter&, const Value& self, Arguments&) {
  std::string out;
  const std::string& s = self.str();
  for (size_t i = 0; i < s.size();) {
    const uint32_t cp = utf8::Next(s, i);
    utf8::Append(out, utf8::IsUpper(cp) ? utf8::ToLower(cp) : utf8::ToUpper(cp));
  }
  return Value::String(std::move(out));
}

Value StrReplace(Interpreter& in, const Value& self, Arguments& args) {
  BoundArgs a("replace", args, {"old", "new", "count"}, 2);
  const int64_t count = a.has(2) ? RequireInt("replace", a[2]) : -1;
  std::string out =
      PyReplace(self.str(), RequireString("replace", a[0]), RequireString("replace", a[1]), count,
                in.options().limits.max_output_bytes);
  in.CheckStringSize(out.size());
  return Value::String(std::move(out));
}

// str.find/rfind/index/rindex return code point positions.
Value Find(const Value& self, Arguments& args, bool from_right, bool raise, std::string_view name) {
  BoundArgs a(name, args, {"sub", "start", "end"}, 1);
  const std::string_view sub = RequireString(name, a[0]);
  const auto [b, e] = ByteRange(self.str(), a[1], a[2]);
  const std::string_view s = std::string_view(self.str()).substr(b, e - b);
  const size_t at = from_right ? s.rfind(sub) : s.find(sub);
  if (at == std::string_view::npos) {
    if (raise) RuntimeFail("substring not found");
    return Value::Int(-1);
  }
  return Value::Int(
      static_cast<int64_t>(utf8::Length(std::string_view(self.str()).substr(0, b + at))));
}
Value StrFind(Interpreter&, const Value& self, Arguments& args) {
  return Find(self, args, false, false, "find");
}
Value StrRFind(Interpreter&, const Value& self, Arguments& args) {
  return Find(self, args, true, false, "rfind");
}
Value StrIndex(Interpreter&, const Value& self, Arguments& args) {
  return Find(self, args, false, true, "index");
}
Value StrRIndex(Interpreter&, const Value& self, Arguments& args) {
  return Find(self, args, true, true, "rindex");
}

Value StrCount(Interpreter&, const Value& self, Arguments& args) {
  BoundArgs a("count", args, {"sub"}, 1);
  return Value::Int(PyCount(self.str(), RequireString("count", a[0])));
}

Value StrJoin(Interpreter& in, const Value& self, Arguments& args) {
  BoundArgs a("join", args, {"iterable"}, 1);
  std::string out;
  size_t index = 0;
  for (const Value& item : in.Iterate(a[0])) {
    if (!item.is_string()) {
      RuntimeFail("sequence item {}: expected str instance, {} found", index, TypeName(item));
    }
    if (index++ > 0) out += self.str();
    out += item.str();
    in.CheckStringSize(out.size());
  }
  return Value::String(std::move(out));
}

Value StrFormat(Interpreter& in, const Value& self, Arguments& args) {
  std::string out = jinja::StrFormat(self.str(), args.positional, args.keyword, self.is_markup());
  in.CheckStringSize(out.size());
  return StringLike(self, std::move(out));
}

template <bool (*Pred)(uint32_t)>
Value AllChars(Interpreter&, const Value& self, Arguments&) {
  const std::string& s = self.str();
  if (s.empty()) return Value::Bool(false);
  for (size_t i = 0; i < s.size();) {
    if (!Pred(utf8::Next(s, i))) return Value::Bool(false);
  }
  return Value::Bool(true);
}

Value CaseCheck(const Value& self, bool want_upper) {
  bool cased = false;
  const std::string& s = self.str();
  for (size_t i = 0; i < s.size();) {
    const uint32_t cp = utf8::Next(s, i);
    if (want_upper ? utf8::IsLower(cp) : utf8::IsUpper(cp)) return Value::Bool(false);
    if (want_upper ? utf8::IsUpper(cp) : utf8::IsLower(cp)) cased = true;
  }
  return Value::Bool(cased);
}
Value StrIsUpper(Interpreter&, const Value& self, Arguments&) {
  return CaseCheck(self, true);
}
Value StrIsLower(Interpreter&, const Value& self, Arguments&) {
  return CaseCheck(self, false);
}

Value StrRemoveAffix(const Value& self, Arguments& args, bool prefix) {
  BoundArgs a(prefix ? "removeprefix" : "removesuffix", args, {"affix"}, 1);
  const std::string_view affix = RequireString("removeprefix", a[0]);
  std::string_view s = self.str();
  if (prefix && s.starts_with(affix)) s.remove_prefix(affix.size());
  if (!prefix && s.ends_with(affix)) s.remove_suffix(affix.size());
  return Value::String(std::string(s));
}
Value StrRemovePrefix(Interpreter&, const Value& self, Arguments& args) {
  return StrRemoveAffix(self, args, true);
}
Value StrRemoveSuffix(Interpreter&, const Value& self, Arguments& args) {
  return StrRemoveAffix(self, args, false);
}

Value Partition(const Value& self, Arguments& args, bool from_right) {
  BoundArgs a(from_right ? "rpartition" : "partition", args, {"sep"}, 1);
  const std::string_view sep = RequireString("partition", a[0]);
  if (sep.empty()) RuntimeFail("empty separator");
  const std::string& s = self.str();
  const size_t at = from_right ? s.rfind(sep) : s.find(sep);
  if (at == std::string::npos) {
    return from_right ? Value::NewTuple({Value::String(""), Value::String(""), self})
                      : Value::NewTuple({self, Value::String(""), Value::String("")});
  }
  return Value::NewTuple({Value::String(s.substr(0, at)), Value::String(std::string(sep)),
                          Value::String(s.substr(at + sep.size()))});
}
Value StrPartition(Interpreter&, const Value& self, Arguments& args) {
  return Partition(self, args, false);
}
Value StrRPartition(Interpreter&, const Value& self, Arguments& args) {
  return Partition(self, args, true);
}

Value Justify(Interpreter& in, const Value& self, Arguments& args, char how,
              std::string_view name) {
  BoundArgs a(name, args, {"width", "fillchar"}, 1);
  const int64_t width = RequireInt(name, a[0]);
  std::string fill = a.has(1) ? std::string(RequireString(name, a[1])) : " ";
  if (utf8::Length(fill) != 1)
    RuntimeFail("{}() fill character must be exactly one character", name);
  const auto len = static_cast<int64_t>(utf8::Length(self.str()));
  if (width <= len) return self;
  in.CheckStringSize(self.str().size() + static_cast<size_t>(width - len) * fill.size());
  const auto total = static_cast<size_t>(width - len);
  // Python's center puts the extra space on the right unless the length and width are odd.
  size_t left =
      how == '>' ? total : (how == '^' ? total / 2 + (total & static_cast<size_t>(width) & 1) : 0);
  std::string out;
  for (size_t i = 0; i < left; ++i) out += fill;
  out += self.str();
  for (size_t i = left; i < total; ++i) out += fill;
  return Value::String(std::move(out));
}
Value StrCenter(Interpreter& in, const Value& self, Arguments& args) {
  return Justify(in, self, args, '^', "center");
}
Value StrLJust(Interpreter& in, const Value& self, Arguments& args) {
  return Justify(in, self, args, '<', "ljust");
}
Value StrRJust(Interpreter& in, const Value& self, Arguments& args) {
  return Justify(in, self, args, '>', "rjust");
}

Value StrZFill(Interpreter& in, const Value& self, Arguments& args) {
  BoundArgs a("zfill", args, {"width"}, 1);
  const int64_t width = RequireInt("zfill", a[0]);
  const std::string& s = self.str();
  const auto len = static_cast<int64_t>(utf8::Length(s));
  if (width <= len) return self;
  in.CheckStringSize(static_cast<size_t>(width));
  const size_t sign = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  return Value::String(s.substr(0, sign) + std::string(static_cast<size_t>(width - len), '0') +
                       s.substr(sign));
}

// ------------------------------------------------------------------ list

Value ListAppend(Interpreter& in, const Value& self, Arguments& args) {
  BoundArgs a("append", args, {"object"}, 1);
  in.NoteMutation(self, a[0]);
  in.CheckCollectionSize(self.items().size() + 1);
  self.list().items.push_back(a[0]);
  return Value::None();
}

Value ListExtend(Interpreter& in, const Value& self, Arguments& args) {
  BoundArgs a("extend", args, {"iterable"}, 1);
  std::vector<Value> items = in.Iterate(a[0]);
  for (const Value& item : items) in.NoteMutation(self, item);
  in.CheckCollectionSize(self.items().size() + items.size());
  auto& target = self.list().items;
  target.insert(target.end(), items.begin(), items.end());
  return Value::None();
}

Value ListInsert(Interpreter& in, const Value& self, Arguments& args) {
  BoundArgs a("insert", args, {"index", "object"}, 2);
  in.NoteMutation(self, a[1]);
  in.CheckCollectionSize(self.items().size() + 1);
  auto& items = self.list().items;
  const auto n = static_cast<int64_t>(items.size());
  int64_t i = RequireInt("insert", a[0]);
  if (i < 0) i = std::max<int64_t>(0, i + n);
  i = std::min(i, n);
  items.insert(items.begin() + i, a[1]);
  return Value::None();
}

Value ListPop(Interpreter&, const Value& self, Arguments& args) {
  BoundArgs a("pop", args, {"index"});
  auto& items = self.list().items;
  if (items.empty()) RuntimeFail("pop from empty list");
  const auto n = static_cast<int64_t>(items.size());
  int64_t i = a.has(0) ? RequireInt("pop", a[0]) : -1;
  if (i < 0) i += n;
  if (i < 0 || i >= n) RuntimeFail("pop index out of range");
  Value v = std::move(items[static_cast<size_t>(i)]);
  items.erase(items.begin() + i);
  return v;
}

Value ListRemove(Interpreter&, const Value& self, Arguments& args) {
  BoundArgs a("remove", args, {"value"}, 1);
  auto& items = self.list().items;
  for (auto it = items.begin(); it != items.end(); ++it) {
    if (Equals(*it, a[0])) {
      items.erase(it);
      return Value::None();
    }
  }
  RuntimeFail("list.remove(x): x not in list");
}

Value ListIndex(Interpreter&, const Value& self, Arguments& args) {
  BoundArgs a("index", args, {"value"}, 1);
  const auto& items = self.items();
  for (size_t i = 0; i < items.size(); ++i) {
    if (Equals(items[i], a[0])) return Value::Int(static_cast<int64_t>(i));
  }
  RuntimeFail("{} is not in list", Repr(a[0]));
}

Value ListCount(Interpreter&, const Value& self, Arguments& args) {
  BoundArgs a("count", args, {"value"}, 1);
  int64_t n = 0;
  for (const Value& v : self.items()) n += Equals(v, a[0]) ? 1 : 0;
  return Value::Int(n);
}

Value ListReverse(Interpreter&, const Value& self, Arguments&) {
  auto& items = self.list().items;
  std::reverse(items.begin(), items.end());
  return Value::None();
}

Value ListCopy(Interpreter&, const Value& self, Arguments&) {
  return Value::NewList(self.items());
}

Value ListClear(Interpreter&, const Value& self, Arguments&) {
  std::vector<Value> old;
  old.swap(self.list().items);
  return Value::None();
}

// ------------------------------------------------------------------ dict

Value DictItems(Interpreter& in, const Value& self, Arguments&) {
  in.Charge(1 + self.dict().size() / 16);
  std::vector<Value> items;
  items.reserve(self.dict().size());
  for (const auto& [key, value] : self.dict().entries())
    items.push_back(Value::NewTuple({key, value}));
  return Value::NewList(std::move(items));
}

Value DictKeys(Interpreter& in, const Value& self, Arguments&) {
  in.Charge(1 + self.dict().size() / 16);
  std::vector<Value> items;
  for (const auto& [key, value] : self.dict().entries()) items.push_back(key);
  return Value::NewList(std::move(items));
}

Value DictValues(Interpreter& in, const Value& self, Arguments&) {
  in.Charge(1 + self.dict().size() / 16);
  std::vector<Value> items;
  for (const auto& [key, value] : self.dict().entries()) items.push_back(value);
  return Value::NewList(std::move(items));
}

Value DictGet(Interpreter&, const Value& self, Arguments& args) {
  BoundArgs a("get", args, {"key", "default"}, 1);
  if (const Value* v = self.dict().Find(a[0])) return *v;
  return a.has(1) ? a[1] : Value::None();
}

Value DictUpdate(Interpreter& in, const Value& self, Arguments& args) {
  if (args.positional.size() > 1) RuntimeFail("update expected at most 1 argument");
  Dict& dict = self.dict();
  auto set = [&](const Value& key, const Value& value) {
    in.NoteMutation(self, value);
    dict.Set(key, value);
  };
  if (!args.positional.empty()) {
    const Value& other = args.positional[0];
    if (other.is_dict() || other.is_namespace()) {
      std::vector<std::pair<Value, Value>> entries = other.dict().entries();
      for (const auto& [key, value] : entries) set(key, value);
    } else {
      for (const Value& pair : in.Iterate(other)) {
        const std::vector<Value> kv = in.Iterate(pair);
        if (kv.size() != 2) RuntimeFail("dictionary update sequence element has the wrong length");
        set(kv[0], kv[1]);
      }
    }
  }
  for (const auto& [key, value] : args.keyword) set(Value::String(key), value);
  in.CheckCollectionSize(dict.size());
  return Value::None();
}

Value DictSetDefault(Interpreter& in, const Value& self, Arguments& args) {
  BoundArgs a("setdefault", args, {"key", "default"}, 1);
  if (const Value* v = self.dict().Find(a[0])) return *v;
  const Value value = a.has(1) ? a[1] : Value::None();
  in.NoteMutation(self, value);
  self.dict().Set(a[0], value);
  return value;
}

Value DictPop(Interpreter&, const Value& self, Arguments& args) {
  BoundArgs a("pop", args, {"key", "default"}, 1);
  if (const Value* v = self.dict().Find(a[0])) {
    Value out = *v;
    self.dict().Erase(a[0]);
    return out;
  }
  if (a.has(1)) return a[1];
  RuntimeFail("KeyError: {}", Repr(a[0]));
}

Value DictCopy(Interpreter&, const Value& self, Arguments&) {
  Value copy = Value::NewDict();
  for (const auto& [key, value] : self.dict().entries()) copy.dict().Set(key, value);
  return copy;
}

Value DictClear(Interpreter&, const Value& self, Arguments&) {
  self.dict().Clear();
  return Value::None();
}

using MethodTable = std::unordered_map<std::string_view, MethodFn>;

const MethodTable& StringMethods() {
  static const MethodTable kTable = {
      {"strip", StrStrip},
      {"lstrip", StrLStrip},
      {"rstrip", StrRStrip},
      {"split", StrSplit},
      {"rsplit", StrRSplit},
      {"splitlines", StrSplitLines},
      {"startswith", StrStartsWith},
      {"endswith", StrEndsWith},
      {"upper", StrUpper},
      {"lower", StrLower},
      {"casefold", StrLower},
      {"title", StrTitle},
      {"capitalize", StrCapitalize},
      {"swapcase", StrSwapCase},
      {"replace", StrReplace},
      {"find", StrFind},
      {"rfind", StrRFind},
      {"index", StrIndex},
      {"rindex", StrRIndex},
      {"count", StrCount},
      {"join", StrJoin},
      {"format", StrFormat},
      {"isdigit", AllChars<utf8::IsDigit>},
      {"isdecimal", AllChars<utf8::IsDigit>},
      {"isnumeric", AllChars<utf8::IsDigit>},
      {"isalpha", AllChars<utf8::IsAlpha>},
      {"isalnum", AllChars<utf8::IsAlnum>},
      {"isspace", AllChars<utf8::IsSpace>},
      {"isupper", StrIsUpper},
      {"islower", StrIsLower},
      {"removeprefix", StrRemovePrefix},
      {"removesuffix", StrRemoveSuffix},
      {"partition", StrPartition},
      {"rpartition", StrRPartition},
      {"center", StrCenter},
      {"ljust", StrLJust},
      {"rjust", StrRJust},
      {"zfill", StrZFill},
  };
  return kTable;
}

const MethodTable& ListMethods() {
  static const MethodTable kTable = {
      {"append", ListAppend}, {"extend", ListExtend},   {"insert", ListInsert},
      {"pop", ListPop},       {"remove", ListRemove},   {"index", ListIndex},
      {"count", ListCount},   {"reverse", ListReverse}, {"copy", ListCopy},
      {"clear", ListClear},
  };
  return kTable;
}

const MethodTable& TupleMethods() {
  static const MethodTable kTable = {{"index", ListIndex}, {"count", ListCount}};
  return kTable;
}

const MethodTable& DictMethods() {
  static const MethodTable kTable = {
      {"items", DictItems}, {"keys", DictKeys},     {"values", DictValues},
      {"get", DictGet},     {"update", DictUpdate}, {"setdefault", DictSetDefault},
      {"pop", DictPop},     {"copy", DictCopy},     {"clear", DictClear},
  };
  return kTable;
}

// A str method called on Markup, as markupsafe wraps them: string arguments are escaped (for
// the methods that build text from them) and string results are Markup again.
class MarkupMethod : public Callable {
 public:
  MarkupMethod(Value receiver, std::string name, MethodFn fn, bool escape_args)
      : receiver_(std::move(receiver)),
        name_(std::move(name)),
        fn_(fn),
        escape_args_(escape_args) {}

  Value Call(Interpreter& in, Arguments& args) const override {
    if (name_ == "join" && !args.positional.empty()) {
      std::vector<Value> escaped;
      for (const Value& item : in.Iterate(args.positional[0])) {
        escaped.push_back(item.is_string() ? Value::String(EscapeValue(item)) : item);
      }
      args.positional[0] = Value::NewList(std::move(escaped));
    } else if (escape_args_) {
      for (Value& arg : args.positional) {
        if (arg.is_string()) arg = Value::String(EscapeValue(arg));
      }
      for (auto& [key, arg] : args.keyword) {
        if (arg.is_string()) arg = Value::String(EscapeValue(arg));
      }
    }
    const Value plain = Value::String(receiver_.str());
    return Remark(fn_(in, plain, args));
  }
  std::string Repr() const override { return "<built-in method " + name_ + " of Markup object>"; }

 private:
  static Value Remark(const Value& v) {
    if (v.is_string()) return Value::Markup(v.str());
    if (v.is_list()) {
      std::vector<Value> items;
      for (const Value& item : v.items()) items.push_back(Remark(item));
      return Value::FromList(std::make_shared<List>(std::move(items)), v.kind() == Kind::kTuple);
    }
    return v;
  }

  Value receiver_;
  std::string name_;
  MethodFn fn_;
  bool escape_args_;
};

// How markupsafe.Markup treats each str method: escape the arguments and return Markup, only
// return Markup, or (any other method) behave as on a plain str.
enum class MarkupHandling { kPlain, kEscapeArgs, kRemark };

MarkupHandling HandlingOnMarkup(std::string_view name) {
  static const std::unordered_map<std::string_view, MarkupHandling> kHandling = {
      {"capitalize", MarkupHandling::kEscapeArgs},   {"title", MarkupHandling::kEscapeArgs},
      {"lower", MarkupHandling::kEscapeArgs},        {"upper", MarkupHandling::kEscapeArgs},
      {"replace", MarkupHandling::kEscapeArgs},      {"ljust", MarkupHandling::kEscapeArgs},
      {"rjust", MarkupHandling::kEscapeArgs},        {"lstrip", MarkupHandling::kEscapeArgs},
      {"rstrip", MarkupHandling::kEscapeArgs},       {"center", MarkupHandling::kEscapeArgs},
      {"strip", MarkupHandling::kEscapeArgs},        {"swapcase", MarkupHandling::kEscapeArgs},
      {"zfill", MarkupHandling::kEscapeArgs},        {"casefold", MarkupHandling::kEscapeArgs},
      {"removeprefix", MarkupHandling::kEscapeArgs}, {"removesuffix", MarkupHandling::kEscapeArgs},
      {"partition", MarkupHandling::kEscapeArgs},    {"rpartition", MarkupHandling::kEscapeArgs},
      {"join", MarkupHandling::kEscapeArgs},         {"split", MarkupHandling::kRemark},
      {"rsplit", MarkupHandling::kRemark},           {"splitlines", MarkupHandling::kRemark},
  };
  const auto it = kHandling.find(name);
  return it == kHandling.end() ? MarkupHandling::kPlain : it->second;
}

}  // namespace

Value FindMethod(const Value& receiver, std::string_view name) {
  const MethodTable* table = nullptr;
  switch (receiver.kind()) {
    case Kind::kString:
      table = &StringMethods();
      break;
    case Kind::kList:
      table = &ListMethods();
      break;
    case Kind::kTuple:
      table = &TupleMethods();
      break;
    case Kind::kDict:
      table = &DictMethods();
      break;
    default:
      return Value();
  }
  const auto it = table->find(name);
  if (it == table->end()) return Value();
  if (receiver.is_markup()) {
    const MarkupHandling handling = HandlingOnMarkup(name);
    if (handling != MarkupHandling::kPlain) {
      return Value::FromCallable(std::make_shared<MarkupMethod>(
          receiver, std::string(name), it->second, handling == MarkupHandling::kEscapeArgs));
    }
  }
  return Value::FromCallable(
      std::make_shared<BoundMethod>(receiver, std::string(name), it->second));
}

}  // namespace kiln::jinja
