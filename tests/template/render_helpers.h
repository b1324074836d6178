// Shared helpers for the template tests: render a source string with a JSON context given as
// text, with strftime_now() pinned to 2024-07-26 12:00 as in the fixtures.
#pragma once

#include <gtest/gtest.h>

#include <ctime>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "kiln/template/template.h"

namespace kiln::jinja::testing {

inline std::tm FixedDate() {
  std::tm tm{};
  tm.tm_year = 2024 - 1900;
  tm.tm_mon = 6;  // July
  tm.tm_mday = 26;
  tm.tm_hour = 12;
  tm.tm_wday = 5;  // Friday
  tm.tm_yday = 207;
  return tm;
}

inline RenderOptions FixedDateOptions() {
  RenderOptions options;
  options.clock = [] { return FixedDate(); };
  return options;
}

inline std::string Render(std::string_view source, std::string_view context = "{}",
                          RenderOptions options = FixedDateOptions()) {
  return Template::Compile(source).Render(nlohmann::ordered_json::parse(context), options);
}

// Renders and returns the error; fails the test if rendering succeeds.
inline TemplateError RenderError(std::string_view source, std::string_view context = "{}",
                                 RenderOptions options = FixedDateOptions()) {
  try {
    const std::string out = Render(source, context, options);
    ADD_FAILURE() << "expected an error, rendered: " << out;
  } catch (const TemplateError& e) {
    return e;
  }
  return TemplateError(TemplateError::Kind::kRuntime, "no error");
}

}  // namespace kiln::jinja::testing
