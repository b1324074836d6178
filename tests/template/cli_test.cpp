// `kiln template render`: the CLI prints exactly what the library renders.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs a command and returns its standard output and exit status.
std::pair<std::string, int> RunCommand(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return {"", -1};
  std::array<char, 4096> buffer;
  size_t n = 0;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) out.append(buffer.data(), n);
  return {out, pclose(pipe)};
}

TEST(TemplateCli, RendersATemplateWithAContextFile) {
  const auto oracle = nlohmann::ordered_json::parse(
      ReadFile(std::string(KILN_TEST_DATA_DIR) + "/python_renders.json"));
  const std::string context_path = ::testing::TempDir() + "/kiln_template_cli_context.json";
  std::ofstream(context_path) << oracle["conversations"]["tools"].dump();
  std::string expected;
  for (const auto& render : oracle["renders"]) {
    if (render["template"] == "meta-llama-Llama-3.1-8B-Instruct.jinja" &&
        render["conversation"] == "tools") {
      expected = render["output"].get<std::string>();
    }
  }
  ASSERT_FALSE(expected.empty());
  const std::string templ =
      std::string(KILN_FIXTURES_DIR) + "/templates/meta-llama-Llama-3.1-8B-Instruct.jinja";
  const auto [out, status] =
      RunCommand(std::string(KILN_BINARY) + " template render --template '" + templ +
                 "' --context '" + context_path + "' --date 2024-07-26");
  EXPECT_EQ(status, 0);
  EXPECT_EQ(out, expected);
}

TEST(TemplateCli, ReportsTemplateErrorsWithStatusOne) {
  const std::string path = ::testing::TempDir() + "/kiln_template_cli_bad.jinja";
  std::ofstream(path) << "{{ raise_exception('no thanks') }}";
  const auto [out, status] =
      RunCommand(std::string(KILN_BINARY) + " template render --template '" + path + "' 2>&1");
  EXPECT_NE(status, 0);
  EXPECT_NE(out.find("no thanks"), std::string::npos) << out;
}

}  // namespace

TEST(TemplateCli, RendersTheTemplateOfAModel) {
  // tiny-llama carries Phi-3's template, which starts with {{ bos_token }}: the model's "<s>".
  const std::string context_path = ::testing::TempDir() + "/kiln_template_cli_model.json";
  std::ofstream(context_path)
      << R"({"messages": [{"role": "user", "content": "Hi"}], "add_generation_prompt": true})";
  const std::string model = std::string(KILN_FIXTURES_DIR) + "/models/tiny-llama-q8_0.gguf";
  const auto [out, status] = RunCommand(std::string(KILN_BINARY) + " template render '" + model +
                                        "' --context '" + context_path + "'");
  EXPECT_EQ(status, 0);
  EXPECT_EQ(out, "<s><|user|>\nHi<|end|>\n<|assistant|>\n");
}

TEST(TemplateCli, NeedsExactlyOneOfModelAndTemplate) {
  const auto [out, status] = RunCommand(std::string(KILN_BINARY) + " template render 2>&1");
  EXPECT_NE(status, 0);
  EXPECT_NE(out.find("exactly one"), std::string::npos) << out;
}
