#include "kiln/template/parser.h"

#include <fmt/format.h>

#include <algorithm>

#include "kiln/template/builtins.h"
#include "kiln/template/template_error.h"

namespace kiln::jinja {
namespace detail {
namespace {

constexpr int kMaxNesting = 128;

bool Contains(std::initializer_list<std::string_view> list, std::string_view s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

}  // namespace

Parser::Nesting::Nesting(Parser& parser, const Token& at) : parser_(parser) {
  if (++parser_.nesting_ > kMaxNesting) {
    --parser_.nesting_;
    parser_.Fail(at, fmt::format("template nested more than {} levels deep", kMaxNesting));
  }
}

const Token& Parser::Peek(size_t ahead) const {
  return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)];
}

const Token& Parser::Next() {
  const Token& t = tokens_[pos_];
  if (pos_ + 1 < tokens_.size()) ++pos_;
  return t;
}

bool Parser::IsOp(std::string_view op) const {
  return Current().kind == TokenKind::kOperator && Current().value == op;
}

bool Parser::IsName(std::string_view name) const {
  return Current().kind == TokenKind::kName && Current().value == name;
}

bool Parser::SkipOp(std::string_view op) {
  if (!IsOp(op)) return false;
  Next();
  return true;
}

bool Parser::SkipName(std::string_view name) {
  if (!IsName(name)) return false;
  Next();
  return true;
}

const Token& Parser::ExpectOp(std::string_view op) {
  if (!IsOp(op)) FailUnexpected(Current(), fmt::format("'{}'", op));
  return Next();
}

const Token& Parser::ExpectName() {
  if (Current().kind != TokenKind::kName) FailUnexpected(Current(), "a name");
  return Next();
}

void Parser::ExpectName(std::string_view name) {
  if (!IsName(name)) FailUnexpected(Current(), fmt::format("'{}'", name));
  Next();
}

std::string Parser::Describe(const Token& token) {
  switch (token.kind) {
    case TokenKind::kText:
      return "template text";
    case TokenKind::kVariableBegin:
      return "'{{'";
    case TokenKind::kVariableEnd:
      return "end of print statement '}}'";
    case TokenKind::kBlockBegin:
      return "'{%'";
    case TokenKind::kBlockEnd:
      return "end of statement block '%}'";
    case TokenKind::kString:
      return "a string";
    case TokenKind::kInteger:
    case TokenKind::kFloat:
      return "a number";
    case TokenKind::kEnd:
      return "end of template";
    default:
      return fmt::format("'{}'", token.value);
  }
}

void Parser::Fail(const Token& at, const std::string& message) const {
  throw TemplateError(TemplateError::Kind::kSyntax, message, at.line, at.column);
}

void Parser::FailUnexpected(const Token& at, std::string_view expected) const {
  Fail(at, fmt::format("expected {}, got {}", expected, Describe(at)));
}

void Parser::ExpectBlockEnd() {
  if (Current().kind != TokenKind::kBlockEnd)
    FailUnexpected(Current(), "end of statement block '%}'");
  Next();
}

std::unique_ptr<Program> Parser::ParseProgram() {
  auto program = std::make_unique<Program>();
  program->body = ParseBody({});
  return program;
}

// Parses statements until `{% <end tag>`; leaves the position on the end tag's name.
Body Parser::ParseBody(std::initializer_list<std::string_view> end_tags) {
  Body body;
  while (true) {
    const Token& t = Current();
    switch (t.kind) {
      case TokenKind::kText: {
        auto text = Make<TextStmt>(t);
        text->text = t.value;
        body.push_back(std::move(text));
        Next();
        break;
      }
      case TokenKind::kVariableBegin: {
        auto output = Make<OutputStmt>(t);
        Next();
        output->expr = ParseTuple(/*with_condexpr=*/true, /*explicit_parentheses=*/false);
        if (Current().kind != TokenKind::kVariableEnd) {
          FailUnexpected(Current(), "end of print statement '}}'");
        }
        Next();
        body.push_back(std::move(output));
        break;
      }
      case TokenKind::kBlockBegin: {
        const Token& tag = Peek();
        if (tag.kind == TokenKind::kName && Contains(end_tags, tag.value)) {
          Next();
          return body;
        }
        Next();
        body.push_back(ParseStatement());
        break;
      }
      case TokenKind::kEnd:
        if (end_tags.size() != 0) {
          Fail(t, fmt::format("unexpected end of template: expected '{}'", *end_tags.begin()));
        }
        return body;
      default:
        FailUnexpected(t, "template text or a tag");
    }
  }
}

// Consumes `name %}` of an end tag.
void Parser::EndTag(std::string_view name) {
  ExpectName(name);
  ExpectBlockEnd();
}

StmtPtr Parser::ParseStatement() {
  const Token& tag = Current();
  if (tag.kind != TokenKind::kName) FailUnexpected(tag, "a tag name");
  Nesting nesting(*this, tag);
  const std::string& name = tag.value;
  if (name == "for") return ParseFor();
  if (name == "if") return ParseIf();
  if (name == "set") return ParseSet();
  if (name == "macro") return ParseMacro();
  if (name == "call") return ParseCallBlock();
  if (name == "filter") return ParseFilterBlock();
  if (name == "with") return ParseWith();
  if (name == "generation") return ParseScope();
  if (name == "break" || name == "continue") {
    if (loop_depth_ == 0) Fail(tag, fmt::format("'{}' outside of a for loop", name));
    StmtPtr stmt = name == "break" ? StmtPtr(Make<Stmt>(tag, StmtKind::kBreak))
                                   : StmtPtr(Make<Stmt>(tag, StmtKind::kContinue));
    Next();
    ExpectBlockEnd();
    return stmt;
  }
  if (name == "include" || name == "extends" || name == "import" || name == "from" ||
      name == "block") {
    Fail(tag, fmt::format("'{}' is not supported: a chat template must be self-contained", name));
  }
  Fail(tag, fmt::format("unknown tag '{}'", name));
}

StmtPtr Parser::ParseFor() {
  auto stmt = Make<ForStmt>(Next());
  stmt->target = ParseAssignTarget(/*with_namespace=*/false, {"in"});
  ExpectName("in");
  stmt->iterable = ParseTuple(/*with_condexpr=*/false, false, {"recursive"});
  if (SkipName("if")) stmt->filter = ParseExpression();
  stmt->recursive = SkipName("recursive");
  ExpectBlockEnd();
  ++loop_depth_;
  stmt->body = ParseBody({"endfor", "else"});
  --loop_depth_;
  if (SkipName("else")) {
    ExpectBlockEnd();
    stmt->else_body = ParseBody({"endfor"});
  }
  EndTag("endfor");
  return stmt;
}

StmtPtr Parser::ParseIf() {
  auto stmt = Make<IfStmt>(Next());
  ++soft_depth_;
  while (true) {
    ExprPtr condition = ParseTuple(/*with_condexpr=*/false, false);
    ExpectBlockEnd();
    Body body = ParseBody({"elif", "else", "endif"});
    stmt->branches.emplace_back(std::move(condition), std::move(body));
    if (SkipName("elif")) continue;
    if (SkipName("else")) {
      ExpectBlockEnd();
      stmt->else_body = ParseBody({"endif"});
    }
    break;
  }
  --soft_depth_;
  EndTag("endif");
  return stmt;
}

AssignTarget Parser::ParseAssignTarget(bool with_namespace,
                                       std::initializer_list<std::string_view> stop) {
  AssignTarget target;
  const Token& first = Current();
  if (with_namespace && first.kind == TokenKind::kName && Peek().kind == TokenKind::kOperator &&
      Peek().value == ".") {
    target.names.push_back(Next().value);
    Next();
    target.attribute = ExpectName().value;
    return target;
  }
  const bool parenthesized = SkipOp("(");
  while (true) {
    const Token& t = ExpectName();
    if (t.value == "true" || t.value == "false" || t.value == "none" || t.value == "True" ||
        t.value == "False" || t.value == "None") {
      Fail(t, fmt::format("cannot assign to '{}'", t.value));
    }
    target.names.push_back(t.value);
    if (!SkipOp(",")) break;
    target.unpack = true;
    if (IsOp(")") || Current().kind == TokenKind::kBlockEnd ||
        (Current().kind == TokenKind::kName && Contains(stop, Current().value)) || IsOp("=")) {
      break;
    }
  }
  if (parenthesized) {
    ExpectOp(")");
    target.unpack = true;
  }
  return target;
}

StmtPtr Parser::ParseSet() {
  const Token& at = Next();
  AssignTarget target = ParseAssignTarget(/*with_namespace=*/true, {});
  if (SkipOp("=")) {
    auto stmt = Make<SetStmt>(at);
    stmt->target = std::move(target);
    stmt->value = ParseTuple(/*with_condexpr=*/true, false);
    ExpectBlockEnd();
    return stmt;
  }
  auto stmt = Make<SetBlockStmt>(at);
  stmt->target = std::move(target);
  if (stmt->target.unpack) Fail(at, "a block set can only assign to one name");
  stmt->filters = ParseFilterChain(/*start_inline=*/false);
  ExpectBlockEnd();
  stmt->body = ParseBody({"endset"});
  EndTag("endset");
  return stmt;
}

void Parser::ParseSignature(MacroStmt& macro) {
  ExpectOp("(");
  while (!IsOp(")")) {
    if (!macro.params.empty()) ExpectOp(",");
    if (IsOp(")")) break;
    MacroParam param;
    param.name = ExpectName().value;
    if (SkipOp("=")) {
      param.default_value = ParseExpression();
    } else if (!macro.params.empty() && macro.params.back().default_value) {
      Fail(Current(), "a parameter without a default follows one with a default");
    }
    macro.params.push_back(std::move(param));
  }
  ExpectOp(")");
}

StmtPtr Parser::ParseMacro() {
  auto stmt = Make<MacroStmt>(Next());
  stmt->name = ExpectName().value;
  ParseSignature(*stmt);
  ExpectBlockEnd();
  const int saved_loop_depth = loop_depth_;
  loop_depth_ = 0;
  macros_.push_back(stmt.get());
  stmt->body = ParseBody({"endmacro"});
  macros_.pop_back();
  loop_depth_ = saved_loop_depth;
  EndTag("endmacro");
  return stmt;
}

StmtPtr Parser::ParseCallBlock() {
  const Token& at = Next();
  auto stmt = Make<CallBlockStmt>(at);
  stmt->caller = Make<MacroStmt>(at);
  stmt->caller->name = "caller";
  if (IsOp("(")) ParseSignature(*stmt->caller);
  const Token& call_at = Current();
  ExprPtr call = ParseExpression();
  if (call->kind != ExprKind::kCall) Fail(call_at, "expected a macro call after 'call'");
  stmt->call.reset(static_cast<CallExpr*>(call.release()));
  ExpectBlockEnd();
  const int saved_loop_depth = loop_depth_;
  loop_depth_ = 0;
  macros_.push_back(stmt->caller.get());
  stmt->caller->body = ParseBody({"endcall"});
  macros_.pop_back();
  loop_depth_ = saved_loop_depth;
  EndTag("endcall");
  return stmt;
}

std::vector<FilterCall> Parser::ParseFilterChain(bool start_inline) {
  std::vector<FilterCall> filters;
  while (start_inline || SkipOp("|")) {
    start_inline = false;
    filters.push_back(ParseFilterCall());
  }
  return filters;
}

StmtPtr Parser::ParseFilterBlock() {
  auto stmt = Make<FilterBlockStmt>(Next());
  stmt->filters = ParseFilterChain(/*start_inline=*/true);
  ExpectBlockEnd();
  stmt->body = ParseBody({"endfilter"});
  EndTag("endfilter");
  return stmt;
}

StmtPtr Parser::ParseWith() {
  auto stmt = Make<WithStmt>(Next());
  while (Current().kind != TokenKind::kBlockEnd) {
    if (!stmt->assignments.empty()) ExpectOp(",");
    AssignTarget target = ParseAssignTarget(/*with_namespace=*/false, {});
    ExpectOp("=");
    stmt->assignments.emplace_back(std::move(target), ParseExpression());
  }
  ExpectBlockEnd();
  stmt->body = ParseBody({"endwith"});
  EndTag("endwith");
  return stmt;
}

StmtPtr Parser::ParseScope() {
  auto stmt = Make<ScopeStmt>(Next());
  ExpectBlockEnd();
  // The body is a call block in Jinja2, where break and continue cannot reach an outer loop.
  const int saved_loop_depth = loop_depth_;
  loop_depth_ = 0;
  stmt->body = ParseBody({"endgeneration"});
  loop_depth_ = saved_loop_depth;
  EndTag("endgeneration");
  return stmt;
}

}  // namespace detail

std::unique_ptr<Program> Parse(std::vector<Token> tokens) {
  return detail::Parser(std::move(tokens)).ParseProgram();
}

}  // namespace kiln::jinja
