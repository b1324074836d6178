// Statements: if, for (loop variable, else, filters, unpacking, break/continue, recursion),
// set (names, tuples, namespaces, blocks), macros and call blocks, filter blocks, with,
// generation, and Jinja2's scoping rules.
#include <gtest/gtest.h>

#include "render_helpers.h"

namespace kiln::jinja {
namespace {

using testing::Render;
using testing::RenderError;

constexpr const char* kXs = R"({"xs": [1, 2, 3, 4], "d": {"z": 1, "y": 2}})";

TEST(If, BranchesOnPythonTruthiness) {
  EXPECT_EQ(Render("{% if xs %}a{% elif d %}b{% else %}c{% endif %}", kXs), "a");
  EXPECT_EQ(Render("{% if [] %}a{% elif '' %}b{% elif 0.0 %}c{% else %}d{% endif %}"), "d");
  EXPECT_EQ(Render("{% if {} or none or missing %}a{% else %}b{% endif %}"), "b");
}

TEST(For, LoopVariable) {
  EXPECT_EQ(Render("{% for x in xs %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}"
                   "{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}|"
                   "{% endfor %}",
                   kXs),
            "1043TrueFalse4|2132FalseFalse4|3221FalseFalse4|4310FalseTrue4|");
  EXPECT_EQ(Render("{% for x in xs %}{{ loop.previtem }}-{{ loop.nextitem }};{% endfor %}", kXs),
            "-2;1-3;2-4;3-;");
  EXPECT_EQ(Render("{% for x in xs %}{{ loop.cycle('a', 'b', 'c') }}{% endfor %}", kXs), "abca");
  EXPECT_EQ(Render("{% for x in [1, 1, 2, 2, 3] %}{% if loop.changed(x) %}{{ x }}{% endif %}"
                   "{% endfor %}"),
            "123");
  EXPECT_EQ(Render("{% for x in xs %}{% for y in xs %}{{ loop.index * x }}{% endfor %};"
                   "{% endfor %}",
                   kXs),
            "1234;2468;36912;481216;");
}

TEST(For, ElseFilterAndEmptyIterables) {
  EXPECT_EQ(Render("{% for x in xs if x is even %}{{ x }}/{{ loop.length }} {% endfor %}", kXs),
            "2/2 4/2 ");
  EXPECT_EQ(Render("{% for x in [] %}{{ x }}{% else %}empty{% endfor %}"), "empty");
  EXPECT_EQ(Render("{% for x in xs if x > 9 %}{{ x }}{% else %}none{% endfor %}", kXs), "none");
  EXPECT_EQ(Render("{% for x in missing %}{{ x }}{% else %}undefined is empty{% endfor %}"),
            "undefined is empty");
  EXPECT_EQ(RenderError("{% for x in none %}{% endfor %}").detail(),
            "'NoneType' object is not iterable");
}

TEST(For, IteratesStringsDictsAndUnpacks) {
  EXPECT_EQ(Render("{% for c in 'héllo' %}{{ c }}.{% endfor %}"), "h.é.l.l.o.");
  EXPECT_EQ(Render("{% for k in d %}{{ k }}{% endfor %}", kXs), "zy");
  EXPECT_EQ(Render("{% for k, v in d.items() %}{{ k }}={{ v }},{% endfor %}", kXs), "z=1,y=2,");
  EXPECT_EQ(Render("{% for k, v in d|dictsort %}{{ k }}={{ v }},{% endfor %}", kXs), "y=2,z=1,");
  EXPECT_EQ(Render("{% for a, b in [(1, 2), [3, 4]] %}{{ a + b }}{% endfor %}"), "37");
  EXPECT_EQ(RenderError("{% for a, b in [(1, 2, 3)] %}{% endfor %}").kind(),
            TemplateError::Kind::kRuntime);
}

TEST(For, BreakAndContinue) {
  EXPECT_EQ(
      Render("{% for x in xs %}{% if x == 3 %}{% break %}{% endif %}{{ x }}{% endfor %}", kXs),
      "12");
  EXPECT_EQ(
      Render("{% for x in xs %}{% if x is odd %}{% continue %}{% endif %}{{ x }}{% endfor %}", kXs),
      "24");
  EXPECT_EQ(RenderError("{% break %}").kind(), TemplateError::Kind::kSyntax);
  // Leaving a loop from inside a filter or set block abandons the block.
  EXPECT_EQ(Render("{% for x in [1, 2, 3] %}{% filter upper %}a{{ x }}{% if x == 2 %}{% break %}"
                   "{% endif %}b{% endfilter %}{% endfor %}"),
            "A1B");
  EXPECT_EQ(Render("{% for x in [1, 2, 3] %}{% set s %}a{{ x }}{% if x == 2 %}{% continue %}"
                   "{% endif %}b{% endset %}{{ s }}{% endfor %}"),
            "a1ba3b");
  EXPECT_EQ(
      RenderError("{% for x in [1] %}{% generation %}{% break %}{% endgeneration %}{% endfor %}")
          .kind(),
      TemplateError::Kind::kSyntax);
}

TEST(For, RecursiveLoops) {
  constexpr const char* kTree = R"({"items": [{"name": "a", "kids": [{"name": "b", "kids": []},
      {"name": "c", "kids": [{"name": "d", "kids": []}]}]}]})";
  EXPECT_EQ(Render("{% for item in items recursive %}[{{ item.name }}{{ loop.depth }}"
                   "{% if item.kids %}{{ loop(item.kids) }}{% endif %}]{% endfor %}",
                   kTree),
            "[a1[b2][c2[d3]]]");
  EXPECT_EQ(RenderError("{% for x in [1] %}{{ loop([]) }}{% endfor %}").kind(),
            TemplateError::Kind::kRuntime);
}

TEST(Scoping, LoopBodiesDoNotLeakButNamespacesCarryState) {
  EXPECT_EQ(Render("{% set x = 1 %}{% for i in xs %}{% set x = i %}{% endfor %}{{ x }}", kXs), "1");
  // Each iteration starts from the outer value.
  EXPECT_EQ(Render("{% for i in [1, 2] %}{{ x }}{% set x = 5 %}{{ x }}{% endfor %}{{ x }}",
                   R"({"x": 1})"),
            "15151");
  EXPECT_EQ(Render("{% set ns = namespace(total=0, seen=[]) %}{% for x in xs %}"
                   "{% set ns.total = ns.total + x %}{% set ns.seen = ns.seen + [x] %}{% endfor %}"
                   "{{ ns.total }} {{ ns.seen }} {{ ns.missing }}",
                   kXs),
            "10 [1, 2, 3, 4] ");
  // if blocks do not open a scope.
  EXPECT_EQ(Render("{% if true %}{% set y = 2 %}{% endif %}{{ y }}"), "2");
  EXPECT_EQ(RenderError("{% set x = 1 %}{% set x.a = 2 %}").kind(), TemplateError::Kind::kRuntime);
}

TEST(Set, TuplesBlocksAndFilters) {
  EXPECT_EQ(Render("{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set (c, d) = [3, 4] %}{{ c }}{{ d }}"),
            "1234");
  EXPECT_EQ(Render("{% set t %}  hello {{ 'x' }} {% endset %}[{{ t }}]"), "[  hello x ]");
  EXPECT_EQ(Render("{% set t | upper | trim %} hello {% endset %}[{{ t }}]"), "[HELLO]");
  EXPECT_EQ(Render("{% set ns = namespace() %}{% set ns.text %}in{% endset %}{{ ns.text }}"), "in");
  EXPECT_EQ(Render("{% set messages = messages[1:] %}{{ messages }}", R"({"messages": [1, 2]})"),
            "[2]");
}

TEST(Macros, ArgumentsDefaultsAndKeywords) {
  EXPECT_EQ(Render("{% macro greet(name, greeting='Hi') %}{{ greeting }}, {{ name }}!{% endmacro %}"
                   "{{ greet('Bob') }} {{ greet('Al', greeting='Yo') }} "
                   "{{ greet(greeting='Hey', name='Z') }} [{{ greet() }}]"),
            "Hi, Bob! Yo, Al! Hey, Z! [Hi, !]");
  EXPECT_EQ(Render("{% macro m(a, b=a * 2) %}{{ a }}{{ b }}{% endmacro %}{{ m(3) }}"), "36");
  EXPECT_EQ(
      Render("{% macro m(a) %}{{ a }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, 2, 3, x=4) }}"),
      "1(2, 3){'x': 4}");
  EXPECT_EQ(RenderError("{% macro m(a) %}{% endmacro %}{{ m(1, 2) }}").detail(),
            "macro 'm' takes not more than 1 argument(s)");
  EXPECT_EQ(RenderError("{% macro m(a) %}{% endmacro %}{{ m(b=1) }}").detail(),
            "macro 'm' takes no keyword argument 'b'");
}

TEST(Macros, ScopeRecursionAndCaller) {
  // Macros see globals set after their definition, and their own sets stay inside.
  EXPECT_EQ(
      Render("{% macro m() %}{{ y }}{% set y = 9 %}{% endmacro %}{% set y = 3 %}{{ m() }}{{ y }}"),
      "33");
  EXPECT_EQ(Render("{% macro fact(n) %}{% if n <= 1 %}1{% else %}{{ n * fact(n - 1) | int }}"
                   "{% endif %}{% endmacro %}{{ fact(5) }}"),
            "120");
  EXPECT_EQ(
      Render("{% macro m() %}<{{ caller() }}>{% endmacro %}{% call m() %}inside{% endcall %}"),
      "<inside>");
  EXPECT_EQ(Render("{% macro each(xs) %}{% for x in xs %}{{ caller(x) }}{% endfor %}{% endmacro %}"
                   "{% call(v) each([1, 2]) %}[{{ v }}]{% endcall %}"),
            "[1][2]");
}

TEST(Blocks, FilterWithAndGeneration) {
  EXPECT_EQ(Render("{% filter upper %}abc {{ 'x' }}{% endfilter %}"), "ABC X");
  EXPECT_EQ(Render("{% filter replace('a', 'X') | upper %}abca{% endfilter %}"), "XBCX");
  EXPECT_EQ(Render("{% with a = 1, b = 2 %}{{ a + b }}{% endwith %}[{{ a }}]"), "3[]");
  EXPECT_EQ(Render("{% generation %}gen {{ 'x' }}{% endgeneration %}"), "gen x");
}

TEST(Blocks, UnsupportedTagsAreClearErrors) {
  for (const char* source : {"{% include 'x' %}", "{% extends 'x' %}", "{% import 'x' as y %}",
                             "{% block b %}{% endblock %}"}) {
    const TemplateError e = RenderError(source);
    EXPECT_EQ(e.kind(), TemplateError::Kind::kSyntax) << source;
    EXPECT_NE(e.detail().find("not supported"), std::string::npos) << e.what();
  }
  EXPECT_NE(RenderError("{% frobnicate %}").detail().find("unknown tag 'frobnicate'"),
            std::string::npos);
}

TEST(Globals, RangeDictNamespaceJoinerStrftime) {
  EXPECT_EQ(Render("{{ range(5) | list }}{{ range(1, 10, 3) | list }}{{ range(5, 0, -2) | list }}"),
            "[0, 1, 2, 3, 4][1, 4, 7][5, 3, 1]");
  EXPECT_EQ(Render("{{ dict(a=1, b=2) }}{{ namespace(x=1).x }}{{ namespace({'y': 2}).y }}"),
            "{'a': 1, 'b': 2}12");
  EXPECT_EQ(Render("{% set j = joiner(', ') %}{% for x in xs %}{{ j() }}{{ x }}{% endfor %}", kXs),
            "1, 2, 3, 4");
  EXPECT_EQ(Render("{{ strftime_now('%Y-%m-%d %b %B %A %d') }}"), "2024-07-26 Jul July Friday 26");
  EXPECT_EQ(Render("{{ strftime_now('%d %b %Y') }}"), "26 Jul 2024");
}

TEST(Globals, ContextVariablesShadowGlobals) {
  EXPECT_EQ(Render("{{ range }}", R"({"range": "mine"})"), "mine");
  EXPECT_EQ(Render("{% if strftime_now is defined %}yes{% endif %}"), "yes");
}

}  // namespace
}  // namespace kiln::jinja
