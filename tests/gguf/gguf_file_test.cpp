#include "kiln/gguf/gguf_file.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "kiln/base/error.h"

namespace kiln::gguf {
namespace {

const std::string kModels = std::string(KILN_FIXTURES_DIR) + "/models/";

TEST(GgufFileTest, ReadsTinyLlamaMetadataAndTensors) {
  GgufFile f = GgufFile::Open(kModels + "tiny-llama-q8_0.gguf");
  EXPECT_EQ(f.architecture(), "llama");
  EXPECT_EQ(f.GetUInt("llama.embedding_length"), 256u);
  EXPECT_EQ(f.GetUInt("llama.block_count"), 3u);
  EXPECT_EQ(f.GetString("tokenizer.ggml.model"), "llama");
  EXPECT_EQ(f.RequireArray("tokenizer.ggml.tokens").items.size(), 32064u);
  const TensorInfo& q = f.RequireTensor("blk.0.attn_q.weight");
  EXPECT_EQ(q.type, TensorType::kQ8_0);
  ASSERT_EQ(q.shape.size(), 2u);
  EXPECT_EQ(q.shape[0], 256u);
  EXPECT_EQ(q.byte_size, 256u * 256u / 32u * 34u);
  EXPECT_EQ(q.data - f.tensors()[0].data,
            static_cast<std::ptrdiff_t>(q.offset - f.tensors()[0].offset));
}

TEST(GgufFileTest, OpensEveryFixtureModelAndVocab) {
  for (const char* dir : {"/models/", "/vocab/"}) {
    for (const auto& entry :
         std::filesystem::directory_iterator(std::string(KILN_FIXTURES_DIR) + dir)) {
      SCOPED_TRACE(entry.path().string());
      GgufFile f = GgufFile::Open(entry.path().string());
      EXPECT_TRUE(f.Has("tokenizer.ggml.model"));
    }
  }
}

}  // namespace
}  // namespace kiln::gguf
