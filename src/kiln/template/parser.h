// The template parser: turns the lexer's tokens into a Program, following Jinja2's grammar and
// operator precedence. Statements are parsed in parser.cpp, expressions in parser_expr.cpp.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "kiln/template/ast.h"
#include "kiln/template/lexer.h"

namespace kiln::jinja {

// Throws TemplateError (kSyntax) with the location of the problem.
std::unique_ptr<Program> Parse(std::vector<Token> tokens);

namespace detail {

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  std::unique_ptr<Program> ParseProgram();

 private:
  // Statements (parser.cpp).
  Body ParseBody(std::initializer_list<std::string_view> end_tags);
  StmtPtr ParseStatement();
  StmtPtr ParseFor();
  StmtPtr ParseIf();
  StmtPtr ParseSet();
  StmtPtr ParseMacro();
  StmtPtr ParseCallBlock();
  StmtPtr ParseFilterBlock();
  StmtPtr ParseWith();
  StmtPtr ParseScope();
  void ParseSignature(MacroStmt& macro);
  AssignTarget ParseAssignTarget(bool with_namespace, std::initializer_list<std::string_view> stop);
  std::vector<FilterCall> ParseFilterChain(bool start_inline);
  void EndTag(std::string_view name);
  void ExpectBlockEnd();

  // Expressions (parser_expr.cpp).
  ExprPtr ParseTuple(bool with_condexpr, bool explicit_parentheses,
                     std::initializer_list<std::string_view> extra_end = {});
  ExprPtr ParseExpression(bool with_condexpr = true);
  ExprPtr ParseConditional();
  ExprPtr ParseOr();
  ExprPtr ParseAnd();
  ExprPtr ParseNot();
  ExprPtr ParseCompare();
  ExprPtr ParseMath1();
  ExprPtr ParseConcat();
  ExprPtr ParseMath2();
  ExprPtr ParsePow();
  ExprPtr ParseUnary(bool with_filter);
  ExprPtr ParsePrimary();
  ExprPtr ParsePostfix(ExprPtr node);
  ExprPtr ParseFilterExpr(ExprPtr node);
  ExprPtr ParseSubscript(ExprPtr node);
  ExprPtr ParseSubscribed(ExprPtr object, int line, int column);
  ExprPtr ParseList();
  ExprPtr ParseDict();
  ExprPtr ParseTest(ExprPtr node);
  FilterCall ParseFilterCall();
  CallArgs ParseCallArgs();
  std::string ParseDottedName();
  bool IsTupleEnd(std::initializer_list<std::string_view> extra_end) const;
  // Sets node depth from its children and rejects trees too deep to evaluate safely.
  void SetDepth(Expr& node, std::initializer_list<const Expr*> children);
  void SetDepth(Expr& node, int child_depth);
  void NoteName(const std::string& name);

  // Token access.
  const Token& Current() const { return tokens_[pos_]; }
  const Token& Peek(size_t ahead = 1) const;
  const Token& Next();
  bool IsOp(std::string_view op) const;
  bool IsName(std::string_view name) const;
  bool SkipOp(std::string_view op);
  bool SkipName(std::string_view name);
  const Token& ExpectOp(std::string_view op);
  const Token& ExpectName();
  void ExpectName(std::string_view name);
  [[noreturn]] void Fail(const Token& at, const std::string& message) const;
  [[noreturn]] void FailUnexpected(const Token& at, std::string_view expected) const;
  static std::string Describe(const Token& token);

  template <typename T>
  std::unique_ptr<T> Make(const Token& at) {
    auto node = std::make_unique<T>();
    node->line = at.line;
    node->column = at.column;
    return node;
  }
  template <typename T, typename K>
  std::unique_ptr<T> Make(const Token& at, K kind) {
    auto node = std::make_unique<T>(kind);
    node->line = at.line;
    node->column = at.column;
    return node;
  }

  // RAII guard bounding parser recursion.
  class Nesting {
   public:
    Nesting(Parser& parser, const Token& at);
    ~Nesting() { --parser_.nesting_; }

   private:
    Parser& parser_;
  };

  std::vector<Token> tokens_;
  size_t pos_ = 0;
  int nesting_ = 0;
  int loop_depth_ = 0;  // break/continue are only valid inside a for loop
  int soft_depth_ = 0;  // inside {% if %} or `x if c`: unknown filters fail only when run
  std::vector<MacroStmt*> macros_;  // macros being parsed, to note varargs/kwargs/caller use
};

}  // namespace detail
}  // namespace kiln::jinja
