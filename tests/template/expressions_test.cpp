// Expressions: operators and their precedence, comparisons, logic, attribute and item lookup,
// slicing, calls, and how values print (Python's str/repr).
#include <gtest/gtest.h>

#include "render_helpers.h"

namespace kiln::jinja {
namespace {

using testing::Render;
using testing::RenderError;

constexpr const char* kCtx = R"({"xs": [1, 2, 3, 4], "s": "abc", "d": {"z": 1, "y": 2},
                                 "m": {"role": "u", "content": "c"}})";

TEST(Operators, ArithmeticFollowsPython) {
  EXPECT_EQ(
      Render("{{ 1 + 2 * 3 ** 2 }} {{ 2 ** 3 ** 2 }} {{ -2 ** 2 }} {{ 7 // -2 }} {{ -7 % 3 }}"),
      "19 64 4 -4 2");
  EXPECT_EQ(Render("{{ 7.5 // 2 }} {{ 1 / 3 }} {{ 10 / 2 }} {{ 2 ** -1 }} {{ -7.5 % 2 }}"),
            "3.0 0.3333333333333333 5.0 0.5 0.5");
  EXPECT_EQ(Render("{{ 0.1 + 0.2 }} {{ 1 + true }} {{ 3 * 1.5 }}"), "0.30000000000000004 2 4.5");
  EXPECT_EQ(
      Render("{{ xs + [5] }}{{ (1, 2) + (3,) }}{{ 'ab' * 3 }}{{ [0] * 3 }}{{ 3 * 'x' }}", kCtx),
      "[1, 2, 3, 4, 5](1, 2, 3)ababab[0, 0, 0]xxx");
  EXPECT_EQ(Render("{{ 'a' ~ 1 ~ none ~ true ~ missing }}"), "a1NoneTrue");
  EXPECT_EQ(
      Render("{{ '%s is %d years' % ('Bob', 30) }}|{{ '%(a)s-%(b)05.1f' % {'a': 'x', 'b': 2.25} }}"
             "|{{ '%5s|%-5s|%x' % ('a', 'b', 255) }}|{{ '%s' % 'one' }}"),
      "Bob is 30 years|x-002.2|    a|b    |ff|one");
}

TEST(Operators, ArithmeticErrors) {
  EXPECT_EQ(RenderError("{{ 1 / 0 }}").detail(), "division by zero");
  EXPECT_EQ(RenderError("{{ 1 // 0 }}").detail(), "integer division or modulo by zero");
  EXPECT_EQ(RenderError("{{ 'a' + 1 }}").detail(), "can only concatenate str (not \"int\") to str");
  EXPECT_EQ(RenderError("{{ missing + 1 }}").detail(), "'missing' is undefined");
  EXPECT_EQ(RenderError("{{ -'a' }}").detail(), "bad operand type for unary -: 'str'");
  EXPECT_EQ(RenderError("{{ 9223372036854775807 + 1 }}").kind(), TemplateError::Kind::kRuntime);
}

TEST(Operators, ComparisonsAndLogic) {
  EXPECT_EQ(Render("{{ 1 < 2 < 3 }}{{ 3 > 2 > 2 }}{{ 1 == 1.0 }}{{ 'a' in 'abc' }}{{ 2 not in xs }}"
                   "{{ 'z' in d }}",
                   kCtx),
            "TrueFalseTrueTrueFalseTrue");
  EXPECT_EQ(
      Render("{{ [1, 2] == [1, 2] }}{{ [1] == (1,) }}{{ {'a': 1} == {'a': 1.0} }}{{ 'b' > 'a' }}"
             "{{ [1, 2] < [1, 3] }}{{ none == none }}{{ missing == none }}"),
      "TrueFalseTrueTrueTrueTrueFalse");
  EXPECT_EQ(
      Render("{{ true and 'x' }}{{ false or 'y' }}{{ 0 or none }}{{ not none }}{{ 1 and 0 }}"),
      "xyNoneTrue0");
  EXPECT_EQ(RenderError("{{ 1 < 'a' }}").detail(),
            "'<' not supported between instances of 'int' and 'str'");
  EXPECT_EQ(RenderError("{{ 1 in 'abc' }}").detail(),
            "'in <string>' requires string as left operand, not int");
}

TEST(Operators, PrecedenceOfFiltersTestsAndUnary) {
  // Filters and tests bind tighter than arithmetic; unary minus applies before a filter.
  EXPECT_EQ(
      Render("{{ 1 + 2 is odd }} {{ -2 | abs }} {{ not xs | length }} {{ xs | length > 3 }}", kCtx),
      "1 2 False True");
  EXPECT_EQ(Render("{{ 'x' if false else 'y' if true else 'z' }} [{{ 'x' if false }}]"), "y []");
  EXPECT_EQ(Render("{{ not 1 == 2 }} {{ (1, 2) }} {{ 1, 'a' }}"), "True (1, 2) (1, 'a')");
}

TEST(Lookup, AttributesFallBackToItemsAndMissesAreUndefined) {
  EXPECT_EQ(Render("{{ m.role }}{{ m['content'] }}{{ m.get('role') }}{{ m.items() | list }}", kCtx),
            "ucu[('role', 'u'), ('content', 'c')]");
  EXPECT_EQ(Render("[{{ none.x }}|{{ d.missing }}|{{ xs.missing }}|{{ xs[10] }}|{{ s.x }}]", kCtx),
            "[||||]");
  // Methods win over keys for attribute syntax, keys win for item syntax.
  EXPECT_EQ(Render("{{ d['items'] }} {{ d.items is callable }}", R"({"d": {"items": 3}})"),
            "3 True");
  EXPECT_EQ(Render("{{ xs[-1] }}{{ xs[0] }}{{ 'héllo'[1] }}{{ xs.0 }}", kCtx), "41é1");
  // ...but anything looked up on an undefined value fails.
  EXPECT_EQ(RenderError("{{ d.missing.x }}", kCtx).detail(),
            "'dict object' has no attribute 'missing'");
  EXPECT_EQ(RenderError("{{ nothing.x }}").detail(), "'nothing' is undefined");
  EXPECT_EQ(RenderError("{{ nothing[0] }}").detail(), "'nothing' is undefined");
  // The sandbox hides private attributes.
  EXPECT_EQ(Render("[{{ s.__class__ }}]", kCtx), "[]");
}

TEST(Lookup, Slicing) {
  EXPECT_EQ(Render("{{ xs[1:3] }}{{ xs[::-1] }}{{ xs[-2:] }}{{ s[::2] }}{{ 'héllo'[1:3] }}"
                   "{{ xs[:-1] }}{{ xs[10:] }}{{ xs[::2] }}{{ (1, 2, 3)[1:] }}{{ 'héllo'[::-1] }}",
                   kCtx),
            "[2, 3][4, 3, 2, 1][3, 4]acél[1, 2, 3][][1, 3](2, 3)olléh");
  EXPECT_EQ(RenderError("{{ xs[::0] }}", kCtx).detail(), "slice step cannot be zero");
  EXPECT_EQ(RenderError("{{ n[1:] }}", R"({"n": 5})").detail(),
            "'int' object is not subscriptable");
}

TEST(Lookup, CallsWithKeywordsAndStarArgs) {
  EXPECT_EQ(
      Render(
          "{{ 'a-b-c'.split('-', maxsplit=1) }}{{ dict(**{'k': 1}) }}{{ range(*[1, 3]) | list }}"),
      "['a', 'b-c']{'k': 1}[1, 2]");
  EXPECT_EQ(RenderError("{{ missing() }}").detail(), "'missing' is undefined");
  EXPECT_EQ(RenderError("{{ 'abc'() }}").detail(), "'str' object is not callable");
}

TEST(Printing, ValuesPrintAsPythonStr) {
  EXPECT_EQ(Render("{{ [1, 'a', none, true, 1.0, {'k': (1,)}, (1, 2)] }}"),
            "[1, 'a', None, True, 1.0, {'k': (1,)}, (1, 2)]");
  EXPECT_EQ(
      Render("{{ 1e100 }} {{ 0.000001 }} {{ 123456789.123 }} {{ -0.0 }} {{ 1e16 }} {{ 1e15 }}"),
      "1e+100 1e-06 123456789.123 -0.0 1e+16 1000000000000000.0");
  EXPECT_EQ(
      Render(
          R"({{ "it's" }}{{ ['it\'s', 'say "hi"', 'both \' "', 'tab\there', 'nl\n', 'é 🙂'] }})"),
      R"(it's["it's", 'say "hi"', 'both \' "', 'tab\there', 'nl\n', 'é 🙂'])");
  EXPECT_EQ(Render("{{ none }}|{{ missing }}|{{ [missing] }}|{{ true }}"),
            "None||[Undefined]|True");
  EXPECT_EQ(Render("{% macro m() %}{% endmacro %}{{ m }}|{{ namespace(a=1) }}"),
            "<Macro 'm'>|<Namespace {'a': 1}>");
  EXPECT_EQ(Render("{% for x in [1, 2] %}{{ loop }}{% endfor %}"),
            "<LoopContext 1/2><LoopContext 2/2>");
}

TEST(Printing, MarkupEscapesWhatIsAddedToIt) {
  EXPECT_EQ(Render(R"({{ 'a&b<c>"d\'e' | e }})"), "a&amp;b&lt;c&gt;&#34;d&#39;e");
  EXPECT_EQ(Render("{{ '<b>' | safe + '<i>' }}{{ '<x>' + '<b>' | safe }}{{ ('%s' | safe) % '<y>' }}"
                   "{{ '<a>' | safe | upper + '&' }}"),
            "<b>&lt;i&gt;&lt;x&gt;<b>&lt;y&gt;<A>&amp;");
  // `~` and plain strings never escape.
  EXPECT_EQ(Render("{{ '<b>' | safe ~ '<i>' }}{{ '<i>' }}"), "<b><i><i>");
}

}  // namespace
}  // namespace kiln::jinja
