// The tree-walking interpreter: runs a parsed Program against a context and produces text.
// One Interpreter serves one render (it holds that render's scopes, output buffers and budget),
// so concurrent renders of one compiled template never share mutable state.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "kiln/template/ast.h"
#include "kiln/template/template.h"
#include "kiln/template/value.h"

namespace kiln::jinja {

// Evaluated call arguments.
struct Arguments {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
};

// Binds a builtin's arguments to its parameter names, Python style: positional first, then by
// keyword; rejects unknown keywords, duplicates and surplus positionals.
class BoundArgs {
 public:
  BoundArgs(std::string_view function, Arguments& args,
            std::initializer_list<std::string_view> names, size_t required = 0);
  // The argument, or undefined when it was not given.
  const Value& operator[](size_t i) const { return values_[i]; }
  bool has(size_t i) const { return given_[i]; }

 private:
  std::vector<Value> values_;
  std::vector<bool> given_;
};

// A variable scope: the globals of a render, a loop iteration, a macro call.
class Scope {
 public:
  explicit Scope(std::shared_ptr<Scope> parent = nullptr) : parent_(std::move(parent)) {}
  const Value* Find(const std::string& name) const;
  void Set(const std::string& name, Value value) { vars_[name] = std::move(value); }

 private:
  std::shared_ptr<Scope> parent_;
  std::unordered_map<std::string, Value> vars_;
};
using ScopePtr = std::shared_ptr<Scope>;

class LoopObject;

class Interpreter {
 public:
  explicit Interpreter(const RenderOptions& options);
  ~Interpreter();

  std::string Render(const Program& program, const Value& context);

  // Jinja2's attribute and item lookup: `x.name` falls back to x["name"] and vice versa; a
  // miss is undefined; any lookup on an undefined value fails.
  Value GetAttr(const Value& object, std::string_view name);
  Value GetItem(const Value& object, const Value& key);
  // `attribute` of the filters (map, sort, ...): dotted path, numeric parts index lists.
  Value GetAttrPath(const Value& object, std::string_view path);
  Value Call(const Value& callee, Arguments& args);
  Value ApplyFilter(std::string_view name, const Value& input, Arguments& args);
  bool ApplyTest(std::string_view name, const Value& input, Arguments& args);
  // The items a for loop over `v` visits (dict keys, string characters, nothing for undefined).
  std::vector<Value> Iterate(const Value& v);

  // Resource accounting: every statement, expression and element processed costs a step.
  void Charge(uint64_t steps = 1) {
    steps_ += steps;
    if (steps_ > options_.limits.max_steps) FailSteps();
  }
  // Rejects a string or collection that would exceed the limits, before it is built.
  void CheckStringSize(size_t bytes);
  void CheckCollectionSize(size_t items);
  // Notes that `container` (a list, dict or namespace) now holds `inserted`. Mutation is the
  // only way a template can build a reference cycle, so the containers noted here are emptied
  // when the render ends, which frees any cycle.
  void NoteMutation(const Value& container, const Value& inserted);
  const RenderOptions& options() const { return options_; }

  // Macros, `caller` and recursive loops.
  Value CallMacro(const MacroStmt& macro, const ScopePtr& closure, Arguments& args);
  // Runs a for loop's body over `items` and returns what it printed (recursive loops).
  std::string CaptureLoop(const ForStmt& loop, const ScopePtr& scope, std::vector<Value> items,
                          int depth);
  ScopePtr globals() const { return globals_; }

  // RAII guard bounding the interpreter's recursion (statements, expressions, calls).
  class DepthGuard {
   public:
    explicit DepthGuard(Interpreter& in) : in_(in) {
      if (++in_.depth_ > in_.options_.limits.max_depth) in_.FailDepth();
    }
    ~DepthGuard() { --in_.depth_; }

   private:
    Interpreter& in_;
  };

 private:
  enum class Flow { kNormal, kBreak, kContinue };

  // Statements (interpreter.cpp).
  Flow ExecBody(const Body& body, const ScopePtr& scope);
  Flow Exec(const Stmt& stmt, const ScopePtr& scope);
  Flow ExecIf(const IfStmt& stmt, const ScopePtr& scope);
  void ExecFor(const ForStmt& stmt, const ScopePtr& scope);
  void RunLoop(const ForStmt& stmt, const ScopePtr& scope, std::vector<Value> items, int depth);
  void ExecCallBlock(const CallBlockStmt& stmt, const ScopePtr& scope);
  void Assign(const AssignTarget& target, Value value, const ScopePtr& scope);
  std::string Capture(const Body& body, const ScopePtr& scope);
  Flow Capture(const Body& body, const ScopePtr& scope, std::string& out);
  Value ApplyFilterChain(const std::vector<FilterCall>& filters, Value input,
                         const ScopePtr& scope);
  void Emit(std::string_view text);
  void EmitValue(const Value& v);

  // Expressions (eval.cpp).
  Value Eval(const Expr& expr, const ScopePtr& scope);
  Value EvalName(const NameExpr& expr, const ScopePtr& scope);
  Value EvalSequence(const SequenceExpr& expr, const ScopePtr& scope);
  Value EvalDict(const DictExpr& expr, const ScopePtr& scope);
  Value EvalSlice(const SliceExpr& expr, const ScopePtr& scope);
  Value EvalCall(const CallExpr& expr, const ScopePtr& scope);
  Value EvalFilter(const FilterExpr& expr, const ScopePtr& scope);
  Value EvalTest(const TestExpr& expr, const ScopePtr& scope);
  Value EvalCompare(const CompareExpr& expr, const ScopePtr& scope);
  Arguments EvalArgs(const CallArgs& args, const ScopePtr& scope);
  Value RunFilter(const FilterCall& filter, const Value& input, const ScopePtr& scope);

  void ReleaseMutated();
  [[noreturn]] void FailSteps() const;
  [[noreturn]] void FailDepth();

  const RenderOptions& options_;
  ScopePtr globals_;
  struct Mutated {
    std::weak_ptr<List> list;
    std::weak_ptr<Dict> dict;
  };
  std::unordered_map<const void*, Mutated> mutated_;
  std::string* out_ = nullptr;
  uint64_t steps_ = 0;
  int depth_ = 0;
  int line_ = 0;  // of the node being run, for error messages
  int column_ = 0;
};

// Python's `in`: substring, list membership, dict key.
bool Contains(const Value& container, const Value& item);

}  // namespace kiln::jinja
