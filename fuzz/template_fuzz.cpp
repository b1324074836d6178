// libFuzzer target `fuzz_template`: compiles arbitrary bytes as a chat template and renders it
// with a fixed chat context under tight limits. TemplateError is the expected outcome for most
// inputs; crashes, hangs, leaks and sanitizer reports are bugs.
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <nlohmann/json.hpp>
#include <string_view>

#include "kiln/template/template.h"

namespace {

const nlohmann::ordered_json& Context() {
  static const nlohmann::ordered_json kContext = nlohmann::ordered_json::parse(R"({
    "bos_token": "<s>", "eos_token": "</s>", "add_generation_prompt": true,
    "messages": [
      {"role": "system", "content": "You are helpful."},
      {"role": "user", "content": "Hi \"there\" <b>é🙂</b>\n"},
      {"role": "assistant", "content": "<think>\nhmm\n</think>\n\nHello", "reasoning_content": "r",
       "tool_calls": [{"id": "call_1", "type": "function",
                       "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]},
      {"role": "tool", "tool_call_id": "call_1", "content": "{\"temp\": 21}"},
      {"role": "user", "content": [{"type": "text", "text": "parts"}]}
    ],
    "tools": [{"type": "function", "function": {"name": "get_weather", "description": "d",
               "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                              "required": ["city"]}}}]
  })");
  return kContext;
}

kiln::jinja::RenderOptions Options() {
  kiln::jinja::RenderOptions options;
  options.limits.max_output_bytes = 1 << 20;
  options.limits.max_steps = 200'000;
  options.limits.max_depth = 300;
  options.limits.max_collection_size = 1 << 16;
  options.clock = [] {
    std::tm tm{};
    tm.tm_year = 124;
    tm.tm_mon = 6;
    tm.tm_mday = 26;
    return tm;
  };
  return options;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const kiln::jinja::RenderOptions kOptions = Options();
  const std::string_view source(reinterpret_cast<const char*>(data), size);
  try {
    const kiln::jinja::Template tmpl = kiln::jinja::Template::Compile(source);
    tmpl.Render(Context(), kOptions);
  } catch (const kiln::jinja::TemplateError&) {
    // Malformed, failing or over-limit templates are reported this way; that is fine.
  }
  return 0;
}
