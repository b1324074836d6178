// The syntax tree of a compiled template. Immutable after parsing, so one tree is shared by any
// number of concurrent renders. Expressions and statements carry their source line and column
// for error messages.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "kiln/template/value.h"

namespace kiln::jinja {

class Interpreter;
struct Arguments;

using FilterFn = Value (*)(Interpreter&, const Value& input, Arguments& args);
using TestFn = bool (*)(Interpreter&, const Value& input, Arguments& args);

struct Node {
  int line = 0;
  int column = 0;
};

// ---------------------------------------------------------------- expressions

enum class ExprKind {
  kLiteral,      // a constant (never a list or dict: those are built fresh each time)
  kName,         // a variable
  kList,         // [a, b]
  kTuple,        // (a, b)
  kDict,         // {k: v}
  kGetAttr,      // x.name
  kGetItem,      // x[i]
  kSlice,        // x[a:b:c]
  kCall,         // f(args)
  kFilter,       // x | f(args)
  kTest,         // x is t(args)
  kNot,          // not x
  kNegate,       // -x
  kPlus,         // +x
  kBinary,       // arithmetic and ~
  kAnd,          // a and b (short-circuits)
  kOr,           // a or b (short-circuits)
  kCompare,      // a < b <= c, in, not in
  kConditional,  // a if c else b
};

struct Expr : Node {
  explicit Expr(ExprKind k) : kind(k) {}
  virtual ~Expr() = default;
  ExprKind kind;
  int depth = 1;  // height of this subtree; the parser bounds it so evaluation cannot overflow
};
using ExprPtr = std::unique_ptr<Expr>;

struct LiteralExpr : Expr {
  LiteralExpr() : Expr(ExprKind::kLiteral) {}
  Value value;
};

struct NameExpr : Expr {
  NameExpr() : Expr(ExprKind::kName) {}
  std::string name;
};

struct SequenceExpr : Expr {  // kList or kTuple
  explicit SequenceExpr(ExprKind k) : Expr(k) {}
  std::vector<ExprPtr> items;
};

struct DictExpr : Expr {
  DictExpr() : Expr(ExprKind::kDict) {}
  std::vector<std::pair<ExprPtr, ExprPtr>> items;
};

struct GetAttrExpr : Expr {
  GetAttrExpr() : Expr(ExprKind::kGetAttr) {}
  ExprPtr object;
  std::string name;
};

struct GetItemExpr : Expr {
  GetItemExpr() : Expr(ExprKind::kGetItem) {}
  ExprPtr object;
  ExprPtr index;
};

struct SliceExpr : Expr {
  SliceExpr() : Expr(ExprKind::kSlice) {}
  ExprPtr object;
  ExprPtr start;  // each may be null
  ExprPtr stop;
  ExprPtr step;
};

struct CallArgs {
  std::vector<ExprPtr> positional;
  std::vector<std::pair<std::string, ExprPtr>> keyword;
  ExprPtr star_args;    // *args
  ExprPtr star_kwargs;  // **kwargs
};

struct CallExpr : Expr {
  CallExpr() : Expr(ExprKind::kCall) {}
  ExprPtr callee;
  CallArgs args;
};

// One filter application; `fn` is null for an unknown filter inside an {% if %}, which Jinja2
// only reports if it runs.
struct FilterCall : Node {
  std::string name;
  FilterFn fn = nullptr;
  CallArgs args;
};

struct FilterExpr : Expr {
  FilterExpr() : Expr(ExprKind::kFilter) {}
  ExprPtr input;
  FilterCall filter;
};

struct TestExpr : Expr {
  TestExpr() : Expr(ExprKind::kTest) {}
  ExprPtr input;
  std::string name;
  TestFn fn = nullptr;
  CallArgs args;
  bool negated = false;
};

struct UnaryExpr : Expr {  // kNot, kNegate, kPlus
  explicit UnaryExpr(ExprKind k) : Expr(k) {}
  ExprPtr operand;
};

enum class BinaryOp { kAdd, kSub, kMul, kDiv, kFloorDiv, kMod, kPow, kConcat };

struct BinaryExpr : Expr {  // kBinary, kAnd, kOr
  explicit BinaryExpr(ExprKind k) : Expr(k) {}
  BinaryOp op = BinaryOp::kAdd;
  ExprPtr left;
  ExprPtr right;
};

enum class CompareOp { kEq, kNe, kLt, kLe, kGt, kGe, kIn, kNotIn };

struct CompareExpr : Expr {
  CompareExpr() : Expr(ExprKind::kCompare) {}
  ExprPtr first;
  std::vector<std::pair<CompareOp, ExprPtr>> rest;
};

struct ConditionalExpr : Expr {
  ConditionalExpr() : Expr(ExprKind::kConditional) {}
  ExprPtr condition;
  ExprPtr then_expr;
  ExprPtr else_expr;  // null: undefined when the condition is false
};

// ---------------------------------------------------------------- statements

enum class StmtKind {
  kText,
  kOutput,
  kIf,
  kFor,
  kSet,
  kSetBlock,
  kMacro,
  kCallBlock,
  kFilterBlock,
  kWith,
  kScope,  // {% generation %}: renders its body
  kBreak,
  kContinue,
};

struct Stmt : Node {
  explicit Stmt(StmtKind k) : kind(k) {}
  virtual ~Stmt() = default;
  StmtKind kind;
};
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct TextStmt : Stmt {
  TextStmt() : Stmt(StmtKind::kText) {}
  std::string text;
};

struct OutputStmt : Stmt {
  OutputStmt() : Stmt(StmtKind::kOutput) {}
  ExprPtr expr;
};

struct IfStmt : Stmt {
  IfStmt() : Stmt(StmtKind::kIf) {}
  std::vector<std::pair<ExprPtr, Body>> branches;  // if and elifs
  Body else_body;
};

// What a set, for or with statement assigns to: a name, `ns.attr`, or a tuple of names.
struct AssignTarget {
  std::vector<std::string> names;  // one name unless unpacking
  bool unpack = false;
  std::string attribute;  // set for `ns.attr`: names[0] is the namespace
};

struct ForStmt : Stmt {
  ForStmt() : Stmt(StmtKind::kFor) {}
  AssignTarget target;
  ExprPtr iterable;
  ExprPtr filter;  // `for x in y if cond`
  Body body;
  Body else_body;
  bool recursive = false;
};

struct SetStmt : Stmt {
  SetStmt() : Stmt(StmtKind::kSet) {}
  AssignTarget target;
  ExprPtr value;
};

struct SetBlockStmt : Stmt {
  SetBlockStmt() : Stmt(StmtKind::kSetBlock) {}
  AssignTarget target;
  std::vector<FilterCall> filters;
  Body body;
};

struct MacroParam {
  std::string name;
  ExprPtr default_value;  // may be null
};

struct MacroStmt : Stmt {
  MacroStmt() : Stmt(StmtKind::kMacro) {}
  std::string name;
  std::vector<MacroParam> params;
  Body body;
  // Whether the body mentions these names; Jinja2 only accepts extra arguments then.
  bool uses_varargs = false;
  bool uses_kwargs = false;
  bool uses_caller = false;
};

struct CallBlockStmt : Stmt {
  CallBlockStmt() : Stmt(StmtKind::kCallBlock) {}
  std::unique_ptr<CallExpr> call;
  // The body becomes the `caller` macro passed to the call.
  std::unique_ptr<MacroStmt> caller;
};

struct FilterBlockStmt : Stmt {
  FilterBlockStmt() : Stmt(StmtKind::kFilterBlock) {}
  std::vector<FilterCall> filters;
  Body body;
};

struct WithStmt : Stmt {
  WithStmt() : Stmt(StmtKind::kWith) {}
  std::vector<std::pair<AssignTarget, ExprPtr>> assignments;
  Body body;
};

struct ScopeStmt : Stmt {
  ScopeStmt() : Stmt(StmtKind::kScope) {}
  Body body;
};

struct Program {
  Body body;
};

}  // namespace kiln::jinja
