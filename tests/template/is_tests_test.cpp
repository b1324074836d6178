// The `is` tests, with Python's notion of types.
#include <gtest/gtest.h>

#include "render_helpers.h"

namespace kiln::jinja {
namespace {

using testing::Render;
using testing::RenderError;

std::string Is(const std::string& expr) {
  return Render("{{ " + expr + " }}", R"({"xs": [1], "d": {}})");
}

TEST(IsTests, TypeTests) {
  EXPECT_EQ(Is("x is defined"), "False");
  EXPECT_EQ(Is("xs is defined"), "True");
  EXPECT_EQ(Is("x is undefined"), "True");
  EXPECT_EQ(Is("none is none"), "True");
  EXPECT_EQ(Is("'a' is string"), "True");
  EXPECT_EQ(Is("1 is string"), "False");
  EXPECT_EQ(Is("1 is number"), "True");
  EXPECT_EQ(Is("true is number"), "True");    // bool is an int in Python
  EXPECT_EQ(Is("true is integer"), "False");  // ...but Jinja2 excludes it here
  EXPECT_EQ(Is("1.0 is float"), "True");
  EXPECT_EQ(Is("1 is float"), "False");
  EXPECT_EQ(Is("true is boolean"), "True");
  EXPECT_EQ(Is("d is mapping"), "True");
  EXPECT_EQ(Is("xs is mapping"), "False");
  EXPECT_EQ(Is("xs is iterable"), "True");
  EXPECT_EQ(Is("'s' is iterable"), "True");
  EXPECT_EQ(Is("1 is iterable"), "False");
  EXPECT_EQ(Is("x is iterable"), "True");  // Jinja2's Undefined iterates as empty
  EXPECT_EQ(Is("d is sequence"), "True");
  EXPECT_EQ(Is("1 is sequence"), "False");
  EXPECT_EQ(Is("range is callable"), "True");
  EXPECT_EQ(Is("xs is callable"), "False");
}

TEST(IsTests, ValueTests) {
  EXPECT_EQ(Is("true is true"), "True");
  EXPECT_EQ(Is("1 is true"), "False");
  EXPECT_EQ(Is("false is false"), "True");
  EXPECT_EQ(Is("3 is odd"), "True");
  EXPECT_EQ(Is("4 is even"), "True");
  EXPECT_EQ(Is("9 is divisibleby 3"), "True");
  EXPECT_EQ(Is("9 is divisibleby(2)"), "False");
  EXPECT_EQ(Is("'a' is eq 'a'"), "True");
  EXPECT_EQ(Is("1 is equalto(1.0)"), "True");
  EXPECT_EQ(Is("1 is ne 2"), "True");
  EXPECT_EQ(Is("5 is gt(3)"), "True");
  EXPECT_EQ(Is("5 is ge 5"), "True");
  EXPECT_EQ(Is("5 is lt 5"), "False");
  EXPECT_EQ(Is("5 is le 5"), "True");
  EXPECT_EQ(Is("2 is in [1, 2]"), "True");
  EXPECT_EQ(Is("'b' is in 'abc'"), "True");
  EXPECT_EQ(Is("none is sameas none"), "True");
  EXPECT_EQ(Is("1 is sameas true"), "False");
  EXPECT_EQ(Is("'abc' is lower"), "True");
  EXPECT_EQ(Is("'ABC' is upper"), "True");
  EXPECT_EQ(Is("'Abc' is upper"), "False");
  EXPECT_EQ(Is("'<a>' | e is escaped"), "True");
  EXPECT_EQ(Is("'upper' is filter"), "True");
  EXPECT_EQ(Is("'odd' is test"), "True");
}

TEST(IsTests, NegationAndPrecedence) {
  EXPECT_EQ(Is("x is not defined"), "True");
  EXPECT_EQ(Is("none is not none"), "False");
  EXPECT_EQ(Is("not x is defined"), "True");
  EXPECT_EQ(Is("xs is defined and xs is not string"), "True");
  EXPECT_EQ(Is("'a' if xs is sequence else 'b'"), "a");
}

TEST(IsTests, Errors) {
  EXPECT_EQ(RenderError("{{ 'a' is odd }}").kind(), TemplateError::Kind::kRuntime);
  EXPECT_EQ(RenderError("{{ 1 is nosuch }}").kind(), TemplateError::Kind::kSyntax);
  EXPECT_EQ(RenderError("{{ 1 is divisibleby }}").kind(), TemplateError::Kind::kRuntime);
  EXPECT_EQ(RenderError("{{ 1 is divisibleby 0 }}").kind(), TemplateError::Kind::kRuntime);
}

}  // namespace
}  // namespace kiln::jinja
