// The builtin filters, with the outputs Python Jinja2 gives.
#include <gtest/gtest.h>

#include "render_helpers.h"

namespace kiln::jinja {
namespace {

using testing::Render;
using testing::RenderError;

constexpr const char* kCtx = R"({"xs": [1, 2, 3, 4], "d": {"z": 1, "y": 2},
    "msgs": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]})";

TEST(Filters, Strings) {
  EXPECT_EQ(
      Render(
          "{{ '  x y  ' | trim }}|{{ 'xxhixx' | trim('x') }}|{{ 'aB' | upper }}{{ 'aB' | lower }}"
          "|{{ 'hELLO wORLD' | capitalize }}|{{ 'hello world-foo (bar)' | title }}"),
      "x y|hi|ABab|Hello world|Hello World-Foo (Bar)");
  EXPECT_EQ(Render("{{ 'hello' | center(11) }}|{{ 'Hello World' | wordcount }}|"
                   "{{ 'a-b-a' | replace('a', 'X') }}|{{ 'a-b-a' | replace('a', 'X', 1) }}"),
            "   hello   |2|X-b-X|X-b-a");
  EXPECT_EQ(Render("{{ 'The quick brown fox jumps' | truncate(15) }}|"
                   "{{ 'The quick brown fox' | truncate(10, true) }}|{{ 'abc' | truncate(5) }}"),
            "The quick...|The qui...|abc");
  EXPECT_EQ(Render("{{ 'x' | string | length }}{{ 12 | string + 'a' }}{{ none | string }}"
                   "{{ [1, 'a'] | string }}"),
            "112aNone[1, 'a']");
  EXPECT_EQ(Render("{{ '%s-%s' | format('a', 1) }}|{{ '%(k)s' | format(k='v') }}"), "a-1|v");
}

TEST(Filters, Indent) {
  EXPECT_EQ(Render("{{ 'a\\nb\\n\\nc' | indent(4) }}"), "a\n    b\n\n    c");
  EXPECT_EQ(Render("{{ 'a\\nb' | indent('> ', true) }}"), "> a\n> b");
  EXPECT_EQ(Render("{{ 'a\\n\\nb' | indent(2, true, true) }}"), "  a\n  \n  b");
  EXPECT_EQ(Render("{{ 'a\\nb\\n' | indent(2) }}"), "a\n  b\n");
}

TEST(Filters, ToJsonIsPythonJsonDumps) {
  EXPECT_EQ(Render(R"({{ {'a': 1} | tojson }}{{ [1.0, 2.5, 'xé\n"<>&', none, true] | tojson }})"),
            R"({"a": 1}[1.0, 2.5, "xé\n\"<>&", null, true])");
  EXPECT_EQ(Render("{{ {'b': [1, {'c': []}], 'a': {}} | tojson(indent=2) }}"),
            "{\n  \"b\": [\n    1,\n    {\n      \"c\": []\n    }\n  ],\n  \"a\": {}\n}");
  EXPECT_EQ(Render("{{ {'b': 1, 'a': 2} | tojson(sort_keys=true) }}"), R"({"a": 2, "b": 1})");
  EXPECT_EQ(Render("{{ {'k': 'é'} | tojson(ensure_ascii=true) }}"), R"({"k": "\u00e9"})");
  EXPECT_EQ(Render("{{ [1, 2] | tojson(separators=(',', ':')) }}"), "[1,2]");
  // Dicts keep the insertion order of the context.
  EXPECT_EQ(Render("{{ t | tojson }}", R"({"t": {"type": "function", "name": "f", "a": [1]}})"),
            R"({"type": "function", "name": "f", "a": [1]})");
  EXPECT_EQ(RenderError("{{ missing | tojson }}").detail(),
            "Object of type Undefined is not JSON serializable");
}

TEST(Filters, FromJson) {
  EXPECT_EQ(Render(R"({{ ('{"b": [1, 2.5], "a": null}' | from_json).b[1] }})"), "2.5");
  EXPECT_EQ(RenderError("{{ '{bad' | from_json }}").kind(), TemplateError::Kind::kRuntime);
}

TEST(Filters, Numbers) {
  EXPECT_EQ(
      Render("{{ '42' | int }} {{ '4.7' | int }} {{ 'x' | int(7) }} {{ '0x1A' | int(base=16) }}"
             " {{ '3.5' | float }} {{ 'x' | float }} {{ 5 | float }} {{ true | int }}"),
      "42 4 7 26 3.5 0.0 5.0 1");
  EXPECT_EQ(
      Render(
          "{{ 2.5 | round }} {{ 3.5 | round }} {{ 2.675 | round(2) }} {{ 2.1 | round(0, 'ceil') }}"
          " {{ 2.9 | round(0, 'floor') }} {{ 10 | round(-1) }} {{ 1234.5678 | round(-2) }}"),
      "2.0 4.0 2.67 3.0 2.0 10 1200.0");
  EXPECT_EQ(Render("{{ -1.5 | abs }} {{ -3 | abs }}"), "1.5 3");
}

TEST(Filters, DefaultAndLength) {
  EXPECT_EQ(
      Render("{{ none | default('d') }}{{ missing | default('d') }}{{ '' | default('d', true) }}"
             "{{ 0 | d(5, boolean=true) }}{{ missing | d }}"),
      "Nonedd5");
  EXPECT_EQ(
      Render("{{ d | length }}{{ 'héllo' | length }}{{ xs | count }}{{ missing | length }}", kCtx),
      "2540");
  EXPECT_EQ(RenderError("{{ 5 | length }}").detail(), "object of type 'int' has no len()");
}

TEST(Filters, Sequences) {
  EXPECT_EQ(
      Render("{{ d | items | list }}{{ d | list }}{{ 'abc' | list }}{{ xs | first }}{{ xs | last }}"
             "{{ 'abc' | first }}{{ [] | first }}",
             kCtx),
      "[('z', 1), ('y', 2)]['z', 'y']['a', 'b', 'c']14a");
  EXPECT_EQ(Render("{{ xs | join(', ') }}|{{ msgs | join('|', attribute='role') }}|{{ [1, none, "
                   "'x'] | join }}",
                   kCtx),
            "1, 2, 3, 4|user|assistant|1Nonex");
  EXPECT_EQ(Render("{{ xs | reverse | list }}{{ 'abc' | reverse }}{{ xs | sum }}{{ [[1], [2]] | "
                   "sum(start=[]) }}"
                   "{{ msgs | sum(attribute='content') if false else '' }}",
                   kCtx),
            "[4, 3, 2, 1]cba10[1, 2]");
  EXPECT_EQ(
      Render("{{ [1, 2, 3] | min }}{{ [1, 2, 3] | max }}{{ ['b', 'A'] | min }}[{{ [] | max }}]"
             "{{ [1, 2, 3, 4, 5] | batch(2) | list }}{{ [1, 2, 3] | batch(2, 0) | list }}"),
      "13A[][[1, 2], [3, 4], [5]][[1, 2], [3, 0]]");
}

TEST(Filters, SliceAndGroupBy) {
  EXPECT_EQ(
      Render(
          "{{ [1, 2, 3, 4, 5, 6, 7] | slice(3) | list }}{{ [1, 2, 3, 4] | slice(3, 'x') | list }}"),
      "[[1, 2, 3], [4, 5], [6, 7]][[1, 2], [3, 'x'], [4, 'x']]");
  constexpr const char* kRows =
      R"({"xs": [{"t": "b", "n": 1}, {"t": "a", "n": 2}, {"t": "B", "n": 3}, {"n": 4, "t": "a"}]})";
  EXPECT_EQ(Render("{% for k, items in xs | groupby('t') %}{{ k }}:{{ items | map(attribute='n') | "
                   "join(',') }};{% endfor %}",
                   kRows),
            "a:2,4;b:1,3;");
  EXPECT_EQ(Render("{% for k, items in xs | groupby('t', case_sensitive=true) %}{{ k }}:{{ items | "
                   "length }};"
                   "{% endfor %}",
                   kRows),
            "B:1;a:2;b:1;");
}

TEST(Filters, Sorting) {
  EXPECT_EQ(
      Render(
          "{{ [3, 1, 2] | sort }}{{ ['b', 'A', 'c'] | sort }}{{ ['b', 'A', 'c'] | "
          "sort(case_sensitive=true) }}"
          "{{ [{'n': 2}, {'n': 1}] | sort(attribute='n') }}{{ [1, 2, 3] | sort(reverse=true) }}"),
      "[1, 2, 3]['A', 'b', 'c']['A', 'b', 'c'][{'n': 1}, {'n': 2}][3, 2, 1]");
  EXPECT_EQ(Render("{{ d | dictsort(by='value', reverse=true) }}{{ {'B': 1, 'a': 2} | dictsort }}"
                   "{{ {'B': 1, 'a': 2} | dictsort(true) }}",
                   kCtx),
            "[('y', 2), ('z', 1)][('a', 2), ('B', 1)][('B', 1), ('a', 2)]");
  EXPECT_EQ(
      Render("{{ ['a', 'A', 'b', 'a'] | unique | list }}{{ ['a', 'A'] | unique(true) | list }}"),
      "['a', 'b']['a', 'A']");
  EXPECT_EQ(RenderError("{{ [3, 'a'] | sort }}").detail(),
            "'<' not supported between instances of 'str' and 'int'");
}

TEST(Filters, MapSelectReject) {
  EXPECT_EQ(
      Render("{{ [1, 2, 3, 4] | select('odd') | list }}{{ [1, 2, 3] | reject('even') | list }}"
             "{{ [0, 1, '', 'a'] | select | list }}{{ [1, 2, 3] | map('string') | join('-') }}"),
      "[1, 3][1, 3][1, 'a']1-2-3");
  EXPECT_EQ(
      Render("{{ msgs | map(attribute='role') | list }}{{ msgs | map(attribute='x', default='-') | "
             "list }}"
             "{{ msgs | selectattr('role', 'equalto', 'user') | map(attribute='content') | list }}"
             "{{ msgs | rejectattr('role', 'in', ['user']) | list | length }}",
             kCtx),
      "['user', 'assistant']['-', '-']['hi']1");
  EXPECT_EQ(Render("{{ [{'a': 1}, {'a': 0}, {}] | selectattr('a') | list }}{{ none | "
                   "selectattr('a') | list }}"
                   "{{ ['a', 'b'] | map('upper') | list }}{{ [' a '] | map('trim') | first }}"),
            "[{'a': 1}][]['A', 'B']a");
  EXPECT_EQ(Render("{{ [{'a': {'b': 5}}] | map(attribute='a.b') | list }}{{ [[7, 8]] | "
                   "map(attribute=1) | list }}"),
            "[5][8]");
}

TEST(Filters, AttrEscapeSafe) {
  EXPECT_EQ(Render("{{ (d | attr('keys'))() | list }}[{{ d | attr('z') }}]", kCtx), "['z', 'y'][]");
  EXPECT_EQ(
      Render(
          "{{ '<a>' | e }}{{ '<a>' | safe }}{{ '<a>' | e | e }}{{ '<a>' | safe | forceescape }}"),
      "&lt;a&gt;<a>&lt;a&gt;&lt;a&gt;");
}

TEST(Filters, UnknownFilters) {
  // Outside an if block an unknown filter is a compile error, as in Jinja2...
  EXPECT_EQ(RenderError("{{ x | nosuch }}").kind(), TemplateError::Kind::kSyntax);
  // ...inside one it only fails if it runs.
  EXPECT_EQ(Render("{% if false %}{{ x | nosuch }}{% endif %}ok"), "ok");
  EXPECT_EQ(RenderError("{% if true %}{{ x | nosuch }}{% endif %}").detail(),
            "no filter named 'nosuch'");
}

}  // namespace
}  // namespace kiln::jinja
