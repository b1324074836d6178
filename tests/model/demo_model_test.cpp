// The synthesized demo model: deterministic bytes, loads as a Model, and its trained BPE
// vocabulary round-trips text and knows the ChatML tokens and template.
#include "kiln/model/demo_model.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "kiln/gguf/gguf_file.h"
#include "kiln/model/model.h"
#include "kiln/tokenizer/tokenizer.h"

namespace kiln::model {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(DemoModel, IsDeterministicAndCachedInTheDataDirectory) {
  const std::string dir = ::testing::TempDir() + "kiln_demo_test";
  std::filesystem::remove_all(dir);
  const std::string path = EnsureDemoModel(dir);
  EXPECT_EQ(path, dir + "/kiln-demo.gguf");
  const std::string other = ::testing::TempDir() + "kiln_demo_again.gguf";
  WriteDemoModel(other);
  EXPECT_EQ(ReadAll(path), ReadAll(other));
  const auto written = std::filesystem::last_write_time(path);
  EXPECT_EQ(EnsureDemoModel(dir), path);  // reused, not rewritten
  EXPECT_EQ(std::filesystem::last_write_time(path), written);
  std::filesystem::remove_all(dir);
  std::filesystem::remove(other);
}

TEST(DemoModel, LoadsAndItsTokenizerRoundTrips) {
  const std::string path = ::testing::TempDir() + "kiln_demo_load.gguf";
  WriteDemoModel(path);
  const Model model = Model::Load(path);
  EXPECT_EQ(model.config().block_count, 4);
  EXPECT_EQ(model.config().embedding_length, 256);
  const auto tok = tokenizer::Tokenizer::FromGguf(model.file());
  EXPECT_EQ(static_cast<int>(tok->vocab().size()), model.config().vocab_size);

  for (const std::string text : {"Once upon a time, in a small village by the sea.",
                                 "Unseen wörds, digits 12345 and emoji 🙂 still round-trip\n"}) {
    const auto ids = tok->Encode(text);
    EXPECT_EQ(tok->Decode(ids), text);
  }
  // Trained merges make text from the training paragraph much shorter than its bytes.
  const std::string seen = "the village by the sea";
  EXPECT_LT(tok->Encode(seen).size() * 2, seen.size());

  const auto chat = tok->Encode("<|im_start|>user\nhi<|im_end|>", {.parse_special = true});
  ASSERT_GE(chat.size(), 3u);
  EXPECT_EQ(tok->vocab().pieces[chat.front()], "<|im_start|>");
  EXPECT_EQ(tok->vocab().pieces[chat.back()], "<|im_end|>");
  const auto& ends = tok->vocab().special.end_of_generation;
  EXPECT_NE(std::find(ends.begin(), ends.end(), chat.back()), ends.end());
  ASSERT_TRUE(tok->vocab().chat_template.has_value());
  EXPECT_NE(tok->vocab().chat_template->find("<|im_start|>"), std::string::npos);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace kiln::model
