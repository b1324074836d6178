// Global functions: Jinja2's range, dict, namespace and joiner, plus the two that Hugging Face
// adds for chat templates, raise_exception and strftime_now.
#include <time.h>

#include <chrono>
#include <unordered_map>

#include "kiln/template/builtins.h"
#include "kiln/template/callables.h"
#include "kiln/template/fail.h"

namespace kiln::jinja {
namespace {

int64_t RequireInt(const Value& v, std::string_view what) {
  if (!v.is_integral()) RuntimeFail("{} must be an integer, not {}", what, TypeName(v));
  return v.as_int();
}

Value Range(Interpreter& in, Arguments& args) {
  if (!args.keyword.empty()) RuntimeFail("range() takes no keyword arguments");
  const auto& p = args.positional;
  if (p.empty() || p.size() > 3) RuntimeFail("range expected 1 to 3 arguments, got {}", p.size());
  int64_t start = 0, stop = 0, step = 1;
  if (p.size() == 1) {
    stop = RequireInt(p[0], "range() argument");
  } else {
    start = RequireInt(p[0], "range() argument");
    stop = RequireInt(p[1], "range() argument");
    if (p.size() == 3) step = RequireInt(p[2], "range() argument");
  }
  if (step == 0) RuntimeFail("range() arg 3 must not be zero");
  // Size computed in unsigned arithmetic so extreme bounds cannot overflow.
  uint64_t count = 0;
  if (step > 0 && start < stop) {
    count = (static_cast<uint64_t>(stop) - static_cast<uint64_t>(start) - 1) /
                static_cast<uint64_t>(step) +
            1;
  } else if (step < 0 && start > stop) {
    count = (static_cast<uint64_t>(start) - static_cast<uint64_t>(stop) - 1) /
                (0 - static_cast<uint64_t>(step)) +
            1;
  }
  in.CheckCollectionSize(count);
  std::vector<Value> items;
  items.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    // Unsigned so the intermediate product wraps instead of overflowing; the sum is in range.
    items.push_back(Value::Int(
        static_cast<int64_t>(static_cast<uint64_t>(start) + i * static_cast<uint64_t>(step))));
  }
  return Value::NewList(std::move(items));
}

// Fills `dict` from dict(mapping_or_pairs, **kwargs) arguments.
void FillDict(Interpreter& in, Dict& dict, Arguments& args, std::string_view function) {
  if (args.positional.size() > 1) RuntimeFail("{} expected at most 1 argument", function);
  if (!args.positional.empty()) {
    const Value& source = args.positional[0];
    if (source.is_dict() || source.is_namespace()) {
      for (const auto& [key, value] : source.dict().entries()) dict.Set(key, value);
    } else {
      for (const Value& pair : in.Iterate(source)) {
        const std::vector<Value> kv = in.Iterate(pair);
        if (kv.size() != 2) RuntimeFail("{}: each item must be a pair", function);
        dict.Set(kv[0], kv[1]);
      }
    }
  }
  for (auto& [key, value] : args.keyword) dict.Set(std::string_view(key), std::move(value));
}

Value DictFunction(Interpreter& in, Arguments& args) {
  Value dict = Value::NewDict();
  FillDict(in, dict.dict(), args, "dict");
  return dict;
}

Value NamespaceFunction(Interpreter& in, Arguments& args) {
  auto attributes = std::make_shared<Dict>();
  FillDict(in, *attributes, args, "namespace");
  return Value::NewNamespace(std::move(attributes));
}

Value RaiseException(Interpreter&, Arguments& args) {
  std::string message = args.positional.empty() ? std::string() : ToStr(args.positional[0]);
  throw TemplateError(TemplateError::Kind::kRaised, std::move(message));
}

std::tm LocalNow() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  localtime_r(&now, &tm);
  return tm;
}

Value StrftimeNow(Interpreter& in, Arguments& args) {
  BoundArgs a("strftime_now", args, {"format"}, 1);
  if (!a[0].is_string()) RuntimeFail("strftime_now() format must be a string");
  const std::tm tm = in.options().clock ? in.options().clock() : LocalNow();
  const std::string& format = a[0].str();
  if (format.empty()) return Value::String("");
  // strftime returns 0 both for "too small" and for an empty result; grow a few times.
  for (size_t size = 64 + format.size() * 4; size <= 65536; size *= 4) {
    std::string buffer(size, '\0');
    const size_t n = std::strftime(buffer.data(), buffer.size(), format.c_str(), &tm);
    if (n > 0) {
      buffer.resize(n);
      return Value::String(std::move(buffer));
    }
  }
  return Value::String("");
}

// joiner(sep): a function that returns "" the first time and sep afterwards.
class Joiner : public Callable {
 public:
  explicit Joiner(std::string separator) : separator_(std::move(separator)) {}
  Value Call(Interpreter&, Arguments&) const override {
    if (first_) {
      first_ = false;
      return Value::String("");
    }
    return Value::String(separator_);
  }
  std::string Repr() const override { return "<joiner>"; }

 private:
  std::string separator_;
  mutable bool first_ = true;  // a joiner belongs to one render
};

Value JoinerFunction(Interpreter&, Arguments& args) {
  BoundArgs a("joiner", args, {"sep"});
  return Value::FromCallable(std::make_shared<Joiner>(a.has(0) ? ToStr(a[0]) : ", "));
}

}  // namespace

Value FindGlobal(std::string_view name) {
  static const std::unordered_map<std::string_view, BuiltinFn> kGlobals = {
      {"range", Range},
      {"dict", DictFunction},
      {"namespace", NamespaceFunction},
      {"joiner", JoinerFunction},
      {"raise_exception", RaiseException},
      {"strftime_now", StrftimeNow},
  };
  const auto it = kGlobals.find(name);
  if (it == kGlobals.end()) return Value();
  return Value::FromCallable(std::make_shared<BuiltinFunction>(std::string(name), it->second));
}

}  // namespace kiln::jinja
