// kiln template render --template FILE --context FILE.json: renders a chat template with a JSON
// context and prints the result exactly (no trailing newline added).
#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "commands.h"
#include "kiln/base/error.h"
#include "kiln/template/template.h"

namespace kiln::cli {
namespace {

struct RenderFlags {
  std::string template_path;
  std::string context_path;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Fail("cannot open '{}'", path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void RunRender(const RenderFlags& flags) {
  const jinja::Template tmpl = jinja::Template::Compile(ReadFile(flags.template_path));
  nlohmann::ordered_json context = nlohmann::ordered_json::object();
  if (!flags.context_path.empty()) {
    const std::string text = ReadFile(flags.context_path);
    context = nlohmann::ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (context.is_discarded()) Fail("'{}' is not valid JSON", flags.context_path);
  }
  const std::string output = tmpl.Render(context);
  std::fwrite(output.data(), 1, output.size(), stdout);
}

}  // namespace

void RegisterTemplateCommands(CLI::App& app) {
  CLI::App* group = app.add_subcommand("template", "Work with chat templates");
  group->require_subcommand(1);
  auto flags = std::make_shared<RenderFlags>();
  CLI::App* render = group->add_subcommand("render", "Render a chat template with a JSON context");
  render->add_option("--template", flags->template_path, "Jinja2 template file")
      ->required()
      ->check(CLI::ExistingFile);
  render->add_option("--context", flags->context_path,
                     "JSON object with messages, tools, add_generation_prompt, bos_token, ...")
      ->check(CLI::ExistingFile);
  render->callback([flags] { RunRender(*flags); });
}

}  // namespace kiln::cli
