#include "kiln/template/template.h"

#include <fmt/format.h>

#include "kiln/template/ast.h"
#include "kiln/template/interpreter.h"
#include "kiln/template/lexer.h"
#include "kiln/template/parser.h"
#include "kiln/template/value_json.h"

namespace kiln::jinja {
namespace {

std::string FormatMessage(TemplateError::Kind kind, const std::string& detail, int line,
                          int column) {
  std::string where;
  if (line > 0)
    where = column > 0 ? fmt::format(" at line {}, column {}", line, column)
                       : fmt::format(" at line {}", line);
  switch (kind) {
    case TemplateError::Kind::kSyntax:
      return fmt::format("template syntax error{}: {}", where, detail);
    case TemplateError::Kind::kRuntime:
      return fmt::format("template error{}: {}", where, detail);
    case TemplateError::Kind::kRaised:
      return fmt::format("template raised an exception{}: {}", where, detail);
    case TemplateError::Kind::kLimit:
      return fmt::format("template stopped{}: {}", where, detail);
  }
  return detail;
}

std::string RenderValue(const Program& program, const Value& context,
                        const RenderOptions& options) {
  Interpreter interpreter(options);
  return interpreter.Render(program, context);
}

}  // namespace

TemplateError::TemplateError(Kind kind, std::string detail, int line, int column)
    : Error(FormatMessage(kind, detail, line, column)),
      kind_(kind),
      detail_(std::move(detail)),
      line_(line),
      column_(column) {}

Template Template::Compile(std::string_view source, const CompileOptions& options) {
  LexerOptions lexer_options;
  lexer_options.trim_blocks = options.trim_blocks;
  lexer_options.lstrip_blocks = options.lstrip_blocks;
  std::unique_ptr<Program> program = Parse(Tokenize(source, lexer_options));
  return Template(std::shared_ptr<const Program>(std::move(program)));
}

std::string Template::Render(const nlohmann::ordered_json& context,
                             const RenderOptions& options) const {
  if (!context.is_object()) {
    throw TemplateError(TemplateError::Kind::kRuntime, "the render context must be a JSON object");
  }
  return RenderValue(*program_, FromJson(context), options);
}

std::string Template::Render(const nlohmann::json& context, const RenderOptions& options) const {
  if (!context.is_object()) {
    throw TemplateError(TemplateError::Kind::kRuntime, "the render context must be a JSON object");
  }
  return RenderValue(*program_, FromJson(context), options);
}

}  // namespace kiln::jinja
