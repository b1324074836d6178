// Kiln's Jinja2 engine for chat templates. A Template is compiled once from source and rendered
// any number of times, from any number of threads, with a JSON context (messages, tools,
// add_generation_prompt, bos_token, ...). It renders as Hugging Face transformers does: Jinja2
// with trim_blocks, lstrip_blocks, loop controls, {% generation %}, raise_exception,
// strftime_now and a json.dumps-style tojson. It knows nothing of models.
#pragma once

#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "kiln/template/template_error.h"

namespace kiln::jinja {

struct Program;

struct CompileOptions {
  bool trim_blocks = true;  // as Hugging Face sets them
  bool lstrip_blocks = true;
};

// Bounds that keep a hostile template from hanging or exhausting memory. Exceeding one throws
// TemplateError with kind kLimit.
struct RenderLimits {
  size_t max_output_bytes = size_t{32} << 20;    // also the largest string a template may build
  uint64_t max_steps = 50'000'000;               // statements, expressions and elements processed
  int max_depth = 1500;                          // nesting of statements, expressions and calls
  size_t max_collection_size = size_t{1} << 22;  // items in one list or dict
};

struct RenderOptions {
  RenderLimits limits;
  // The local time strftime_now() formats. Unset: the system clock's local time.
  std::function<std::tm()> clock;
};

class Template {
 public:
  // Throws TemplateError (kSyntax) with the line and column of the first problem.
  static Template Compile(std::string_view source, const CompileOptions& options = {});

  // `context` must be a JSON object; its keys become the template's variables. Use ordered_json
  // where key order matters: templates print dicts (`tool | tojson`) in their key order, and
  // nlohmann::json sorts keys. Throws TemplateError; kRaised carries raise_exception's message.
  std::string Render(const nlohmann::ordered_json& context,
                     const RenderOptions& options = {}) const;
  std::string Render(const nlohmann::json& context, const RenderOptions& options = {}) const;

 private:
  explicit Template(std::shared_ptr<const Program> program) : program_(std::move(program)) {}

  std::shared_ptr<const Program> program_;
};

}  // namespace kiln::jinja
