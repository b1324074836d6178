// Methods of str, list and dict as Python defines them.
#include <gtest/gtest.h>

#include "render_helpers.h"

namespace kiln::jinja {
namespace {

using testing::Render;
using testing::RenderError;

TEST(StrMethods, SplitAndStrip) {
  EXPECT_EQ(Render("{{ 'a,b,,c'.split(',') }}{{ '  a  b  '.split() }}{{ 'a b c'.split(None, 1) }}"
                   "{{ 'a b c'.rsplit(' ', 1) }}{{ '  a b  '.rsplit(None, 1) }}"),
            "['a', 'b', '', 'c']['a', 'b']['a', 'b c']['a b', 'c']['  a', 'b']");
  EXPECT_EQ(
      Render("[{{ '  x '.strip() }}|{{ 'xxhixx'.strip('x') }}|{{ '\\n\\nhi\\n'.lstrip('\\n') }}"
             "|{{ 'hi \\t'.rstrip() }}|{{ '\u00a0x\u3000'.strip() }}]"),
      "[x|hi|hi\n|hi|x]");
  EXPECT_EQ(Render("{{ 'a\\nb\\r\\nc'.splitlines() }}{{ 'a\\nb\\n'.splitlines(true) }}"),
            "['a', 'b', 'c']['a\\n', 'b\\n']");
  EXPECT_EQ(RenderError("{{ 'a'.split('') }}").detail(), "empty separator");
  // Thinking-block surgery as chat templates do it.
  EXPECT_EQ(Render("{{ c.split('</think>')[-1].lstrip('\\n') }}|"
                   "{{ c.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') }}",
                   R"({"c": "<think>\nhmm\n</think>\n\nanswer"})"),
            "answer|hmm");
}

TEST(StrMethods, SearchAndCase) {
  EXPECT_EQ(
      Render(
          "{{ 'hello'.startswith('he') }}{{ 'hello'.endswith(('x', 'lo')) }}{{ 'hello'.find('l') }}"
          "{{ 'hello'.rfind('l') }}{{ 'hello'.count('l') }}{{ 'hello'.replace('l', 'L', 1) }}"
          "{{ 'héllo'.find('l') }}{{ 'hello'.find('z') }}{{ 'hello'.index('e') }}"),
      "TrueTrue232heLlo2-11");
  EXPECT_EQ(Render("{{ 'Hello'.upper() }}{{ 'ÉCOLE'.lower() }}{{ \"they're bill's\".title() }}"
                   "{{ 'hELLO wORLD'.capitalize() }}{{ 'Hello'.swapcase() }}"),
            "HELLOécoleThey'Re Bill'SHello worldhELLO");
  EXPECT_EQ(
      Render("{{ '12'.isdigit() }}{{ 'ab1'.isalpha() }}{{ 'ab1'.isalnum() }}{{ '   '.isspace() }}"
             "{{ 'Ab'.isupper() }}{{ 'ab'.islower() }}{{ ''.isdigit() }}"),
      "TrueFalseTrueTrueFalseTrueFalse");
  EXPECT_EQ(RenderError("{{ 'hello'.index('z') }}").detail(), "substring not found");
}

TEST(StrMethods, BuildingText) {
  EXPECT_EQ(Render("{{ '-'.join(['a', 'b']) }}{{ '{0}-{1}-{0}'.format('a', 'b') }}"
                   "{{ '{:>6}|{:<4}|{:^7}|{:.3f}|{:,}|{:08.2f}'.format('r', 'l', 'c', 3.14159, "
                   "1234567, -3.5) }}"),
            "a-ba-b-a     r|l   |   c   |3.142|1,234,567|-0003.50");
  EXPECT_EQ(Render("{{ '{name}: {n:d}'.format(name='x', n=3) }}{{ '{{}}{}'.format(1) }}"),
            "x: 3{}1");
  EXPECT_EQ(
      Render(
          "{{ 'abc'.zfill(5) }}{{ '-5'.zfill(4) }}{{ 'a'.center(4, '*') }}{{ 'ab'.ljust(4, '.') }}|"
          "{{ 'ab'.rjust(4) }}"),
      "00abc-005*a**ab..|  ab");
  EXPECT_EQ(Render("{{ 'a-b-c'.partition('-') }}{{ 'a-b-c'.rpartition('-') }}{{ "
                   "'prefix_x'.removeprefix('prefix_') }}"
                   "{{ 'x.txt'.removesuffix('.txt') }}"),
            "('a', '-', 'b-c')('a-b', '-', 'c')xx");
  EXPECT_EQ(RenderError("{{ '-'.join([1]) }}").detail(),
            "sequence item 0: expected str instance, int found");
}

TEST(ListMethods, MutationAndSearch) {
  EXPECT_EQ(
      Render(
          "{% set l = [1, 2] %}{% set _ = l.append(3) %}{{ l }}{{ l.pop() }}{{ l }}{{ l.index(2) }}"
          "{% set _ = l.insert(0, 9) %}{{ l }}{% set _ = l.extend([7, 8]) %}{{ l }}{{ l.count(7) }}"
          "{{ l.pop(0) }}{% set _ = l.remove(7) %}{{ l }}{% set _ = l.reverse() %}{{ l }}"),
      "[1, 2, 3]3[1, 2]1[9, 1, 2][9, 1, 2, 7, 8]19[1, 2, 8][8, 2, 1]");
  // A queue, as Kimi's template keeps one.
  EXPECT_EQ(Render("{% set q = namespace(ids=[]) %}{% set _ = q.ids.append('a') %}"
                   "{% set _ = q.ids.append('b') %}{{ q.ids.pop(0) }}{{ q.ids }}"),
            "a['b']");
  EXPECT_EQ(RenderError("{{ [].pop() }}").detail(), "pop from empty list");
  // A list may contain itself, as in Python; the render frees the cycle when it ends.
  EXPECT_EQ(Render("{% set l = [1] %}{{ l.append(l) }}{{ l[1][1][1][0] }}"), "None1");
}

TEST(DictMethods, AccessAndMutation) {
  EXPECT_EQ(
      Render(
          "{% set d = {'a': 1} %}{% set _ = d.update({'b': 2}) %}{{ d }}{{ d.get('c', 'none') }}"
          "{{ d.get('c') }}{{ d.pop('a') }}{{ d }}{{ d.setdefault('z', 0) }}{{ d.keys() | list }}"
          "{{ d.values() | list }}{{ d.items() | list }}"),
      "{'a': 1, 'b': 2}noneNone1{'b': 2}0['b', 'z'][2, 0][('b', 2), ('z', 0)]");
  // Re-setting a key keeps its position; insertion order is kept throughout.
  EXPECT_EQ(Render("{% set d = {'b': 1, 'a': 2} %}{% set _ = d.update(b=3, c=4) %}{{ d }}"),
            "{'b': 3, 'a': 2, 'c': 4}");
  EXPECT_EQ(RenderError("{{ {}.pop('x') }}").kind(), TemplateError::Kind::kRuntime);
  EXPECT_EQ(Render("{% set d = {} %}{% set _ = d.update({'me': d, 'get': d.get}) %}"
                   "{{ d.me.me is mapping }}{{ d.get('x', 1) }}"),
            "True1");
}

TEST(MarkupMethods, EscapeTheirArguments) {
  EXPECT_EQ(Render("{{ ('<b>{}</b>' | safe).format('<i>') }}|{{ ('a' | safe).replace('a', '<') }}"
                   "|{{ (', ' | safe).join(['<', '>']) }}"),
            "<b>&lt;i&gt;</b>|&lt;|&lt;, &gt;");
}

}  // namespace
}  // namespace kiln::jinja
