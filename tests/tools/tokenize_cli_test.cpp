// `kiln tokenize` / `kiln detokenize` through the real binary, checked against the tokenizer oracle.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "tools/kiln_process.h"

namespace kiln {
namespace {

using testing::Quoted;
using testing::RunKiln;

const std::string kFixtures = KILN_FIXTURES_DIR;

std::string Model(const std::string& name) { return Quoted(kFixtures + "/models/" + name); }

TEST(TokenizeCliTest, MatchesOracleForEveryFlagCombination) {
  for (const auto& [oracle, model] : {std::pair{"tiny-llama", "tiny-llama-q8_0.gguf"},
                                      std::pair{"tiny-qwen2", "tiny-qwen2-q8_0.gguf"}}) {
    std::ifstream in(kFixtures + "/oracle/" + oracle + ".tokenize.json");
    auto cases = nlohmann::json::parse(in);
    int checked = 0;
    for (const auto& c : cases) {
      std::string text = c["text"];
      // Shell arguments cannot carry NUL bytes; those cases are covered by the library tests.
      if (text.empty() || text.find('\0') != std::string::npos) continue;
      std::string args = "tokenize " + Model(model) + " --json --text " + Quoted(text);
      if (!c["add_special"].get<bool>()) args += " --no-add-special";
      if (c["parse_special"].get<bool>()) args += " --parse-special";
      auto r = RunKiln(args);
      ASSERT_EQ(r.exit_code, 0) << args;
      std::vector<int> ids;
      for (const auto& t : nlohmann::json::parse(r.output)) ids.push_back(t["id"]);
      EXPECT_EQ(ids, c["ids"].get<std::vector<int>>()) << oracle << ": " << text;
      ++checked;
    }
    EXPECT_GT(checked, 100);
  }
}

TEST(TokenizeCliTest, DetokenizeInvertsTokenize) {
  auto r = RunKiln("tokenize " + Model("tiny-llama-q8_0.gguf") + " --text 'Hello world, café!'");
  ASSERT_EQ(r.exit_code, 0);
  auto back = RunKiln("detokenize " + Model("tiny-llama-q8_0.gguf") + " " + Quoted(r.output));
  ASSERT_EQ(back.exit_code, 0);
  EXPECT_EQ(back.output, "Hello world, café!\n");
}

TEST(TokenizeCliTest, BadInputsFailWithClearMessages) {
  auto missing = RunKiln("tokenize /nonexistent.gguf --text hi", true);
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.output.find("/nonexistent.gguf"), std::string::npos) << missing.output;

  auto bad_id = RunKiln("detokenize " + Model("tiny-qwen2-q8_0.gguf") + " 1,abc", true);
  EXPECT_NE(bad_id.exit_code, 0);
  EXPECT_NE(bad_id.output.find("'abc' is not a token id"), std::string::npos) << bad_id.output;

  auto out_of_range = RunKiln("detokenize " + Model("tiny-qwen2-q8_0.gguf") + " 99999999", true);
  EXPECT_NE(out_of_range.exit_code, 0);
  EXPECT_NE(out_of_range.output.find("99999999"), std::string::npos) << out_of_range.output;
}

}  // namespace
}  // namespace kiln
