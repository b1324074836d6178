// Errors and limits: syntax errors with line and column, runtime errors with the line that
// failed, raise_exception, and the resource limits that stop hostile templates.
#include <gtest/gtest.h>

#include "render_helpers.h"

namespace kiln::jinja {
namespace {

using testing::Render;
using testing::RenderError;

TEST(SyntaxErrors, ReportLineAndColumn) {
  const TemplateError e = RenderError("line one\n{% if x %}\n  {{ x + }}\n{% endif %}");
  EXPECT_EQ(e.kind(), TemplateError::Kind::kSyntax);
  EXPECT_EQ(e.line(), 3);
  EXPECT_EQ(e.column(), 10);
  EXPECT_NE(std::string(e.what()).find("line 3, column 10"), std::string::npos) << e.what();
}

TEST(SyntaxErrors, CommonMistakes) {
  struct Case {
    const char* source;
    const char* message;
  };
  const Case cases[] = {
      {"{% if x %}never closed", "unexpected end of template: expected 'elif'"},
      {"{% for x in y %}", "unexpected end of template: expected 'endfor'"},
      {"{% endif %}", "unknown tag 'endif'"},
      {"{{ }}", "expected an expression, got end of print statement '}}'"},
      {"{{ x y }}", "expected end of print statement '}}', got 'y'"},
      {"{% set %}", "expected a name, got end of statement block '%}'"},
      {"{% macro m(a=1, b) %}{% endmacro %}",
       "a parameter without a default follows one with a default"},
      {"{{ f(a=1, 2) }}", "positional argument follows keyword argument"},
      {"{% set true = 1 %}", "cannot assign to 'true'"},
      {"{{ x is a is b }}", "no test named 'a'"},
      {"{% call foo %}{% endcall %}", "expected a macro call after 'call'"},
  };
  for (const Case& c : cases) {
    const TemplateError e = RenderError(c.source);
    EXPECT_EQ(e.kind(), TemplateError::Kind::kSyntax) << c.source;
    EXPECT_EQ(e.detail(), c.message) << c.source;
    EXPECT_GT(e.line(), 0) << c.source;
  }
}

TEST(SyntaxErrors, NestingIsBounded) {
  EXPECT_EQ(
      RenderError("{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}").kind(),
      TemplateError::Kind::kSyntax);
  EXPECT_EQ(RenderError("{{ " + std::string(5000, '[') + std::string(5000, ']') + " }}").kind(),
            TemplateError::Kind::kSyntax);
  std::string chain = "{{ 1";
  for (int i = 0; i < 5000; ++i) chain += " + 1";
  EXPECT_EQ(RenderError(chain + " }}").kind(), TemplateError::Kind::kSyntax);
  std::string nested;
  for (int i = 0; i < 500; ++i) nested += "{% if true %}";
  EXPECT_EQ(RenderError(nested).kind(), TemplateError::Kind::kSyntax);
  // Reasonable depths are fine.
  EXPECT_EQ(Render("{{ " + std::string(50, '(') + "1" + std::string(50, ')') + " }}"), "1");
}

TEST(RuntimeErrors, CarryTheLineThatFailed) {
  const TemplateError e = RenderError("a\nb\n{{ 1 // 0 }}");
  EXPECT_EQ(e.kind(), TemplateError::Kind::kRuntime);
  EXPECT_EQ(e.line(), 3);
  EXPECT_EQ(e.detail(), "integer division or modulo by zero");
}

TEST(RuntimeErrors, RaiseExceptionCarriesTheTemplatesMessage) {
  const TemplateError e = RenderError(
      "{% for m in messages %}\n{% if m.role not in ['user', 'assistant'] %}"
      "{{ raise_exception('Unknown role: ' ~ m.role) }}{% endif %}{% endfor %}",
      R"({"messages": [{"role": "user"}, {"role": "robot"}]})");
  EXPECT_EQ(e.kind(), TemplateError::Kind::kRaised);
  EXPECT_EQ(e.detail(), "Unknown role: robot");
  EXPECT_EQ(e.line(), 2);
  // It is a kiln::Error like every other library error.
  EXPECT_NE(dynamic_cast<const Error*>(&e), nullptr);
}

TEST(RuntimeErrors, ContextMustBeAnObject) {
  EXPECT_THROW(Template::Compile("x").Render(nlohmann::ordered_json::array()), TemplateError);
  EXPECT_THROW(Template::Compile("x").Render(nlohmann::json("text")), TemplateError);
}

RenderOptions Limited() {
  RenderOptions options;
  options.limits.max_output_bytes = 1 << 16;
  options.limits.max_steps = 200'000;
  options.limits.max_depth = 200;
  options.limits.max_collection_size = 10'000;
  return options;
}

TEST(Limits, InfiniteLoopsStop) {
  // Nested loops that would run forever (range grows with each pass).
  const TemplateError e = RenderError(
      "{% set ns = namespace(l=[1]) %}{% for a in range(1000) %}{% for b in range(1000) %}"
      "{% set ns.l = ns.l %}{% endfor %}{% endfor %}",
      "{}", Limited());
  EXPECT_EQ(e.kind(), TemplateError::Kind::kLimit);
}

TEST(Limits, OutputAndStringGrowthStop) {
  EXPECT_EQ(
      RenderError("{% for i in range(10000) %}0123456789{% endfor %}", "{}", Limited()).kind(),
      TemplateError::Kind::kLimit);
  EXPECT_EQ(RenderError("{% set ns = namespace(s='ab') %}{% for i in range(40) %}"
                        "{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
                        "{}", Limited())
                .kind(),
            TemplateError::Kind::kLimit);
  EXPECT_EQ(RenderError("{{ 'x' * 100000000000 }}", "{}", Limited()).kind(),
            TemplateError::Kind::kLimit);
  EXPECT_EQ(RenderError("{{ ('x' * 1000) | replace('x', 'y' * 1000) }}", "{}", Limited()).kind(),
            TemplateError::Kind::kLimit);
  EXPECT_EQ(RenderError("{{ range(100000000) | length }}", "{}", Limited()).kind(),
            TemplateError::Kind::kLimit);
  EXPECT_EQ(RenderError("{{ [0] * 100000000 }}", "{}", Limited()).kind(),
            TemplateError::Kind::kLimit);
}

TEST(Limits, RecursionStops) {
  const TemplateError e = RenderError("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}");
  EXPECT_EQ(e.kind(), TemplateError::Kind::kLimit);
  EXPECT_EQ(RenderError("{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}").kind(),
            TemplateError::Kind::kLimit);
}

TEST(Limits, DeepValuesAreHandledWithoutOverflowingTheStack) {
  // Builds a list nested 100000 deep, then drops it: teardown must not recurse.
  EXPECT_EQ(Render("{% set ns = namespace(l=[]) %}{% for i in range(100000) %}"
                   "{% set ns.l = [ns.l] %}{% endfor %}ok"),
            "ok");
  // Printing it fails cleanly instead of overflowing.
  EXPECT_EQ(RenderError("{% set ns = namespace(l=[]) %}{% for i in range(10000) %}"
                        "{% set ns.l = [ns.l] %}{% endfor %}{{ ns.l }}")
                .kind(),
            TemplateError::Kind::kLimit);
}

TEST(Limits, GenerousDefaultsRenderRealWork) {
  EXPECT_EQ(Render("{% for i in range(100000) %}{% endfor %}{{ range(100000) | sum }}"),
            "4999950000");
}

}  // namespace
}  // namespace kiln::jinja
