// Python formatting of values and the JSON bridge, tested directly.
#include "kiln/template/value.h"

#include <gtest/gtest.h>

#include <cmath>

#include "kiln/template/py_format.h"
#include "kiln/template/template_error.h"
#include "kiln/template/value_json.h"

namespace kiln::jinja {
namespace {

TEST(FloatRepr, MatchesPython) {
  EXPECT_EQ(FloatRepr(1.0), "1.0");
  EXPECT_EQ(FloatRepr(0.1), "0.1");
  EXPECT_EQ(FloatRepr(-2.5), "-2.5");
  EXPECT_EQ(FloatRepr(1e16), "1e+16");
  EXPECT_EQ(FloatRepr(1e15), "1000000000000000.0");
  EXPECT_EQ(FloatRepr(123456789.125), "123456789.125");
  EXPECT_EQ(FloatRepr(0.0001), "0.0001");
  EXPECT_EQ(FloatRepr(0.00001), "1e-05");
  EXPECT_EQ(FloatRepr(1.5e-7), "1.5e-07");
  EXPECT_EQ(FloatRepr(1e300), "1e+300");
  EXPECT_EQ(FloatRepr(-0.0), "-0.0");
  EXPECT_EQ(FloatRepr(1.0 / 3), "0.3333333333333333");
  EXPECT_EQ(FloatRepr(INFINITY), "inf");
  EXPECT_EQ(FloatRepr(NAN), "nan");
}

TEST(StringRepr, ChoosesQuotesAndEscapesLikePython) {
  EXPECT_EQ(StringRepr("abc"), "'abc'");
  EXPECT_EQ(StringRepr("it's"), "\"it's\"");
  EXPECT_EQ(StringRepr("both ' \""), "'both \\' \"'");
  EXPECT_EQ(StringRepr("a\nb\t\\"), "'a\\nb\\t\\\\'");
  EXPECT_EQ(StringRepr("\x01\x7f"), "'\\x01\\x7f'");
  EXPECT_EQ(StringRepr("é🙂"), "'é🙂'");
  EXPECT_EQ(StringRepr("\xc2\xa0"), "'\\xa0'");  // NBSP is not printable
}

TEST(PercentFormat, Conversions) {
  EXPECT_EQ(PercentFormat(
                "%s|%r|%d|%5.2f|%-4d|%04d|%x|%X|%o|%e|%g|%%|%c",
                Value::NewTuple({Value::String("a"), Value::String("a"), Value::Float(3.9),
                                 Value::Float(3.14159), Value::Int(7), Value::Int(-7),
                                 Value::Int(255), Value::Int(255), Value::Int(8),
                                 Value::Float(12345.678), Value::Float(0.0001), Value::Int(65)})),
            "a|'a'|3| 3.14|7   |-007|ff|FF|10|1.234568e+04|0.0001|%|A");
  EXPECT_THROW(PercentFormat("%s %s", Value::NewTuple({Value::Int(1)})), TemplateError);
  EXPECT_THROW(PercentFormat("%s", Value::NewTuple({Value::Int(1), Value::Int(2)})), TemplateError);
  EXPECT_THROW(PercentFormat("%d", Value::String("x")), TemplateError);
}

TEST(Dict, KeepsInsertionOrderAndPythonKeyEquality) {
  Value d = Value::NewDict();
  d.dict().Set("b", Value::Int(1));
  d.dict().Set("a", Value::Int(2));
  d.dict().Set(Value::Int(1), Value::String("one"));
  d.dict().Set("b", Value::Int(3));
  EXPECT_EQ(Repr(d), "{'b': 3, 'a': 2, 1: 'one'}");
  // 1 == 1.0 == True as keys.
  ASSERT_NE(d.dict().Find(Value::Float(1.0)), nullptr);
  EXPECT_EQ(d.dict().Find(Value::Bool(true))->str(), "one");
  EXPECT_THROW(d.dict().Find(Value::NewList()), TemplateError);
  // Large dicts switch to an index and still find everything, in order.
  for (int i = 0; i < 100; ++i) d.dict().Set("k" + std::to_string(i), Value::Int(i));
  EXPECT_EQ(d.dict().Find("k77")->as_int(), 77);
  EXPECT_TRUE(d.dict().Erase(Value::String("k5")));
  EXPECT_EQ(d.dict().Find("k5"), nullptr);
  EXPECT_EQ(d.dict().Find("k99")->as_int(), 99);
  EXPECT_EQ(d.dict().entries()[3].first.str(), "k0");
}

TEST(Json, RoundTripsThroughPythonStyleDumps) {
  const auto json = nlohmann::ordered_json::parse(
      R"({"z": [1, 2.5, -0.0, 1e20, true, null], "a": {"s": "é\n\u0001\"\\"}, "u": 18446744073709551615})");
  const Value v = FromJson(json);
  EXPECT_EQ(
      ToJson(v, {}),
      R"({"z": [1, 2.5, -0.0, 1e+20, true, null], "a": {"s": "é\n\u0001\"\\"}, "u": 1.8446744073709552e+19})");
  JsonFormat ascii;
  ascii.ensure_ascii = true;
  EXPECT_EQ(ToJson(Value::String("é🙂"), ascii), R"("\u00e9\ud83d\ude42")");
  JsonFormat indented;
  indented.indent = "  ";
  EXPECT_EQ(ToJson(FromJson(nlohmann::ordered_json::parse(R"({"a": [1, {}], "b": []})")), indented),
            "{\n  \"a\": [\n    1,\n    {}\n  ],\n  \"b\": []\n}");
  // nlohmann::json (sorted keys) works too, in its own order.
  EXPECT_EQ(ToJson(FromJson(nlohmann::json::parse(R"({"b": 1, "a": 2})")), {}),
            R"({"a": 2, "b": 1})");
  EXPECT_THROW(ToJson(Value(), {}), TemplateError);
}

TEST(Values, TruthinessAndEquality) {
  EXPECT_FALSE(Truthy(Value()));
  EXPECT_FALSE(Truthy(Value::None()));
  EXPECT_FALSE(Truthy(Value::String("")));
  EXPECT_FALSE(Truthy(Value::NewList()));
  EXPECT_FALSE(Truthy(Value::Float(0.0)));
  EXPECT_TRUE(Truthy(Value::String("0")));
  EXPECT_TRUE(Equals(Value::Int(1), Value::Bool(true)));
  EXPECT_FALSE(Equals(Value::NewList({Value::Int(1)}), Value::NewTuple({Value::Int(1)})));
  EXPECT_TRUE(Equals(Value(), Value()));
  EXPECT_FALSE(Equals(Value(), Value::None()));
  EXPECT_LT(Compare(Value::String("a"), Value::String("b")), 0);
  EXPECT_THROW(Compare(Value::Int(1), Value::String("a")), TemplateError);
}

}  // namespace
}  // namespace kiln::jinja
