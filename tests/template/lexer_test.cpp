// Whitespace control and the lexical layer: trim_blocks, lstrip_blocks, `-` and `+` markers,
// comments, raw blocks, newline handling, string and number literals.
#include "kiln/template/lexer.h"

#include <gtest/gtest.h>

#include "render_helpers.h"

namespace kiln::jinja {
namespace {

using testing::Render;
using testing::RenderError;

TEST(Whitespace, TrimBlocksRemovesTheNewlineAfterABlockTag) {
  EXPECT_EQ(Render("{% if true %}\nyes\n{% endif %}\nafter"), "yes\nafter");
  // Only one newline, and not after an expression tag.
  EXPECT_EQ(Render("{% if true %}\n\nx{% endif %}"), "\nx");
  EXPECT_EQ(Render("{{ 'a' }}\nb"), "a\nb");
}

TEST(Whitespace, LstripBlocksRemovesIndentationBeforeBlockTags) {
  EXPECT_EQ(Render("<\n    {% if true %}\n    x\n    {% endif %}\n>"), "<\n    x\n>");
  // Not before expression tags, and not when text precedes the tag on its line.
  EXPECT_EQ(Render("  {{ 'v' }}"), "  v");
  EXPECT_EQ(Render("a  {% if true %}b{% endif %}"), "a  b");
  // At the very start of the template too.
  EXPECT_EQ(Render("  \t{% if true %}x{% endif %}"), "x");
}

TEST(Whitespace, PlusDisablesLstripAndTrim) {
  EXPECT_EQ(Render("  {%+ if true %}x{% endif %}"), "  x");
  EXPECT_EQ(Render("{% if true +%}\nx{% endif %}"), "\nx");
}

TEST(Whitespace, MinusStripsAllWhitespaceOnThatSide) {
  EXPECT_EQ(Render("a \n\t {%- if true -%} \n\n b {%- endif %}"), "ab");
  EXPECT_EQ(Render("a  {{- 'x' -}}  \n b"), "axb");
  EXPECT_EQ(Render("[ {{- 1 }} ]"), "[1 ]");
}

TEST(Whitespace, CommentsAreDroppedWithTheSameControls) {
  EXPECT_EQ(Render("a{# note #}b"), "ab");
  EXPECT_EQ(Render("a  {#- note -#}  b"), "ab");
  EXPECT_EQ(Render("a\n  {# note #}\nb"), "a\nb");
  EXPECT_EQ(Render("{# {{ not }} {% evaluated %} #}x"), "x");
}

TEST(Whitespace, RawBlocksAreNotParsed) {
  EXPECT_EQ(Render("{% raw %}{{ x }}{% if %}{% endraw %}"), "{{ x }}{% if %}");
  // No trim_blocks after {% raw %}, but the usual rules around {% endraw %}.
  EXPECT_EQ(Render("a\n  {% raw %}\n x\n  {% endraw %}\nb"), "a\n\n x\nb");
  EXPECT_EQ(Render("{% raw -%}  x  {%- endraw %}"), "x");
}

TEST(Whitespace, TrailingNewlineOfTheTemplateIsDropped) {
  EXPECT_EQ(Render("x\n"), "x");
  EXPECT_EQ(Render("x\n\n"), "x\n");
  EXPECT_EQ(Render("a\r\nb\rc"), "a\nb\nc");
}

TEST(Whitespace, OptionsCanTurnTrimAndLstripOff) {
  CompileOptions options;
  options.trim_blocks = false;
  options.lstrip_blocks = false;
  const Template t = Template::Compile("  {% if true %}\nx{% endif %}", options);
  EXPECT_EQ(t.Render(nlohmann::ordered_json::object()), "  \nx");
}

TEST(Literals, StringsDecodePythonEscapes) {
  EXPECT_EQ(Render(R"({{ 'a\nb\t\'c\' \\ \x41\u00e9\U0001F642 \d' }})"),
            "a\nb\t'c' \\ Aé🙂 \\d");
  EXPECT_EQ(Render(R"({{ "double \"quoted\"" }})"), "double \"quoted\"");
  EXPECT_EQ(Render("{{ 'adjacent' ' strings' \"join\" }}"), "adjacent stringsjoin");
  EXPECT_EQ(Render("{{ '{{ not a tag }}' }}"), "{{ not a tag }}");
}

TEST(Literals, Numbers) {
  EXPECT_EQ(Render("{{ 42 }} {{ 1_000 }} {{ 1.5 }} {{ 1e3 }} {{ 2.5e-3 }} {{ 10.0 }}"),
            "42 1000 1.5 1000.0 0.0025 10.0");
  EXPECT_EQ(Render("{{ [1, 2][1] }} {{ [[1, 2]].0.1 }}"), "2 2");
}

TEST(Literals, BracketsInsideTagsMayContainDelimiters) {
  EXPECT_EQ(Render("{{ {'a': {'b': 1}} }}"), "{'a': {'b': 1}}");
  EXPECT_EQ(Render("{{ {'k': '%}'}['k'] }}"), "%}");
}

TEST(Lexer, TokensCarryLineAndColumn) {
  const auto tokens = Tokenize("ab\n  {{ x }}", LexerOptions{});
  ASSERT_GE(tokens.size(), 4u);
  EXPECT_EQ(tokens[0].kind, TokenKind::kText);
  EXPECT_EQ(tokens[1].kind, TokenKind::kVariableBegin);
  EXPECT_EQ(tokens[1].line, 2);
  EXPECT_EQ(tokens[1].column, 3);
  EXPECT_EQ(tokens[2].kind, TokenKind::kName);
  EXPECT_EQ(tokens[2].value, "x");
  EXPECT_EQ(tokens[2].column, 6);
}

TEST(Lexer, Errors) {
  EXPECT_EQ(RenderError("{{ 'open").kind(), TemplateError::Kind::kSyntax);
  EXPECT_EQ(RenderError("{# never closed").kind(), TemplateError::Kind::kSyntax);
  EXPECT_EQ(RenderError("{% raw %}x").kind(), TemplateError::Kind::kSyntax);
  EXPECT_EQ(RenderError("{{ a ! b }}").kind(), TemplateError::Kind::kSyntax);
  EXPECT_EQ(RenderError("{{ (1] }}").kind(), TemplateError::Kind::kSyntax);
  EXPECT_EQ(RenderError("{{ 99999999999999999999 }}").kind(), TemplateError::Kind::kSyntax);
}

}  // namespace
}  // namespace kiln::jinja
