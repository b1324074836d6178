// Internal shorthands for throwing TemplateError from the engine. Runtime errors are thrown
// without a location; the interpreter adds the line of the statement being run.
#pragma once

#include <fmt/format.h>

#include "kiln/template/template_error.h"

namespace kiln::jinja {

template <typename... Args>
[[noreturn]] void RuntimeFail(fmt::format_string<Args...> format, Args&&... args) {
  throw TemplateError(TemplateError::Kind::kRuntime,
                      fmt::format(format, std::forward<Args>(args)...));
}

template <typename... Args>
[[noreturn]] void LimitFail(fmt::format_string<Args...> format, Args&&... args) {
  throw TemplateError(TemplateError::Kind::kLimit,
                      fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace kiln::jinja
