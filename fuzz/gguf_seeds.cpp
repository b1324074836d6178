// seed_gguf DIR: writes small valid GGUF files covering the format's features into DIR, the
// starting corpus of fuzz_gguf. Built with the fuzzers; run by scripts/run-fuzzers.sh.
#include <fmt/format.h>

#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

#include "kiln/base/error.h"
#include "kiln/gguf/gguf_writer.h"

namespace {

using kiln::gguf::GgufWriter;
using kiln::gguf::TensorType;
using kiln::gguf::Value;

void AddTensor(GgufWriter& w, const std::string& name, TensorType type,
               std::vector<std::uint64_t> shape) {
  std::uint64_t elements =
      std::accumulate(shape.begin(), shape.end(), std::uint64_t{1}, std::multiplies<>());
  std::vector<std::uint8_t> bytes(kiln::gguf::RowBytes(type, elements));
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(i * 7);
  w.AddOwnedTensor(name, type, std::move(shape), std::move(bytes));
}

void Tokenizer(GgufWriter& w, const std::string& model) {
  w.Set("tokenizer.ggml.model", Value(model));
  w.Set("tokenizer.ggml.pre", Value("default"));
  w.Set("tokenizer.ggml.tokens",
        Value::ArrayOf(std::vector<std::string>{"<unk>", "<s>", "</s>", "\xe2\x96\x81hi", "a"}));
  w.Set("tokenizer.ggml.scores", Value::ArrayOf(std::vector<float>{0, 0, 0, -1.5f, -2}));
  w.Set("tokenizer.ggml.token_type", Value::ArrayOf(std::vector<std::int32_t>{2, 3, 3, 1, 1}));
  w.Set("tokenizer.ggml.merges", Value::ArrayOf(std::vector<std::string>{"h i", "a b"}));
  w.Set("tokenizer.ggml.bos_token_id", Value(std::uint32_t{1}));
  w.Set("tokenizer.ggml.eos_token_id", Value(std::uint32_t{2}));
  w.Set("tokenizer.ggml.unknown_token_id", Value(std::uint32_t{0}));
  w.Set("tokenizer.chat_template", Value("{% for m in messages %}{{ m.content }}{% endfor %}"));
}

void Hyperparameters(GgufWriter& w, const std::string& arch) {
  w.Set("general.architecture", Value(arch));
  w.Set("general.name", Value("seed"));
  w.Set(arch + ".context_length", Value(std::uint32_t{128}));
  w.Set(arch + ".embedding_length", Value(std::uint32_t{256}));
  w.Set(arch + ".block_count", Value(std::uint32_t{1}));
  w.Set(arch + ".feed_forward_length", Value(std::uint32_t{512}));
  w.Set(arch + ".attention.head_count", Value(std::uint32_t{4}));
  w.Set(arch + ".attention.head_count_kv", Value(std::uint32_t{2}));
  w.Set(arch + ".attention.layer_norm_rms_epsilon", Value(1e-5f));
  w.Set(arch + ".rope.freq_base", Value(10000.0f));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: seed_gguf DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  try {
    std::vector<std::pair<std::string, GgufWriter>> seeds;

    seeds.emplace_back("empty.gguf", GgufWriter());

    GgufWriter vocab;
    vocab.Set("general.architecture", Value("llama"));
    Tokenizer(vocab, "llama");
    seeds.emplace_back("vocab.gguf", std::move(vocab));

    GgufWriter model;
    Hyperparameters(model, "llama");
    Tokenizer(model, "gpt2");
    model.Set("general.file_type", Value(std::uint32_t{15}));
    AddTensor(model, "token_embd.weight", TensorType::kQ4_K, {256, 5});
    AddTensor(model, "output_norm.weight", TensorType::kF32, {256});
    AddTensor(model, "blk.0.attn_q.weight", TensorType::kQ8_0, {256, 2});
    AddTensor(model, "blk.0.attn_k.weight", TensorType::kQ6_K, {256, 1});
    AddTensor(model, "blk.0.ffn_up.weight", TensorType::kQ4_0, {32, 3});
    seeds.emplace_back("model.gguf", std::move(model));

    GgufWriter aligned;
    Hyperparameters(aligned, "qwen3");
    aligned.Set("general.alignment", Value(std::uint32_t{64}));
    aligned.Set("qwen3.attention.key_length", Value(std::uint32_t{128}));
    AddTensor(aligned, "a", TensorType::kBF16, {3, 2});
    AddTensor(aligned, "b", TensorType::kF16, {5});
    AddTensor(aligned, "c", TensorType::kI32, {1, 1, 1, 2});
    AddTensor(aligned, "d", TensorType::kF32, {0});
    seeds.emplace_back("aligned.gguf", std::move(aligned));

    GgufWriter values;
    values.Set("u8", Value(std::uint8_t{1}));
    values.Set("i8", Value(std::int8_t{-1}));
    values.Set("u16", Value(std::uint16_t{2}));
    values.Set("i16", Value(std::int16_t{-2}));
    values.Set("u32", Value(std::uint32_t{3}));
    values.Set("i32", Value(std::int32_t{-3}));
    values.Set("f32", Value(0.5f));
    values.Set("bool", Value(true));
    values.Set("str", Value("s"));
    values.Set("u64", Value(std::uint64_t{4}));
    values.Set("i64", Value(std::int64_t{-4}));
    values.Set("f64", Value(0.25));
    kiln::gguf::Array nested{kiln::gguf::ValueType::kArray,
                             {Value::ArrayOf(std::vector<std::uint8_t>{1, 2}),
                              Value::ArrayOf(std::vector<std::string>{"x"})}};
    values.Set("nested", Value(nested));
    values.Set("llama.feed_forward_length", Value::ArrayOf(std::vector<std::uint32_t>{8, 16}));
    seeds.emplace_back("values.gguf", std::move(values));

    for (const auto& [name, w] : seeds) w.Write(dir + "/seed-" + name);
    fmt::print("seed_gguf: wrote {} seeds to {}\n", seeds.size(), dir);
  } catch (const kiln::Error& e) {
    std::fprintf(stderr, "seed_gguf: %s\n", e.what());
    return 1;
  }
  return 0;
}
