// kiln template render (MODEL | --template FILE) --context FILE.json: renders a chat template (a
// file, or the one a model serves with: its tokenizer.chat_template, or ChatML when it has none)
// with a JSON context and prints the result exactly (no trailing newline added).
#include <fmt/format.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "commands.h"
#include "kiln/base/error.h"
#include "kiln/gguf/gguf_file.h"
#include "kiln/server/openai/chat_template.h"
#include "kiln/template/template.h"
#include "kiln/tokenizer/vocab.h"
#include "model_path.h"

namespace kiln::cli {
namespace {

struct RenderFlags {
  std::string model;  // a GGUF file or kiln-demo: render the template the server would use
  std::string template_path;
  std::string context_path;
  std::string date;  // pins strftime_now(), e.g. 2024-07-26 or 2024-07-26T12:00:00
};

std::tm ParseDate(const std::string& text) {
  std::tm tm{};
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  const int n =
      std::sscanf(text.c_str(), "%d-%d-%dT%d:%d:%d", &year, &month, &day, &hour, &minute, &second);
  if (n != 3 && n != 6)
    Fail("--date must look like 2024-07-26 or 2024-07-26T12:00:00, not '{}'", text);
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  tm.tm_isdst = -1;
  std::tm normalized = tm;
  if (std::mktime(&normalized) == -1 || normalized.tm_mday != day ||
      normalized.tm_mon != month - 1) {
    Fail("--date '{}' is not a valid date", text);
  }
  return normalized;  // mktime fills in the weekday and day of the year
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Fail("cannot open '{}'", path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void RunRender(const RenderFlags& flags) {
  if (flags.model.empty() == flags.template_path.empty()) {
    Fail("give a MODEL or --template FILE, exactly one of them");
  }
  nlohmann::ordered_json context = nlohmann::ordered_json::object();
  if (!flags.context_path.empty()) {
    const std::string text = ReadFile(flags.context_path);
    context = nlohmann::ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (context.is_discarded()) Fail("'{}' is not valid JSON", flags.context_path);
  }
  jinja::RenderOptions options;
  if (!flags.date.empty()) {
    const std::tm date = ParseDate(flags.date);
    options.clock = [date] { return date; };
  }
  std::string output;
  if (!flags.model.empty()) {
    // The model's template with its BOS/EOS texts, exactly as `kiln serve` renders chats.
    const std::string path = ResolveModelPath(flags.model);
    const tokenizer::Vocab vocab = tokenizer::Vocab::FromGguf(gguf::GgufFile::Open(path));
    const auto chat = server::openai::ChatTemplate::ForVocab(vocab, flags.model);
    output = chat.RenderContext(std::move(context), options);
  } else {
    output = jinja::Template::Compile(ReadFile(flags.template_path)).Render(context, options);
  }
  std::fwrite(output.data(), 1, output.size(), stdout);
}

}  // namespace

void RegisterTemplateCommands(CLI::App& app) {
  CLI::App* group = app.add_subcommand("template", "Work with chat templates");
  group->require_subcommand(1);
  auto flags = std::make_shared<RenderFlags>();
  CLI::App* render = group->add_subcommand("render", "Render a chat template with a JSON context");
  render->add_option("model", flags->model,
                     "GGUF model file (or kiln-demo) whose chat template to render");
  render->add_option("--template", flags->template_path, "Jinja2 template file")
      ->check(CLI::ExistingFile);
  render
      ->add_option("--context", flags->context_path,
                   "JSON object with messages, tools, add_generation_prompt, bos_token, ...")
      ->check(CLI::ExistingFile);
  render->add_option("--date", flags->date,
                     "Pin the date strftime_now() sees, e.g. 2024-07-26 (default: now)");
  render->callback([flags] { RunRender(*flags); });
}

}  // namespace kiln::cli
