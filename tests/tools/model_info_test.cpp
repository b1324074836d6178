// Runs the real `kiln model info` binary on every fixture model and checks what it reports, both
// against known shapes of the fixtures and against the tensor table read independently.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "kiln/gguf/gguf_file.h"

namespace kiln {
namespace {

const std::string kModels = std::string(KILN_FIXTURES_DIR) + "/models";

struct RunResult {
  int exit_code = -1;
  std::string output;  // stdout, and stderr too when asked for
};

RunResult RunKiln(const std::string& args, bool with_stderr = false) {
  std::string command = std::string(KILN_BINARY) + " " + args + (with_stderr ? " 2>&1" : "");
  RunResult r;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return r;
  char buffer[4096];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) r.output.append(buffer, n);
  int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string Quoted(const std::string& path) {
  return "'" + path + "'";
}

nlohmann::json Info(const std::string& path) {
  RunResult r = RunKiln("model info --json " + Quoted(path));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return nlohmann::json::parse(r.output);
}

// What each fixture is known to be (fixtures/README.md, confirmed against the files' headers).
struct Expected {
  std::string arch;
  std::uint64_t layers, width, heads, kv_heads, head_dim, ffn, vocab;
  std::string tokenizer, pre, file_type;
  bool chat_template;
  std::map<std::string, std::uint64_t> mix;  // tensor type -> tensor count
};

// clang-format off
const std::map<std::string, Expected> kExpected = {
    {"tiny-llama-q8_0.gguf",    {"llama", 3, 256, 4, 2, 64, 768, 32064, "llama", "default", "MOSTLY_Q8_0", true,
                                 {{"Q8_0", 23}, {"F32", 7}}}},
    {"tiny-llama-q4_0.gguf",    {"llama", 3, 256, 4, 2, 64, 768, 32064, "llama", "default", "MOSTLY_Q4_0", true,
                                 {{"Q4_0", 22}, {"Q6_K", 1}, {"F32", 7}}}},
    {"tiny-llama-q4_k_m.gguf",  {"llama", 3, 256, 4, 2, 64, 768, 32064, "llama", "default", "MOSTLY_Q4_K_M", true,
                                 {{"Q4_K", 20}, {"Q6_K", 3}, {"F32", 7}}}},
    {"tiny-qwen2-q8_0.gguf",    {"qwen2", 2, 256, 4, 4, 64, 512, 50259, "gpt2", "gpt-2", "MOSTLY_Q8_0", true,
                                 {{"Q8_0", 15}, {"F32", 11}}}},
    {"tiny-qwen2-q6_k.gguf",    {"qwen2", 2, 256, 4, 4, 64, 512, 50259, "gpt2", "gpt-2", "MOSTLY_Q6_K", true,
                                 {{"Q6_K", 15}, {"F32", 11}}}},
    {"tiny-qwen3-bf16.gguf",    {"qwen3", 2, 256, 4, 1, 128, 512, 50259, "gpt2", "gpt-2", "MOSTLY_BF16", true,
                                 {{"BF16", 15}, {"F32", 9}}}},
    {"check-llama-q4_1.gguf",   {"llama", 2, 256, 2, 2, 128, 768, 32000, "llama", "default", "MOSTLY_Q4_1", false,
                                 {{"Q4_1", 15}, {"Q6_K", 1}, {"F32", 5}}}},
    {"check-llama-q5_k_m.gguf", {"llama", 2, 256, 2, 2, 128, 768, 32000, "llama", "default", "MOSTLY_Q5_K_M", false,
                                 {{"Q5_K", 13}, {"Q6_K", 3}, {"F32", 5}}}},
    {"check-qwen2-q4_k_s.gguf", {"qwen2", 2, 256, 4, 2, 64, 512, 102400, "gpt2", "deepseek-llm", "MOSTLY_Q4_K_S", false,
                                 {{"Q4_K", 12}, {"Q5_K", 2}, {"Q6_K", 1}, {"F32", 11}}}},
    {"check-qwen3-f16.gguf",    {"qwen3", 3, 256, 4, 2, 64, 768, 32064, "llama", "default", "MOSTLY_F16", true,
                                 {{"F16", 22}, {"F32", 13}}}},
};
// clang-format on

TEST(ModelInfoTest, EveryFixtureModelReportsItsKnownShape) {
  int seen = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kModels)) {
    std::string file = entry.path().filename().string();
    SCOPED_TRACE(file);
    auto it = kExpected.find(file);
    ASSERT_NE(it, kExpected.end()) << "new fixture model without expectations: add it here";
    const Expected& e = it->second;
    nlohmann::json j = Info(entry.path().string());
    ++seen;

    EXPECT_EQ(j["architecture"], e.arch);
    EXPECT_EQ(j["block_count"], e.layers);
    EXPECT_EQ(j["embedding_length"], e.width);
    EXPECT_EQ(j["head_count"], e.heads);
    EXPECT_EQ(j["head_count_kv"], e.kv_heads);
    EXPECT_EQ(j["key_length"], e.head_dim);
    EXPECT_EQ(j["value_length"], e.head_dim);
    EXPECT_EQ(j["feed_forward_length"], e.ffn);
    EXPECT_EQ(j["vocab_size"], e.vocab);
    EXPECT_EQ(j["context_length"], 4096);
    EXPECT_EQ(j["tokenizer_model"], e.tokenizer);
    EXPECT_EQ(j["tokenizer_pre"], e.pre);
    EXPECT_EQ(j["file_type"], e.file_type);
    EXPECT_EQ(j["file_type_guessed"], false);
    EXPECT_EQ(j["has_chat_template"], e.chat_template);
    EXPECT_EQ(j["gguf_version"], 3);
    EXPECT_NEAR(j["norm_eps"].get<double>(), 1e-5, 1e-9);
    std::map<std::string, std::uint64_t> mix;
    for (const auto& q : j["quantization"]) mix[q["type"]] = q["tensors"];
    EXPECT_EQ(mix, e.mix);
  }
  EXPECT_EQ(seen, static_cast<int>(kExpected.size())) << "fixture models are missing";
}

// The numbers must agree with the file's own tensor table, read here without the summary code.
TEST(ModelInfoTest, EveryFixtureModelIsConsistentWithItsTensors) {
  for (const auto& entry : std::filesystem::directory_iterator(kModels)) {
    SCOPED_TRACE(entry.path().filename().string());
    gguf::GgufFile f = gguf::GgufFile::Open(entry.path().string());
    nlohmann::json j = Info(entry.path().string());

    std::uint64_t params = 0, bytes = 0;
    std::map<std::string, std::uint64_t> mix_bytes;
    std::set<std::string> blocks;
    for (const gguf::TensorInfo& t : f.tensors()) {
      params += t.element_count;
      bytes += t.byte_size;
      mix_bytes[std::string(gguf::NameOf(t.type))] += t.byte_size;
      if (t.name.rfind("blk.", 0) == 0) blocks.insert(t.name.substr(0, t.name.find('.', 4)));
    }
    EXPECT_EQ(j["parameter_count"], params);
    EXPECT_EQ(j["tensor_bytes"], bytes);
    EXPECT_EQ(j["tensor_count"], f.tensors().size());
    EXPECT_EQ(j["file_size"], std::filesystem::file_size(entry.path()));
    EXPECT_NEAR(j["bits_per_weight"].get<double>(), 8.0 * bytes / params, 1e-9);
    std::uint64_t quant_tensors = 0, quant_elements = 0;
    for (const auto& q : j["quantization"]) {
      EXPECT_EQ(q["bytes"], mix_bytes[q["type"]]) << q["type"];
      quant_tensors += q["tensors"].get<std::uint64_t>();
      quant_elements += q["elements"].get<std::uint64_t>();
    }
    EXPECT_EQ(quant_tensors, f.tensors().size());
    EXPECT_EQ(quant_elements, params);

    // Hyperparameters against tensor shapes (ggml order: shape[0] is the input width).
    const std::uint64_t width = j["embedding_length"], heads = j["head_count"];
    const std::uint64_t kv_heads = j["head_count_kv"], head_dim = j["key_length"];
    EXPECT_EQ(blocks.size(), j["block_count"]);
    const gguf::TensorInfo& embd = f.RequireTensor("token_embd.weight");
    EXPECT_EQ(embd.shape[0], width);
    EXPECT_EQ(embd.shape[1], j["vocab_size"]);
    EXPECT_EQ(f.RequireArray("tokenizer.ggml.tokens").items.size(), j["vocab_size"]);
    EXPECT_EQ(f.RequireTensor("blk.0.attn_q.weight").shape[1], heads * head_dim);
    EXPECT_EQ(f.RequireTensor("blk.0.attn_k.weight").shape[1], kv_heads * head_dim);
    EXPECT_EQ(f.RequireTensor("blk.0.ffn_up.weight").shape[1], j["feed_forward_length"]);

    // Special tokens name their text from the vocabulary.
    const auto& tokens = f.RequireArray("tokenizer.ggml.tokens").items;
    ASSERT_TRUE(j["special_tokens"].contains("bos"));
    ASSERT_TRUE(j["special_tokens"].contains("eos"));
    for (const auto& [role, token] : j["special_tokens"].items()) {
      std::uint64_t id = token["id"];
      ASSERT_LT(id, tokens.size()) << role;
      EXPECT_EQ(token["text"], tokens[id].AsString()) << role;
    }
  }
}

TEST(ModelInfoTest, SpecialTokenTextOfTinyModels) {
  nlohmann::json llama = Info(kModels + "/tiny-llama-q8_0.gguf");
  EXPECT_EQ(llama["special_tokens"]["bos"]["id"], 1);
  EXPECT_EQ(llama["special_tokens"]["bos"]["text"], "<s>");
  EXPECT_EQ(llama["special_tokens"]["eos"]["text"], "<|endoftext|>");
  EXPECT_EQ(llama["special_tokens"]["unk"]["text"], "<unk>");
  nlohmann::json qwen = Info(kModels + "/tiny-qwen2-q8_0.gguf");
  EXPECT_EQ(qwen["special_tokens"]["eos"]["text"], "<|im_end|>");
  EXPECT_EQ(qwen["name"], "tiny-qwen2");
}

TEST(ModelInfoTest, HumanOutputHasAlignedLinesAndAQuantizationTable) {
  RunResult r = RunKiln("model info " + Quoted(kModels + "/tiny-llama-q4_k_m.gguf"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* line : {
           "architecture:         llama\n",
           "parameters:           18.78 M (18777856)\n",
           "file type:            MOSTLY_Q4_K_M\n",
           "layers:               3\n",
           "kv heads:             2\n",
           "bos token:            1 \"<s>\"\n",
           "chat template:        yes\n",
       }) {
    EXPECT_NE(r.output.find(line), std::string::npos) << "missing: " << line << "in\n" << r.output;
  }
  // Table rows: type, tensor count, parameters.
  EXPECT_NE(r.output.find("Q4_K             20        10338304"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Q6_K              3         8437760"), std::string::npos) << r.output;
}

TEST(ModelInfoTest, VocabularyOnlyFileHasNoParameters) {
  nlohmann::json j = Info(std::string(KILN_FIXTURES_DIR) + "/vocab/ggml-vocab-gpt-2.gguf");
  EXPECT_EQ(j["parameter_count"], 0);
  EXPECT_EQ(j["tensor_count"], 0);
  EXPECT_EQ(j["vocab_size"], 50257);
  EXPECT_TRUE(j["quantization"].empty());
  EXPECT_EQ(j["bits_per_weight"], 0.0);
}

TEST(ModelInfoTest, BadFilesAreErrorsNamingTheFile) {
  RunResult missing = RunKiln("model info --json /nonexistent/model.gguf", true);
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.output.find("kiln: error: cannot open '/nonexistent/model.gguf'"),
            std::string::npos)
      << missing.output;

  std::string path = (std::filesystem::temp_directory_path() /
                      ("kiln-model-info-" + std::to_string(::getpid()) + ".gguf"))
                         .string();
  {
    // The start of a real model, cut inside its metadata.
    std::ifstream in(kModels + "/tiny-llama-q8_0.gguf", std::ios::binary);
    std::string head(1000, '\0');
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    std::ofstream(path, std::ios::binary) << head;
  }
  RunResult cut = RunKiln("model info " + Quoted(path), true);
  std::filesystem::remove(path);
  EXPECT_EQ(cut.exit_code, 1);
  EXPECT_NE(cut.output.find("kiln: error: " + path + ": "), std::string::npos) << cut.output;
  EXPECT_NE(cut.output.find("truncated"), std::string::npos) << cut.output;

  RunResult usage = RunKiln("model info", true);
  EXPECT_NE(usage.exit_code, 0);
  EXPECT_NE(usage.output.find("file is required"), std::string::npos) << usage.output;
}

}  // namespace
}  // namespace kiln
