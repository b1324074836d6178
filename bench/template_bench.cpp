// Chat-template costs per request: compiling (once per model) and rendering (once per request)
// real templates from the fixtures with conversations from python_renders.json.
#include <benchmark/benchmark.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "kiln/template/template.h"

namespace {

const std::string kTemplates = std::string(KILN_FIXTURES_DIR) + "/templates/";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

const nlohmann::ordered_json& Conversation(const std::string& name) {
  static const nlohmann::ordered_json kOracle = nlohmann::ordered_json::parse(
      ReadFile(std::string(KILN_TEMPLATE_TEST_DATA) + "/python_renders.json"));
  return kOracle["conversations"][name];
}

void BM_Compile(benchmark::State& state, const std::string& name) {
  const std::string source = ReadFile(kTemplates + name);
  for (auto _ : state) benchmark::DoNotOptimize(kiln::jinja::Template::Compile(source));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * source.size()));
}

void BM_Render(benchmark::State& state, const std::string& name, const std::string& conversation) {
  const auto tmpl = kiln::jinja::Template::Compile(ReadFile(kTemplates + name));
  const auto& context = Conversation(conversation);
  size_t bytes = 0;
  for (auto _ : state) {
    const std::string out = tmpl.Render(context);
    bytes += out.size();
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}

BENCHMARK_CAPTURE(BM_Compile, qwen2_5, std::string("Qwen-Qwen2.5-7B-Instruct.jinja"));
BENCHMARK_CAPTURE(BM_Compile, gpt_oss, std::string("openai-gpt-oss-120b.jinja"));
BENCHMARK_CAPTURE(BM_Render, qwen2_5_tools, std::string("Qwen-Qwen2.5-7B-Instruct.jinja"),
                  std::string("multi-tool"));
BENCHMARK_CAPTURE(BM_Render, llama3_1_simple, std::string("meta-llama-Llama-3.1-8B-Instruct.jinja"),
                  std::string("simple"));
BENCHMARK_CAPTURE(BM_Render, qwen3_tools, std::string("Qwen-Qwen3-0.6B.jinja"),
                  std::string("tools"));
BENCHMARK_CAPTURE(BM_Render, gpt_oss_tools, std::string("openai-gpt-oss-120b.jinja"),
                  std::string("tools"));
BENCHMARK_CAPTURE(BM_Render, gemma4_tools, std::string("google-gemma-4-31B-it.jinja"),
                  std::string("tools"));

}  // namespace

BENCHMARK_MAIN();
