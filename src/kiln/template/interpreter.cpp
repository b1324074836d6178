// Statement half of the interpreter: control flow, assignment, macros, output and the limits.
#include "kiln/template/interpreter.h"

#include <fmt/format.h>

#include "kiln/template/callables.h"
#include "kiln/template/fail.h"
#include "kiln/template/utf8.h"

namespace kiln::jinja {

BoundArgs::BoundArgs(std::string_view function, Arguments& args,
                     std::initializer_list<std::string_view> names, size_t required)
    : values_(names.size()), given_(names.size(), false) {
  if (args.positional.size() > names.size()) {
    RuntimeFail("{}() takes at most {} arguments ({} given)", function, names.size(),
                args.positional.size());
  }
  for (size_t i = 0; i < args.positional.size(); ++i) {
    values_[i] = std::move(args.positional[i]);
    given_[i] = true;
  }
  for (auto& [key, value] : args.keyword) {
    size_t i = 0;
    for (std::string_view name : names) {
      if (name == key) break;
      ++i;
    }
    if (i == names.size())
      RuntimeFail("{}() got an unexpected keyword argument '{}'", function, key);
    if (given_[i]) RuntimeFail("{}() got multiple values for argument '{}'", function, key);
    values_[i] = std::move(value);
    given_[i] = true;
  }
  for (size_t i = 0; i < required; ++i) {
    if (!given_[i]) {
      RuntimeFail("{}() missing required argument '{}'", function, *(names.begin() + i));
    }
  }
}

const Value* Scope::Find(const std::string& name) const {
  for (const Scope* s = this; s != nullptr; s = s->parent_.get()) {
    const auto it = s->vars_.find(name);
    if (it != s->vars_.end()) return &it->second;
  }
  return nullptr;
}

Interpreter::Interpreter(const RenderOptions& options) : options_(options) {}
Interpreter::~Interpreter() = default;

std::string Interpreter::Render(const Program& program, const Value& context) {
  globals_ = std::make_shared<Scope>();
  if (!context.is_dict()) RuntimeFail("the render context must be a JSON object");
  for (const auto& [key, value] : context.dict().entries()) {
    if (key.is_string()) globals_->Set(key.str(), value);
  }
  std::string output;
  out_ = &output;
  try {
    ExecBody(program.body, globals_);
  } catch (const TemplateError& e) {
    globals_.reset();
    ReleaseMutated();
    if (e.line() != 0 || line_ == 0) throw;
    throw TemplateError(e.kind(), e.detail(), line_, column_);
  } catch (...) {
    globals_.reset();
    ReleaseMutated();
    throw;
  }
  globals_.reset();
  ReleaseMutated();
  return output;
}

void Interpreter::FailSteps() const {
  throw TemplateError(TemplateError::Kind::kLimit,
                      fmt::format("template ran more than {} steps", options_.limits.max_steps),
                      line_, column_);
}

void Interpreter::FailDepth() {
  --depth_;  // the guard that called us will not be destroyed
  throw TemplateError(
      TemplateError::Kind::kLimit,
      fmt::format("template nested or recursed more than {} levels", options_.limits.max_depth),
      line_, column_);
}

void Interpreter::CheckStringSize(size_t bytes) {
  if (bytes > options_.limits.max_output_bytes) {
    LimitFail("string of {} bytes exceeds the limit of {} bytes", bytes,
              options_.limits.max_output_bytes);
  }
  Charge(1 + bytes / 256);
}

void Interpreter::CheckCollectionSize(size_t items) {
  if (items > options_.limits.max_collection_size) {
    LimitFail("collection of {} items exceeds the limit of {}", items,
              options_.limits.max_collection_size);
  }
  Charge(1 + items / 16);
}

void Interpreter::NoteMutation(const Value& container, const Value& inserted) {
  const bool may_close_cycle = inserted.is_list() || inserted.is_dict() ||
                               inserted.is_namespace() || inserted.is_callable() ||
                               inserted.is_object();
  if (!may_close_cycle) return;
  Mutated& entry = mutated_[container.identity()];
  if (container.is_list()) {
    if (entry.list.expired()) entry.list = container.list_ptr();
  } else if (entry.dict.expired()) {
    entry.dict = container.dict_ptr();
  }
}

void Interpreter::ReleaseMutated() {
  std::vector<Value> pending;
  for (auto& [identity, entry] : mutated_) {
    if (auto list = entry.list.lock()) {
      for (Value& item : list->items) pending.push_back(std::move(item));
      list->items.clear();
    }
    if (auto dict = entry.dict.lock()) dict->MoveContentsInto(pending);
  }
  mutated_.clear();
  // Dropped here, iteratively (List and Dict destructors drain their children).
  List drain(std::move(pending));
}

void Interpreter::Emit(std::string_view text) {
  if (out_->size() + text.size() > options_.limits.max_output_bytes) {
    LimitFail("output exceeds the limit of {} bytes", options_.limits.max_output_bytes);
  }
  Charge(1 + text.size() / 256);
  out_->append(text);
}

void Interpreter::EmitValue(const Value& v) {
  if (v.is_string()) {
    Emit(v.str());
  } else {
    Emit(ToStr(v));
  }
}

std::string Interpreter::Capture(const Body& body, const ScopePtr& scope) {
  std::string captured;
  Capture(body, scope, captured);
  return captured;
}

Interpreter::Flow Interpreter::Capture(const Body& body, const ScopePtr& scope, std::string& out) {
  std::string* saved = out_;
  out_ = &out;
  Flow flow = Flow::kNormal;
  try {
    flow = ExecBody(body, scope);
  } catch (...) {
    out_ = saved;
    throw;
  }
  out_ = saved;
  return flow;
}

Interpreter::Flow Interpreter::ExecBody(const Body& body, const ScopePtr& scope) {
  for (const StmtPtr& stmt : body) {
    const Flow flow = Exec(*stmt, scope);
    if (flow != Flow::kNormal) return flow;
  }
  return Flow::kNormal;
}

Interpreter::Flow Interpreter::Exec(const Stmt& stmt, const ScopePtr& scope) {
  DepthGuard guard(*this);
  Charge();
  line_ = stmt.line;
  column_ = stmt.column;
  switch (stmt.kind) {
    case StmtKind::kText:
      Emit(static_cast<const TextStmt&>(stmt).text);
      return Flow::kNormal;
    case StmtKind::kOutput:
      EmitValue(Eval(*static_cast<const OutputStmt&>(stmt).expr, scope));
      return Flow::kNormal;
    case StmtKind::kIf:
      return ExecIf(static_cast<const IfStmt&>(stmt), scope);
    case StmtKind::kFor:
      ExecFor(static_cast<const ForStmt&>(stmt), scope);
      return Flow::kNormal;
    case StmtKind::kSet: {
      const auto& set = static_cast<const SetStmt&>(stmt);
      Assign(set.target, Eval(*set.value, scope), scope);
      return Flow::kNormal;
    }
    case StmtKind::kSetBlock: {
      // A break or continue inside the block leaves the loop and abandons the block.
      const auto& set = static_cast<const SetBlockStmt&>(stmt);
      std::string text;
      const Flow flow = Capture(set.body, std::make_shared<Scope>(scope), text);
      if (flow != Flow::kNormal) return flow;
      Assign(set.target, ApplyFilterChain(set.filters, Value::String(std::move(text)), scope),
             scope);
      return Flow::kNormal;
    }
    case StmtKind::kMacro: {
      const auto& macro = static_cast<const MacroStmt&>(stmt);
      scope->Set(macro.name, Value::FromCallable(std::make_shared<MacroCallable>(macro, scope)));
      return Flow::kNormal;
    }
    case StmtKind::kCallBlock:
      ExecCallBlock(static_cast<const CallBlockStmt&>(stmt), scope);
      return Flow::kNormal;
    case StmtKind::kFilterBlock: {
      const auto& block = static_cast<const FilterBlockStmt&>(stmt);
      std::string text;
      const Flow flow = Capture(block.body, std::make_shared<Scope>(scope), text);
      if (flow != Flow::kNormal) return flow;
      EmitValue(ApplyFilterChain(block.filters, Value::String(std::move(text)), scope));
      return Flow::kNormal;
    }
    case StmtKind::kWith: {
      const auto& with = static_cast<const WithStmt&>(stmt);
      auto inner = std::make_shared<Scope>(scope);
      for (const auto& [target, expr] : with.assignments) Assign(target, Eval(*expr, scope), inner);
      return ExecBody(with.body, inner);
    }
    case StmtKind::kScope:
      // {% generation %} renders its body in a scope of its own, as Jinja2's call blocks do.
      ExecBody(static_cast<const ScopeStmt&>(stmt).body, std::make_shared<Scope>(scope));
      return Flow::kNormal;
    case StmtKind::kBreak:
      return Flow::kBreak;
    case StmtKind::kContinue:
      return Flow::kContinue;
  }
  return Flow::kNormal;
}

Interpreter::Flow Interpreter::ExecIf(const IfStmt& stmt, const ScopePtr& scope) {
  for (const auto& [condition, body] : stmt.branches) {
    if (Truthy(Eval(*condition, scope))) return ExecBody(body, scope);
  }
  return ExecBody(stmt.else_body, scope);
}

void Interpreter::Assign(const AssignTarget& target, Value value, const ScopePtr& scope) {
  if (!target.attribute.empty()) {
    const Value* ns = scope->Find(target.names[0]);
    if (ns == nullptr || !ns->is_namespace()) {
      RuntimeFail("cannot assign attribute '{}' of '{}': it is not a namespace", target.attribute,
                  target.names[0]);
    }
    NoteMutation(*ns, value);
    ns->dict().Set(std::string_view(target.attribute), std::move(value));
    return;
  }
  if (!target.unpack) {
    scope->Set(target.names[0], std::move(value));
    return;
  }
  std::vector<Value> items = Iterate(value);
  if (items.size() != target.names.size()) {
    RuntimeFail("cannot unpack {} values into {} names", items.size(), target.names.size());
  }
  for (size_t i = 0; i < items.size(); ++i) scope->Set(target.names[i], std::move(items[i]));
}

void Interpreter::ExecFor(const ForStmt& stmt, const ScopePtr& scope) {
  std::vector<Value> items = Iterate(Eval(*stmt.iterable, scope));
  if (stmt.filter) {
    std::vector<Value> kept;
    for (Value& item : items) {
      Charge();
      auto probe = std::make_shared<Scope>(scope);
      Assign(stmt.target, item, probe);
      if (Truthy(Eval(*stmt.filter, probe))) kept.push_back(std::move(item));
    }
    items = std::move(kept);
  }
  if (items.empty()) {
    ExecBody(stmt.else_body, std::make_shared<Scope>(scope));
    return;
  }
  RunLoop(stmt, scope, std::move(items), 1);
}

std::string Interpreter::CaptureLoop(const ForStmt& stmt, const ScopePtr& scope,
                                     std::vector<Value> items, int depth) {
  std::string output;
  std::string* saved = out_;
  out_ = &output;
  try {
    RunLoop(stmt, scope, std::move(items), depth);
  } catch (...) {
    out_ = saved;
    throw;
  }
  out_ = saved;
  return output;
}

void Interpreter::RunLoop(const ForStmt& stmt, const ScopePtr& scope, std::vector<Value> items,
                          int depth) {
  DepthGuard guard(*this);
  auto loop = std::make_shared<LoopObject>(stmt, scope, std::move(items), depth);
  struct FinishOnExit {
    LoopObject& loop;
    ~FinishOnExit() { loop.Finish(); }
  } finish{*loop};
  const Value loop_value = Value::FromObject(loop);
  for (size_t i = 0; i < loop->items().size(); ++i) {
    Charge();
    loop->SetIndex(i);
    auto iteration = std::make_shared<Scope>(scope);
    Assign(stmt.target, loop->items()[i], iteration);
    iteration->Set("loop", loop_value);
    if (ExecBody(stmt.body, iteration) == Flow::kBreak) break;
  }
}

void Interpreter::ExecCallBlock(const CallBlockStmt& stmt, const ScopePtr& scope) {
  const Value callee = Eval(*stmt.call->callee, scope);
  Arguments args = EvalArgs(stmt.call->args, scope);
  args.keyword.emplace_back(
      "caller", Value::FromCallable(std::make_shared<MacroCallable>(*stmt.caller, scope)));
  EmitValue(Call(callee, args));
}

Value Interpreter::CallMacro(const MacroStmt& macro, const ScopePtr& closure, Arguments& args) {
  DepthGuard guard(*this);
  Charge();
  auto scope = std::make_shared<Scope>(closure);
  const size_t n = macro.params.size();
  std::vector<bool> bound(n, false);
  for (size_t i = 0; i < args.positional.size() && i < n; ++i) {
    scope->Set(macro.params[i].name, std::move(args.positional[i]));
    bound[i] = true;
  }
  if (args.positional.size() > n) {
    if (!macro.uses_varargs) {
      RuntimeFail("macro '{}' takes not more than {} argument(s)", macro.name, n);
    }
    scope->Set("varargs",
               Value::NewTuple(std::vector<Value>(args.positional.begin() + static_cast<long>(n),
                                                  args.positional.end())));
  } else {
    scope->Set("varargs", Value::NewTuple({}));
  }
  Value kwargs = Value::NewDict();
  for (auto& [key, value] : args.keyword) {
    size_t i = 0;
    while (i < n && macro.params[i].name != key) ++i;
    if (i < n) {
      if (bound[i])
        RuntimeFail("macro '{}' got multiple values for argument '{}'", macro.name, key);
      scope->Set(key, std::move(value));
      bound[i] = true;
    } else if (key == "caller") {
      if (!macro.uses_caller)
        RuntimeFail("macro '{}' takes no keyword argument 'caller'", macro.name);
      scope->Set("caller", std::move(value));
    } else if (macro.uses_kwargs) {
      kwargs.dict().Set(std::string_view(key), std::move(value));
    } else {
      RuntimeFail("macro '{}' takes no keyword argument '{}'", macro.name, key);
    }
  }
  scope->Set("kwargs", std::move(kwargs));
  const int call_line = line_;
  const int call_column = column_;
  // Defaults are evaluated at call time and may refer to earlier parameters.
  for (size_t i = 0; i < n; ++i) {
    if (bound[i]) continue;
    const MacroParam& param = macro.params[i];
    scope->Set(param.name,
               param.default_value
                   ? Eval(*param.default_value, scope)
                   : Value::Undefined(fmt::format("parameter '{}' was not provided", param.name)));
  }
  Value result = Value::String(Capture(macro.body, scope));
  line_ = call_line;
  column_ = call_column;
  return result;
}

Value Interpreter::ApplyFilterChain(const std::vector<FilterCall>& filters, Value input,
                                    const ScopePtr& scope) {
  for (const FilterCall& filter : filters) input = RunFilter(filter, input, scope);
  return input;
}

std::vector<Value> Interpreter::Iterate(const Value& v) {
  std::vector<Value> out;
  switch (v.kind()) {
    case Kind::kUndefined:
      return out;
    case Kind::kList:
    case Kind::kTuple:
      Charge(1 + v.items().size() / 16);
      return v.items();
    case Kind::kDict:
      Charge(1 + v.dict().size() / 16);
      out.reserve(v.dict().size());
      for (const auto& [key, value] : v.dict().entries()) out.push_back(key);
      return out;
    case Kind::kString: {
      const std::string& s = v.str();
      Charge(1 + s.size() / 16);
      out.reserve(s.size());
      for (size_t i = 0; i < s.size();) {
        const size_t start = i;
        utf8::Next(s, i);
        out.push_back(Value::String(s.substr(start, i - start)));
      }
      return out;
    }
    default:
      RuntimeFail("'{}' object is not iterable", TypeName(v));
  }
}

bool Contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Kind::kString:
      if (!item.is_string()) {
        RuntimeFail("'in <string>' requires string as left operand, not {}", TypeName(item));
      }
      return container.str().find(item.str()) != std::string::npos;
    case Kind::kList:
    case Kind::kTuple:
      for (const Value& v : container.items()) {
        if (Equals(v, item)) return true;
      }
      return false;
    case Kind::kDict:
      return container.dict().Find(item) != nullptr;
    case Kind::kUndefined:
      return false;
    default:
      RuntimeFail("argument of type '{}' is not iterable", TypeName(container));
  }
}

}  // namespace kiln::jinja
