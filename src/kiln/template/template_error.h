// TemplateError: what the template engine throws. It says whether the template is malformed
// (syntax), failed while rendering (runtime), called raise_exception (raised: the template's own
// message, usually a complaint about the conversation), or hit a resource limit.
#pragma once

#include <string>

#include "kiln/base/error.h"

namespace kiln::jinja {

class TemplateError : public Error {
 public:
  enum class Kind { kSyntax, kRuntime, kRaised, kLimit };

  // line and column are 1-based; 0 means unknown.
  TemplateError(Kind kind, std::string detail, int line = 0, int column = 0);

  Kind kind() const { return kind_; }
  // The message without location, e.g. exactly what the template passed to raise_exception.
  const std::string& detail() const { return detail_; }
  int line() const { return line_; }
  int column() const { return column_; }

 private:
  Kind kind_;
  std::string detail_;
  int line_;
  int column_;
};

}  // namespace kiln::jinja
