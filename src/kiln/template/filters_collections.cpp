// Filters on lists and dicts: length, first, join, map, select, sort, unique, dictsort, ...
// Jinja2 returns generators from several of these (map, select, unique); they are lists here,
// which iterate, join and test the same way.
#include <algorithm>

#include "kiln/template/builtins.h"
#include "kiln/template/fail.h"
#include "kiln/template/filters.h"
#include "kiln/template/operators.h"
#include "kiln/template/utf8.h"

namespace kiln::jinja {
namespace {

Value Lowered(const Value& v) {
  return v.is_string() ? Value::String(utf8::Lower(v.str())) : v;
}

Value Length(Interpreter&, const Value& input, Arguments& args) {
  BoundArgs a("length", args, {});
  switch (input.kind()) {
    case Kind::kUndefined:
      return Value::Int(0);
    case Kind::kString:
      return Value::Int(static_cast<int64_t>(utf8::Length(input.str())));
    case Kind::kList:
    case Kind::kTuple:
      return Value::Int(static_cast<int64_t>(input.items().size()));
    case Kind::kDict:
      return Value::Int(static_cast<int64_t>(input.dict().size()));
    default:
      RuntimeFail("object of type '{}' has no len()", TypeName(input));
  }
}

Value Default(Interpreter&, const Value& input, Arguments& args) {
  BoundArgs a("default", args, {"default_value", "boolean"});
  if (input.is_undefined() || (Truthy(a[1]) && !Truthy(input))) {
    return a.has(0) ? a[0] : Value::String("");
  }
  return input;
}

Value First(Interpreter& in, const Value& input, Arguments& args) {
  BoundArgs a("first", args, {});
  if (input.is_list()) {
    if (!input.items().empty()) return input.items().front();
  } else {
    std::vector<Value> items = in.Iterate(input);
    if (!items.empty()) return items.front();
  }
  return Value::Undefined("No first item, sequence was empty.");
}

Value Last(Interpreter& in, const Value& input, Arguments& args) {
  BoundArgs a("last", args, {});
  if (input.is_list()) {
    if (!input.items().empty()) return input.items().back();
  } else {
    std::vector<Value> items = in.Iterate(input);
    if (!items.empty()) return items.back();
  }
  return Value::Undefined("No last item, sequence was empty.");
}

Value Join(Interpreter& in, const Value& input, Arguments& args) {
  BoundArgs a("join", args, {"d", "attribute"});
  const std::string separator = a.has(0) ? SoftStr(a[0]) : "";
  std::string out;
  bool first = true;
  for (const Value& item : in.Iterate(input)) {
    if (!first) out += separator;
    first = false;
    AppendStr(out, a.has(1) ? AttributeOf(in, item, a[1]) : item);
    in.CheckStringSize(out.size());
  }
  return Value::String(std::move(out));
}

Value ListFilter(Interpreter& in, const Value& input, Arguments& args) {
  BoundArgs a("list", args, {});
  return Value::NewList(in.Iterate(input));
}

Value Items(Interpreter& in, const Value& input, Arguments& args) {
  BoundArgs a("items", args, {});
  if (input.is_undefined()) return Value::NewList();
  if (!input.is_dict()) RuntimeFail("Can only get item pairs from a mapping.");
  in.Charge(1 + input.dict().size() / 16);
  std::vector<Value> items;
  for (const auto& [key, value] : input.dict().entries())
    items.push_back(Value::NewTuple({key, value}));
  return Value::NewList(std::move(items));
}

Value Reverse(Interpreter& in, const Value& input, Arguments& args) {
  BoundArgs a("reverse", args, {});
  if (input.is_string()) {
    std::vector<uint32_t> cps = utf8::Decode(input.str());
    std::reverse(cps.begin(), cps.end());
    return StringLike(input, utf8::Encode(cps));
  }
  std::vector<Value> items = in.Iterate(input);
  std::reverse(items.begin(), items.end());
  return Value::NewList(std::move(items));
}

Value DictSort(Interpreter& in, const Value& input, Arguments& args) {
  BoundArgs a("dictsort", args, {"case_sensitive", "by", "reverse"});
  if (!input.is_dict()) RuntimeFail("dictsort needs a mapping, not {}", TypeName(input));
  const bool case_sensitive = Truthy(a[0]);
  const std::string by = a.has(1) ? SoftStr(a[1]) : "key";
  if (by != "key" && by != "value") RuntimeFail("You can only sort by either \"key\" or \"value\"");
  const size_t pos = by == "key" ? 0 : 1;
  const bool reverse = Truthy(a[2]);
  struct Entry {
    Value sort_key;
    Value pair;
  };
  std::vector<Entry> entries;
  for (const auto& [key, value] : input.dict().entries()) {
    const Value& k = pos == 0 ? key : value;
    entries.push_back({case_sensitive ? k : Lowered(k), Value::NewTuple({key, value})});
  }
  in.Charge(1 + entries.size() * 4);
  std::stable_sort(entries.begin(), entries.end(), [&](const Entry& x, const Entry& y) {
    return reverse ? Compare(y.sort_key, x.sort_key) < 0 : Compare(x.sort_key, y.sort_key) < 0;
  });
  std::vector<Value> out;
  for (auto& e : entries) out.push_back(std::move(e.pair));
  return Value::NewList(std::move(out));
}

Value Sort(Interpreter& in, const Value& input, Arguments& args) {
  BoundArgs a("sort", args, {"reverse", "case_sensitive", "attribute"});
  const bool reverse = Truthy(a[0]);
  const bool ignore_case = !Truthy(a[1]);
  struct Entry {
    Value sort_key;
    Value item;
  };
  std::vector<Entry> entries;
  for (Value& item : in.Iterate(input)) {
    Value key = AttributeOf(in, item, a[2], ignore_case);
    entries.push_back({std::move(key), std::move(item)});
  }
  in.Charge(1 + entries.size() * 4);
  std::stable_sort(entries.begin(), entries.end(), [&](const Entry& x, const Entry& y) {
    return reverse ? Compare(y.sort_key, x.sort_key) < 0 : Compare(x.sort_key, y.sort_key) < 0;
  });
  std::vector<Value> out;
  for (auto& e : entries) out.push_back(std::move(e.item));
  return Value::NewList(std::move(out));
}

Value Unique(Interpreter& in, const Value& input, Arguments& args) {
  BoundArgs a("unique", args, {"case_sensitive", "attribute"});
  const bool ignore_case = !Truthy(a[0]);
  std::vector<Value> seen;
  std::vector<Value> out;
  for (Value& item : in.Iterate(input)) {
    Value key = AttributeOf(in, item, a[1], ignore_case);
    in.Charge(1 + seen.size() / 16);
    if (std::any_of(seen.begin(), seen.end(), [&](const Value& s) { return Equals(s, key); }))
      continue;
    seen.push_back(std::move(key));
    out.push_back(std::move(item));
  }
  return Value::NewList(std::move(out));
}

Value MinMax(Interpreter& in, const Value& input, Arguments& args, bool want_max) {
  BoundArgs a(want_max ? "max" : "min", args, {"case_sensitive", "attribute"});
  const bool ignore_case = !Truthy(a[0]);
  std::vector<Value> items = in.Iterate(input);
  if (items.empty()) return Value::Undefined("No aggregated item, sequence was empty.");
  size_t best = 0;
  Value best_key = AttributeOf(in, items[0], a[1], ignore_case);
  for (size_t i = 1; i < items.size(); ++i) {
    Value key = AttributeOf(in, items[i], a[1], ignore_case);
    const int c = Compare(key, best_key);
    if (want_max ? c > 0 : c < 0) {
      best = i;
      best_key = std::move(key);
    }
  }
  return items[best];
}
Value Min(Interpreter& in, const Value& input, Arguments& args) {
  return MinMax(in, input, args, false);
}
Value Max(Interpreter& in, const Value& input, Arguments& args) {
  return MinMax(in, input, args, true);
}

Value Sum(Interpreter& in, const Value& input, Arguments& args) {
  BoundArgs a("sum", args, {"attribute", "start"});
  Value total = a.has(1) ? a[1] : Value::Int(0);
  for (const Value& item : in.Iterate(input)) {
    total =
        BinaryOperation(in, BinaryOp::kAdd, total, a.has(0) ? AttributeOf(in, item, a[0]) : item);
  }
  return total;
}

Value Batch(Interpreter& in, const Value& input, Arguments& args) {
  BoundArgs a("batch", args, {"linecount", "fill_with"}, 1);
  if (!a[0].is_integral() || a[0].as_int() < 1)
    RuntimeFail("batch linecount must be a positive integer");
  const auto size = static_cast<size_t>(a[0].as_int());
  std::vector<Value> out;
  std::vector<Value> current;
  for (Value& item : in.Iterate(input)) {
    if (current.size() == size) {
      out.push_back(Value::NewList(std::move(current)));
      current.clear();
    }
    current.push_back(std::move(item));
  }
  if (!current.empty()) {
    if (a.has(1) && !a[1].is_none()) {
      in.CheckCollectionSize(size);
      while (current.size() < size) current.push_back(a[1]);
    }
    out.push_back(Value::NewList(std::move(current)));
  }
  return Value::NewList(std::move(out));
}

// slice(n): n columns, the first len % n of them one item longer.
Value SliceFilter(Interpreter& in, const Value& input, Arguments& args) {
  BoundArgs a("slice", args, {"slices", "fill_with"}, 1);
  if (!a[0].is_integral() || a[0].as_int() < 1)
    RuntimeFail("slice count must be a positive integer");
  const std::vector<Value> seq = in.Iterate(input);
  const auto slices = static_cast<size_t>(a[0].as_int());
  in.CheckCollectionSize(slices);
  const size_t per_slice = seq.size() / slices;
  const size_t with_extra = seq.size() % slices;
  const bool fill = a.has(1) && !a[1].is_none();
  std::vector<Value> out;
  size_t offset = 0;
  for (size_t n = 0; n < slices; ++n) {
    const size_t start = offset + n * per_slice;
    if (n < with_extra) ++offset;
    const size_t end = offset + (n + 1) * per_slice;
    std::vector<Value> part(seq.begin() + static_cast<long>(start),
                            seq.begin() + static_cast<long>(end));
    if (fill && n >= with_extra) part.push_back(a[1]);
    out.push_back(Value::NewList(std::move(part)));
  }
  return Value::NewList(std::move(out));
}

// groupby(attribute): (grouper, items) pairs sorted by the attribute. Jinja2's pairs are named
// tuples; here they are plain tuples, which unpack the same way (`for key, items in ...`).
Value GroupBy(Interpreter& in, const Value& input, Arguments& args) {
  BoundArgs a("groupby", args, {"attribute", "default", "case_sensitive"}, 1);
  const bool ignore_case = !Truthy(a[2]);
  struct Entry {
    Value sort_key;
    Value item;
  };
  auto key_of = [&](const Value& item, bool fold) {
    Value key = AttributeOf(in, item, a[0], fold);
    return key.is_undefined() && a.has(1) ? a[1] : key;
  };
  std::vector<Entry> entries;
  for (Value& item : in.Iterate(input)) {
    Value key = key_of(item, ignore_case);
    entries.push_back({std::move(key), std::move(item)});
  }
  in.Charge(1 + entries.size() * 4);
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& x, const Entry& y) {
    return Compare(x.sort_key, y.sort_key) < 0;
  });
  std::vector<Value> groups;
  for (size_t i = 0; i < entries.size();) {
    std::vector<Value> members;
    size_t j = i;
    while (j < entries.size() && Equals(entries[j].sort_key, entries[i].sort_key)) {
      members.push_back(entries[j++].item);
    }
    // The group shows the real key of its first member, not the case-folded one.
    groups.push_back(
        Value::NewTuple({key_of(entries[i].item, false), Value::NewList(std::move(members))}));
    i = j;
  }
  return Value::NewList(std::move(groups));
}

Value Attr(Interpreter& in, const Value& input, Arguments& args) {
  BoundArgs a("attr", args, {"name"}, 1);
  const std::string name = SoftStr(a[0]);
  // attr() looks up attributes only, never items.
  if (input.is_dict()) {
    Value method = FindMethod(input, name);
    return method.is_undefined()
               ? Value::Undefined(fmt::format("'dict object' has no attribute '{}'", name))
               : method;
  }
  return in.GetAttr(input, name);
}

Value Map(Interpreter& in, const Value& input, Arguments& args) {
  std::vector<Value> out;
  if (!Truthy(input)) return Value::NewList();  // Jinja2 checks `if value:` first
  if (args.positional.empty()) {
    Value attribute;
    Value fallback;
    bool has_attribute = false;
    for (auto& [key, value] : args.keyword) {
      if (key == "attribute") {
        attribute = value;
        has_attribute = true;
      } else if (key == "default") {
        fallback = value;
      } else {
        RuntimeFail("map() got an unexpected keyword argument '{}'", key);
      }
    }
    if (!has_attribute) RuntimeFail("map requires a filter name or attribute=");
    for (const Value& item : in.Iterate(input)) {
      Value v = AttributeOf(in, item, attribute);
      out.push_back(v.is_undefined() && !fallback.is_undefined() ? fallback : std::move(v));
    }
    return Value::NewList(std::move(out));
  }
  const std::string name = SoftStr(args.positional[0]);
  for (const Value& item : in.Iterate(input)) {
    Arguments call;
    call.positional.assign(args.positional.begin() + 1, args.positional.end());
    call.keyword = args.keyword;
    out.push_back(in.ApplyFilter(name, item, call));
  }
  return Value::NewList(std::move(out));
}

// select, reject, selectattr, rejectattr.
Value SelectOrReject(Interpreter& in, const Value& input, Arguments& args, bool keep_matches,
                     bool by_attribute, std::string_view filter_name) {
  if (!Truthy(input)) return Value::NewList();  // Jinja2 checks `if value:` first
  size_t next = 0;
  Value attribute;
  if (by_attribute) {
    if (args.positional.empty()) RuntimeFail("{} requires an attribute name", filter_name);
    attribute = args.positional[next++];
  }
  std::string test;
  if (next < args.positional.size()) test = SoftStr(args.positional[next++]);
  std::vector<Value> out;
  for (const Value& item : in.Iterate(input)) {
    const Value subject = by_attribute ? AttributeOf(in, item, attribute) : item;
    bool matched = false;
    if (test.empty()) {
      matched = Truthy(subject);
    } else {
      Arguments call;
      call.positional.assign(args.positional.begin() + static_cast<long>(next),
                             args.positional.end());
      call.keyword = args.keyword;
      matched = in.ApplyTest(test, subject, call);
    }
    if (matched == keep_matches) out.push_back(item);
  }
  return Value::NewList(std::move(out));
}
Value Select(Interpreter& in, const Value& input, Arguments& args) {
  return SelectOrReject(in, input, args, true, false, "select");
}
Value Reject(Interpreter& in, const Value& input, Arguments& args) {
  return SelectOrReject(in, input, args, false, false, "reject");
}
Value SelectAttr(Interpreter& in, const Value& input, Arguments& args) {
  return SelectOrReject(in, input, args, true, true, "selectattr");
}
Value RejectAttr(Interpreter& in, const Value& input, Arguments& args) {
  return SelectOrReject(in, input, args, false, true, "rejectattr");
}

}  // namespace

Value AttributeOf(Interpreter& in, const Value& item, const Value& attribute, bool ignore_case) {
  Value v;
  if (attribute.is_undefined() || attribute.is_none()) {
    v = item;
  } else if (attribute.is_string()) {
    v = in.GetAttrPath(item, attribute.str());
  } else {
    v = in.GetItem(item, attribute);
  }
  return ignore_case ? Lowered(v) : v;
}

void RegisterCollectionFilters(FilterTable& table) {
  table.insert({
      {"length", Length},
      {"count", Length},
      {"default", Default},
      {"d", Default},
      {"first", First},
      {"last", Last},
      {"join", Join},
      {"list", ListFilter},
      {"items", Items},
      {"reverse", Reverse},
      {"dictsort", DictSort},
      {"sort", Sort},
      {"unique", Unique},
      {"min", Min},
      {"max", Max},
      {"sum", Sum},
      {"batch", Batch},
      {"slice", SliceFilter},
      {"groupby", GroupBy},
      {"attr", Attr},
      {"map", Map},
      {"select", Select},
      {"reject", Reject},
      {"selectattr", SelectAttr},
      {"rejectattr", RejectAttr},
  });
}

FilterFn FindFilter(std::string_view name) {
  static const FilterTable kFilters = [] {
    FilterTable table;
    RegisterTextFilters(table);
    RegisterCollectionFilters(table);
    return table;
  }();
  const auto it = kFilters.find(name);
  return it == kFilters.end() ? nullptr : it->second;
}

}  // namespace kiln::jinja
