// Expression half of the parser: Jinja2's precedence, from loosest to tightest:
// `x if c else y`, or, and, not, comparisons (chained, in, not in), + -, ~, * / // %, **,
// unary - +, then postfix (.attr, [index], [a:b], (call)), filters (|f) and tests (is t).
#include <fmt/format.h>

#include <algorithm>

#include "kiln/template/builtins.h"
#include "kiln/template/parser.h"
#include "kiln/template/template_error.h"

namespace kiln::jinja::detail {
namespace {

constexpr int kMaxExprDepth = 256;

bool Contains(std::initializer_list<std::string_view> list, std::string_view s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

}  // namespace

void Parser::SetDepth(Expr& node, std::initializer_list<const Expr*> children) {
  int depth = 0;
  for (const Expr* child : children) {
    if (child != nullptr) depth = std::max(depth, child->depth);
  }
  SetDepth(node, depth);
}

void Parser::SetDepth(Expr& node, int child_depth) {
  node.depth = child_depth + 1;
  if (node.depth > kMaxExprDepth) {
    throw TemplateError(TemplateError::Kind::kSyntax,
                        fmt::format("expression nested more than {} levels deep", kMaxExprDepth),
                        node.line, node.column);
  }
}

void Parser::NoteName(const std::string& name) {
  for (MacroStmt* macro : macros_) {
    if (name == "varargs") macro->uses_varargs = true;
    if (name == "kwargs") macro->uses_kwargs = true;
    if (name == "caller") macro->uses_caller = true;
  }
}

bool Parser::IsTupleEnd(std::initializer_list<std::string_view> extra_end) const {
  const Token& t = Current();
  if (t.kind == TokenKind::kVariableEnd || t.kind == TokenKind::kBlockEnd ||
      t.kind == TokenKind::kEnd) {
    return true;
  }
  if (t.kind == TokenKind::kOperator && t.value == ")") return true;
  return t.kind == TokenKind::kName && Contains(extra_end, t.value);
}

ExprPtr Parser::ParseTuple(bool with_condexpr, bool explicit_parentheses,
                           std::initializer_list<std::string_view> extra_end) {
  const Token& at = Current();
  std::vector<ExprPtr> items;
  bool is_tuple = false;
  while (true) {
    if (!items.empty()) ExpectOp(",");
    if (IsTupleEnd(extra_end)) break;
    items.push_back(ParseExpression(with_condexpr));
    if (IsOp(",")) {
      is_tuple = true;
    } else {
      break;
    }
  }
  if (!is_tuple) {
    if (!items.empty()) return std::move(items.front());
    if (!explicit_parentheses) FailUnexpected(Current(), "an expression");
  }
  auto tuple = Make<SequenceExpr>(at, ExprKind::kTuple);
  int depth = 0;
  for (const auto& item : items) depth = std::max(depth, item->depth);
  tuple->items = std::move(items);
  SetDepth(*tuple, depth);
  return tuple;
}

ExprPtr Parser::ParseExpression(bool with_condexpr) {
  Nesting nesting(*this, Current());
  return with_condexpr ? ParseConditional() : ParseOr();
}

ExprPtr Parser::ParseConditional() {
  ExprPtr expr = ParseOr();
  while (IsName("if")) {
    auto cond = Make<ConditionalExpr>(Next());
    ++soft_depth_;
    cond->condition = ParseOr();
    if (SkipName("else")) cond->else_expr = ParseConditional();
    --soft_depth_;
    cond->then_expr = std::move(expr);
    SetDepth(*cond, {cond->condition.get(), cond->then_expr.get(), cond->else_expr.get()});
    expr = std::move(cond);
  }
  return expr;
}

ExprPtr Parser::ParseOr() {
  ExprPtr left = ParseAnd();
  while (IsName("or")) {
    auto node = Make<BinaryExpr>(Next(), ExprKind::kOr);
    node->left = std::move(left);
    node->right = ParseAnd();
    SetDepth(*node, {node->left.get(), node->right.get()});
    left = std::move(node);
  }
  return left;
}

ExprPtr Parser::ParseAnd() {
  ExprPtr left = ParseNot();
  while (IsName("and")) {
    auto node = Make<BinaryExpr>(Next(), ExprKind::kAnd);
    node->left = std::move(left);
    node->right = ParseNot();
    SetDepth(*node, {node->left.get(), node->right.get()});
    left = std::move(node);
  }
  return left;
}

ExprPtr Parser::ParseNot() {
  if (!IsName("not")) return ParseCompare();
  Nesting nesting(*this, Current());
  auto node = Make<UnaryExpr>(Next(), ExprKind::kNot);
  node->operand = ParseNot();
  SetDepth(*node, {node->operand.get()});
  return node;
}

ExprPtr Parser::ParseCompare() {
  const Token& at = Current();
  ExprPtr first = ParseMath1();
  std::vector<std::pair<CompareOp, ExprPtr>> rest;
  while (true) {
    const Token& t = Current();
    CompareOp op;
    if (t.kind == TokenKind::kOperator && t.value == "==") {
      op = CompareOp::kEq;
    } else if (t.kind == TokenKind::kOperator && t.value == "!=") {
      op = CompareOp::kNe;
    } else if (t.kind == TokenKind::kOperator && t.value == "<") {
      op = CompareOp::kLt;
    } else if (t.kind == TokenKind::kOperator && t.value == "<=") {
      op = CompareOp::kLe;
    } else if (t.kind == TokenKind::kOperator && t.value == ">") {
      op = CompareOp::kGt;
    } else if (t.kind == TokenKind::kOperator && t.value == ">=") {
      op = CompareOp::kGe;
    } else if (IsName("in")) {
      op = CompareOp::kIn;
    } else if (IsName("not") && Peek().kind == TokenKind::kName && Peek().value == "in") {
      Next();
      op = CompareOp::kNotIn;
    } else {
      break;
    }
    Next();
    rest.emplace_back(op, ParseMath1());
  }
  if (rest.empty()) return first;
  auto node = Make<CompareExpr>(at);
  int depth = first->depth;
  for (const auto& [op, operand] : rest) depth = std::max(depth, operand->depth);
  node->first = std::move(first);
  node->rest = std::move(rest);
  SetDepth(*node, depth);
  return node;
}

namespace {
ExprPtr MakeBinary(const Token& at, BinaryOp op, ExprPtr left, ExprPtr right) {
  auto node = std::make_unique<BinaryExpr>(ExprKind::kBinary);
  node->line = at.line;
  node->column = at.column;
  node->op = op;
  node->left = std::move(left);
  node->right = std::move(right);
  return node;
}
}  // namespace

ExprPtr Parser::ParseMath1() {
  ExprPtr left = ParseConcat();
  while (IsOp("+") || IsOp("-")) {
    const Token& at = Next();
    const BinaryOp op = at.value == "+" ? BinaryOp::kAdd : BinaryOp::kSub;
    ExprPtr right = ParseConcat();
    left = MakeBinary(at, op, std::move(left), std::move(right));
    auto& node = static_cast<BinaryExpr&>(*left);
    SetDepth(node, {node.left.get(), node.right.get()});
  }
  return left;
}

ExprPtr Parser::ParseConcat() {
  ExprPtr left = ParseMath2();
  while (IsOp("~")) {
    const Token& at = Next();
    ExprPtr right = ParseMath2();
    left = MakeBinary(at, BinaryOp::kConcat, std::move(left), std::move(right));
    auto& node = static_cast<BinaryExpr&>(*left);
    SetDepth(node, {node.left.get(), node.right.get()});
  }
  return left;
}

ExprPtr Parser::ParseMath2() {
  ExprPtr left = ParsePow();
  while (IsOp("*") || IsOp("/") || IsOp("//") || IsOp("%")) {
    const Token& at = Next();
    BinaryOp op = BinaryOp::kMul;
    if (at.value == "/") op = BinaryOp::kDiv;
    if (at.value == "//") op = BinaryOp::kFloorDiv;
    if (at.value == "%") op = BinaryOp::kMod;
    ExprPtr right = ParsePow();
    left = MakeBinary(at, op, std::move(left), std::move(right));
    auto& node = static_cast<BinaryExpr&>(*left);
    SetDepth(node, {node.left.get(), node.right.get()});
  }
  return left;
}

ExprPtr Parser::ParsePow() {
  ExprPtr left = ParseUnary(/*with_filter=*/true);
  while (IsOp("**")) {
    const Token& at = Next();
    ExprPtr right = ParseUnary(/*with_filter=*/true);
    left = MakeBinary(at, BinaryOp::kPow, std::move(left), std::move(right));
    auto& node = static_cast<BinaryExpr&>(*left);
    SetDepth(node, {node.left.get(), node.right.get()});
  }
  return left;
}

ExprPtr Parser::ParseUnary(bool with_filter) {
  Nesting nesting(*this, Current());
  ExprPtr node;
  if (IsOp("-") || IsOp("+")) {
    const Token& at = Next();
    auto unary = Make<UnaryExpr>(at, at.value == "-" ? ExprKind::kNegate : ExprKind::kPlus);
    unary->operand = ParseUnary(/*with_filter=*/false);
    SetDepth(*unary, {unary->operand.get()});
    node = std::move(unary);
  } else {
    node = ParsePrimary();
  }
  node = ParsePostfix(std::move(node));
  if (with_filter) node = ParseFilterExpr(std::move(node));
  return node;
}

ExprPtr Parser::ParsePrimary() {
  const Token& t = Current();
  switch (t.kind) {
    case TokenKind::kName: {
      Next();
      if (t.value == "true" || t.value == "True" || t.value == "false" || t.value == "False") {
        auto lit = Make<LiteralExpr>(t);
        lit->value = Value::Bool(t.value == "true" || t.value == "True");
        return lit;
      }
      if (t.value == "none" || t.value == "None") {
        auto lit = Make<LiteralExpr>(t);
        lit->value = Value::None();
        return lit;
      }
      auto name = Make<NameExpr>(t);
      name->name = t.value;
      NoteName(t.value);
      return name;
    }
    case TokenKind::kString: {
      // Adjacent string literals are concatenated, as in Python.
      std::string text = Next().value;
      while (Current().kind == TokenKind::kString) text += Next().value;
      auto lit = Make<LiteralExpr>(t);
      lit->value = Value::String(std::move(text));
      return lit;
    }
    case TokenKind::kInteger: {
      auto lit = Make<LiteralExpr>(Next());
      lit->value = Value::Int(t.int_value);
      return lit;
    }
    case TokenKind::kFloat: {
      auto lit = Make<LiteralExpr>(Next());
      lit->value = Value::Float(t.float_value);
      return lit;
    }
    case TokenKind::kOperator:
      if (t.value == "(") {
        Next();
        ExprPtr inner = ParseTuple(/*with_condexpr=*/true, /*explicit_parentheses=*/true);
        ExpectOp(")");
        return inner;
      }
      if (t.value == "[") return ParseList();
      if (t.value == "{") return ParseDict();
      break;
    default:
      break;
  }
  FailUnexpected(t, "an expression");
}

ExprPtr Parser::ParseList() {
  auto list = Make<SequenceExpr>(Next(), ExprKind::kList);
  int depth = 0;
  while (!IsOp("]")) {
    if (!list->items.empty()) ExpectOp(",");
    if (IsOp("]")) break;
    list->items.push_back(ParseExpression());
    depth = std::max(depth, list->items.back()->depth);
  }
  ExpectOp("]");
  SetDepth(*list, depth);
  return list;
}

ExprPtr Parser::ParseDict() {
  auto dict = Make<DictExpr>(Next());
  int depth = 0;
  while (!IsOp("}")) {
    if (!dict->items.empty()) ExpectOp(",");
    if (IsOp("}")) break;
    ExprPtr key = ParseExpression();
    ExpectOp(":");
    ExprPtr value = ParseExpression();
    depth = std::max({depth, key->depth, value->depth});
    dict->items.emplace_back(std::move(key), std::move(value));
  }
  ExpectOp("}");
  SetDepth(*dict, depth);
  return dict;
}

ExprPtr Parser::ParsePostfix(ExprPtr node) {
  while (true) {
    if (IsOp(".") || IsOp("[")) {
      node = ParseSubscript(std::move(node));
    } else if (IsOp("(")) {
      auto call = Make<CallExpr>(Current());
      Next();
      call->callee = std::move(node);
      call->args = ParseCallArgs();
      int depth = call->callee->depth;
      for (const auto& a : call->args.positional) depth = std::max(depth, a->depth);
      for (const auto& [k, a] : call->args.keyword) depth = std::max(depth, a->depth);
      SetDepth(*call, depth);
      node = std::move(call);
    } else {
      return node;
    }
  }
}

ExprPtr Parser::ParseFilterExpr(ExprPtr node) {
  while (true) {
    if (IsOp("|")) {
      auto filter = Make<FilterExpr>(Next());
      filter->filter = ParseFilterCall();
      filter->input = std::move(node);
      SetDepth(*filter, filter->input->depth);
      node = std::move(filter);
    } else if (IsName("is")) {
      node = ParseTest(std::move(node));
    } else if (IsOp("(")) {
      node = ParsePostfix(std::move(node));
    } else {
      return node;
    }
  }
}

ExprPtr Parser::ParseSubscript(ExprPtr node) {
  const Token& at = Next();
  if (at.value == ".") {
    const Token& t = Current();
    if (t.kind == TokenKind::kName) {
      auto attr = Make<GetAttrExpr>(at);
      attr->name = Next().value;
      attr->object = std::move(node);
      SetDepth(*attr, attr->object->depth);
      return attr;
    }
    if (t.kind == TokenKind::kInteger) {
      auto item = Make<GetItemExpr>(at);
      auto index = Make<LiteralExpr>(Next());
      index->value = Value::Int(t.int_value);
      item->index = std::move(index);
      item->object = std::move(node);
      SetDepth(*item, item->object->depth);
      return item;
    }
    FailUnexpected(t, "a name or number after '.'");
  }
  // `[`: an index, a slice, or a tuple of indexes.
  std::vector<ExprPtr> indexes;
  while (!IsOp("]")) {
    if (!indexes.empty()) ExpectOp(",");
    if (indexes.empty() || !IsOp("]")) {
      ExprPtr index = ParseSubscribed(nullptr, at.line, at.column);
      indexes.push_back(std::move(index));
    }
  }
  ExpectOp("]");
  if (indexes.empty()) FailUnexpected(Current(), "an index");
  if (indexes.size() == 1 && indexes[0]->kind == ExprKind::kSlice) {
    auto& slice = static_cast<SliceExpr&>(*indexes[0]);
    slice.object = std::move(node);
    SetDepth(slice, {slice.object.get(), slice.start.get(), slice.stop.get(), slice.step.get()});
    return std::move(indexes[0]);
  }
  auto item = Make<GetItemExpr>(at);
  if (indexes.size() == 1) {
    item->index = std::move(indexes[0]);
  } else {
    auto tuple = Make<SequenceExpr>(at, ExprKind::kTuple);
    int depth = 0;
    for (auto& index : indexes) {
      if (index->kind == ExprKind::kSlice)
        Fail(at, "slices inside a tuple index are not supported");
      depth = std::max(depth, index->depth);
      tuple->items.push_back(std::move(index));
    }
    SetDepth(*tuple, depth);
    item->index = std::move(tuple);
  }
  item->object = std::move(node);
  SetDepth(*item, {item->object.get(), item->index.get()});
  return item;
}

// One entry between [ and ]: an expression or a slice `a:b:c` (object filled in by the caller).
ExprPtr Parser::ParseSubscribed(ExprPtr object, int line, int column) {
  ExprPtr start;
  if (!IsOp(":")) {
    start = ParseExpression();
    if (!IsOp(":")) return start;
  }
  auto slice = std::make_unique<SliceExpr>();
  slice->line = line;
  slice->column = column;
  slice->object = std::move(object);
  slice->start = std::move(start);
  ExpectOp(":");
  if (!IsOp("]") && !IsOp(",") && !IsOp(":")) slice->stop = ParseExpression();
  if (SkipOp(":")) {
    if (!IsOp("]") && !IsOp(",")) slice->step = ParseExpression();
  }
  return slice;
}

CallArgs Parser::ParseCallArgs() {
  CallArgs args;
  bool require_comma = false;
  while (!IsOp(")")) {
    if (require_comma) {
      ExpectOp(",");
      if (IsOp(")")) break;
    }
    const Token& t = Current();
    if (IsOp("*")) {
      if (args.star_args || args.star_kwargs) Fail(t, "invalid syntax for function call");
      Next();
      args.star_args = ParseExpression();
    } else if (IsOp("**")) {
      if (args.star_kwargs) Fail(t, "invalid syntax for function call");
      Next();
      args.star_kwargs = ParseExpression();
    } else if (t.kind == TokenKind::kName && Peek().kind == TokenKind::kOperator &&
               Peek().value == "=") {
      if (args.star_kwargs) Fail(t, "invalid syntax for function call");
      std::string key = Next().value;
      Next();
      args.keyword.emplace_back(std::move(key), ParseExpression());
    } else {
      if (args.star_args || args.star_kwargs || !args.keyword.empty()) {
        Fail(t, "positional argument follows keyword argument");
      }
      args.positional.push_back(ParseExpression());
    }
    require_comma = true;
  }
  ExpectOp(")");
  return args;
}

std::string Parser::ParseDottedName() {
  std::string name = ExpectName().value;
  while (IsOp(".")) {
    Next();
    name += "." + ExpectName().value;
  }
  return name;
}

FilterCall Parser::ParseFilterCall() {
  FilterCall call;
  const Token& at = Current();
  call.line = at.line;
  call.column = at.column;
  call.name = ParseDottedName();
  call.fn = FindFilter(call.name);
  if (call.fn == nullptr && soft_depth_ == 0)
    Fail(at, fmt::format("no filter named '{}'", call.name));
  if (SkipOp("(")) call.args = ParseCallArgs();
  return call;
}

ExprPtr Parser::ParseTest(ExprPtr node) {
  const Token& at = Next();  // `is`
  auto test = Make<TestExpr>(at);
  test->negated = SkipName("not");
  const Token& name_at = Current();
  test->name = ParseDottedName();
  test->fn = FindTest(test->name);
  if (test->fn == nullptr && soft_depth_ == 0) {
    Fail(name_at, fmt::format("no test named '{}'", test->name));
  }
  const Token& t = Current();
  if (SkipOp("(")) {
    test->args = ParseCallArgs();
  } else if ((t.kind == TokenKind::kName || t.kind == TokenKind::kString ||
              t.kind == TokenKind::kInteger || t.kind == TokenKind::kFloat ||
              (t.kind == TokenKind::kOperator && (t.value == "[" || t.value == "{"))) &&
             !(t.kind == TokenKind::kName &&
               (t.value == "else" || t.value == "or" || t.value == "and"))) {
    if (IsName("is")) Fail(t, "tests cannot be chained with 'is'");
    test->args.positional.push_back(ParsePostfix(ParsePrimary()));
  }
  test->input = std::move(node);
  int depth = test->input->depth;
  for (const auto& a : test->args.positional) depth = std::max(depth, a->depth);
  SetDepth(*test, depth);
  return test;
}

}  // namespace kiln::jinja::detail
