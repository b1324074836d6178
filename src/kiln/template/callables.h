// The callable and object values the interpreter creates: builtin functions, bound methods,
// macros (and `caller`), and the `loop` variable of a for loop.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "kiln/template/ast.h"
#include "kiln/template/interpreter.h"
#include "kiln/template/value.h"

namespace kiln::jinja {

using BuiltinFn = Value (*)(Interpreter&, Arguments&);
using MethodFn = Value (*)(Interpreter&, const Value& self, Arguments&);

class BuiltinFunction : public Callable {
 public:
  BuiltinFunction(std::string name, BuiltinFn fn) : name_(std::move(name)), fn_(fn) {}
  Value Call(Interpreter& in, Arguments& args) const override { return fn_(in, args); }
  std::string Repr() const override { return "<built-in function " + name_ + ">"; }

 private:
  std::string name_;
  BuiltinFn fn_;
};

// `receiver.name` for a method of str, list or dict.
class BoundMethod : public Callable {
 public:
  BoundMethod(Value receiver, std::string name, MethodFn fn)
      : receiver_(std::move(receiver)), name_(std::move(name)), fn_(fn) {}
  Value Call(Interpreter& in, Arguments& args) const override { return fn_(in, receiver_, args); }
  std::string Repr() const override;
  const Value& receiver() const { return receiver_; }

 private:
  Value receiver_;
  std::string name_;
  MethodFn fn_;
};

// A macro (or the `caller` of a call block). It sees the scope it was defined in; it holds that
// scope weakly because the scope usually holds the macro, and falls back to the globals if the
// scope is gone.
class MacroCallable : public Callable {
 public:
  MacroCallable(const MacroStmt& macro, const ScopePtr& scope) : macro_(macro), scope_(scope) {}
  Value Call(Interpreter& in, Arguments& args) const override;
  std::string Repr() const override { return "<Macro '" + macro_.name + "'>"; }

 private:
  const MacroStmt& macro_;
  std::weak_ptr<Scope> scope_;
};

// The `loop` variable. One object serves all iterations of a loop; Finish() drops the values it
// holds when the loop ends, so storing `loop` somewhere cannot create a reference cycle.
class LoopObject : public Object, public std::enable_shared_from_this<LoopObject> {
 public:
  LoopObject(const ForStmt& stmt, const ScopePtr& scope, std::vector<Value> items, int depth)
      : stmt_(stmt), scope_(scope), items_(std::move(items)), depth_(depth) {}

  void SetIndex(size_t index) { index_ = index; }
  void Finish();
  const std::vector<Value>& items() const { return items_; }

  Value GetAttr(std::string_view name) override;
  std::string Repr() const override;

  Value Cycle(Arguments& args) const;
  Value Changed(Arguments& args);
  Value Recurse(Interpreter& in, Arguments& args) const;

 private:
  const ForStmt& stmt_;
  std::weak_ptr<Scope> scope_;
  std::vector<Value> items_;
  size_t index_ = 0;
  int depth_;
  bool finished_ = false;
  bool has_last_changed_ = false;
  Value last_changed_;
};

}  // namespace kiln::jinja
