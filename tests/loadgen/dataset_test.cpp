#include "kiln/loadgen/dataset.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "kiln/base/error.h"

namespace kiln::loadgen {
namespace {

std::int64_t CountWords(const std::string& s) {
  std::istringstream in(s);
  std::string w;
  std::int64_t n = 0;
  while (in >> w) ++n;
  return n;
}

TEST(SyntheticPrompts, SeededLengthsWithinRangeAndReproducible) {
  SyntheticOptions o{
      .count = 50, .input_len = 100, .output_len = 20, .range_ratio = 0.5, .seed = 7};
  const auto a = MakeSyntheticPrompts(o, {});
  const auto b = MakeSyntheticPrompts(o, {});
  ASSERT_EQ(a.size(), 50u);
  bool varied = false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].prompt, b[i].prompt);
    EXPECT_GE(a[i].prompt_tokens, 50);
    EXPECT_LE(a[i].prompt_tokens, 150);
    EXPECT_GE(a[i].output_len, 10);
    EXPECT_LE(a[i].output_len, 30);
    // Without a tokenizer: 0.75 words per token.
    EXPECT_EQ(CountWords(a[i].prompt), std::llround(0.75 * a[i].prompt_tokens));
    varied = varied || a[i].prompt_tokens != a[0].prompt_tokens;
  }
  EXPECT_TRUE(varied);
  o.seed = 8;
  EXPECT_NE(MakeSyntheticPrompts(o, {})[0].prompt, a[0].prompt);
}

TEST(SyntheticPrompts, TokenCounterGivesExactLengths) {
  // A tokenizer in which every word is two tokens, plus one for the start.
  int calls = 0;
  TokenCounter counter = [&](const std::string& text) {
    ++calls;
    return 2 * CountWords(text) + 1;
  };
  const auto p = MakeSyntheticPrompts({.count = 5, .input_len = 41, .output_len = 8}, counter);
  for (const auto& x : p) {
    EXPECT_EQ(x.prompt_tokens, 41);
    EXPECT_EQ(counter(x.prompt), 41);
  }
  EXPECT_LT(calls, 5 * 8 + 10);
}

TEST(SyntheticPrompts, SharedPrefixStartsEveryPrompt) {
  const auto p = MakeSyntheticPrompts(
      {.count = 3, .input_len = 20, .output_len = 4, .shared_prefix_len = 40, .seed = 3}, {});
  const std::string prefix = p[0].prompt.substr(0, p[0].prompt.find('\n') + 1);
  EXPECT_EQ(CountWords(prefix), 30);
  for (const auto& x : p) {
    EXPECT_EQ(x.prompt.rfind(prefix, 0), 0u);
    EXPECT_EQ(x.prompt_tokens, 60);
  }
  EXPECT_NE(p[0].prompt, p[1].prompt);
}

TEST(JsonlPrompts, PromptsMessagesAndBadLines) {
  const auto path = std::filesystem::temp_directory_path() / "kiln_loadgen_dataset.jsonl";
  {
    std::ofstream out(path);
    out << R"({"prompt": "hello there", "output_len": 5})"
        << "\n\n"
        << R"({"messages": [{"role": "user", "content": "hi"}]})"
        << "\n";
  }
  const auto p = LoadJsonlPrompts(path.string(), 64);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].prompt, "hello there");
  EXPECT_EQ(p[0].output_len, 5);
  EXPECT_EQ(p[1].messages[0]["content"], "hi");
  EXPECT_EQ(p[1].output_len, 64);
  {
    std::ofstream out(path);
    out << R"({"prompt": "ok"})"
        << "\n"
        << R"({"output_len": 3})"
        << "\n";
  }
  try {
    LoadJsonlPrompts(path.string(), 8);
    FAIL() << "a line without prompt or messages must be rejected";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(":2:"), std::string::npos) << e.what();
  }
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace kiln::loadgen
