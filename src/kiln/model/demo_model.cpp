#include "kiln/model/demo_model.h"

#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <string_view>
#include <utility>
#include <vector>

#include "kiln/base/error.h"
#include "kiln/gguf/gguf_writer.h"
#include "kiln/kernels/quantize.h"
#include "kiln/tokenizer/byte_level.h"

namespace kiln::model {
namespace {

constexpr int kLayers = 4;
constexpr int kWidth = 256;
constexpr int kHeads = 4;
constexpr int kKvHeads = 2;
constexpr int kHeadSize = kWidth / kHeads;
constexpr int kFeedForward = 768;
constexpr int kContext = 2048;
constexpr int kMerges = 320;

// The BPE merges are trained on this text, so common English pieces become single tokens.
constexpr std::string_view kTrainingText =
    "Kiln serves open-weight large language models as a service: one program that loads a model "
    "file, runs it fast on ordinary processors, and answers requests over the network. The demo "
    "model you are talking to has random weights, so what it writes is noise, but every step is "
    "real: the text is split into tokens, the tokens flow through the layers of a transformer, "
    "and the next token is sampled from the distribution the model computes. Once upon a time, in "
    "a small village by the sea, there lived a potter who made the finest bowls in the land. Every "
    "morning she walked to the shore to gather clay, and every evening she fired her work in the "
    "kiln behind her house. The people of the village said that her bowls could hold the light of "
    "the setting sun. What is the capital of France? The capital of France is Paris. How are you "
    "today? I am fine, thank you, and how are you? Write a short poem about the sea and the sky.";

constexpr std::string_view kChatTemplate =
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + "
    "message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\\n' }}{% endif %}";

// Words as GPT-2's pre-tokenizer roughly splits them: a run of letters or digits with its
// leading space, or a single other character.
std::vector<std::string> SplitWords(std::string_view text) {
  std::vector<std::string> words;
  std::size_t i = 0;
  auto is_word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  while (i < text.size()) {
    std::size_t j = i;
    if (text[j] == ' ' && j + 1 < text.size() && is_word(text[j + 1])) ++j;
    if (is_word(text[j])) {
      while (j < text.size() && is_word(text[j])) ++j;
    } else {
      ++j;
    }
    words.emplace_back(text.substr(i, j - i));
    i = j;
  }
  return words;
}

struct TrainedBpe {
  std::vector<std::string> pieces;  // byte pieces first, then one per merge
  std::vector<std::string> merges;  // "left right", in rank order
};

// Classic BPE training: repeatedly merge the most frequent adjacent pair (ties broken by the
// pair's text, so the result is deterministic) across the words of the training text.
TrainedBpe TrainBpe(std::string_view text, int merges) {
  TrainedBpe bpe;
  for (int b = 0; b < 256; ++b) {
    bpe.pieces.push_back(tokenizer::detail::EncodeBytes(std::string(1, static_cast<char>(b))));
  }
  std::map<std::vector<std::string>, int> words;
  for (const std::string& w : SplitWords(text)) {
    std::vector<std::string> symbols;
    for (char c : w) symbols.push_back(tokenizer::detail::EncodeBytes(std::string(1, c)));
    ++words[symbols];
  }
  for (int m = 0; m < merges; ++m) {
    std::map<std::pair<std::string, std::string>, int> counts;
    for (const auto& [symbols, n] : words) {
      for (std::size_t i = 0; i + 1 < symbols.size(); ++i)
        counts[{symbols[i], symbols[i + 1]}] += n;
    }
    if (counts.empty()) break;
    auto best = counts.begin();
    for (auto it = counts.begin(); it != counts.end(); ++it) {
      if (it->second > best->second) best = it;
    }
    if (best->second < 2) break;
    const auto [left, right] = best->first;
    bpe.merges.push_back(left + " " + right);
    bpe.pieces.push_back(left + right);
    std::map<std::vector<std::string>, int> merged;
    for (const auto& [symbols, n] : words) {
      std::vector<std::string> out;
      for (std::size_t i = 0; i < symbols.size(); ++i) {
        if (i + 1 < symbols.size() && symbols[i] == left && symbols[i + 1] == right) {
          out.push_back(left + right);
          ++i;
        } else {
          out.push_back(symbols[i]);
        }
      }
      merged[out] += n;
    }
    words = std::move(merged);
  }
  return bpe;
}

// SplitMix64 and Box-Muller: the same weights on every platform and standard library.
class Normal {
 public:
  explicit Normal(std::uint64_t seed) : state_(seed) {}
  float Next(float stddev) {
    const double u1 = (static_cast<double>(NextBits() >> 11) + 1.0) / 9007199254740993.0;
    const double u2 = static_cast<double>(NextBits() >> 11) / 9007199254740992.0;
    return static_cast<float>(stddev * std::sqrt(-2.0 * std::log(u1)) *
                              std::cos(6.283185307179586 * u2));
  }

 private:
  std::uint64_t NextBits() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  std::uint64_t state_;
};

void AddMatrix(gguf::GgufWriter& w, Normal& rng, const std::string& name, int cols, int rows,
               float stddev) {
  std::vector<float> values(static_cast<std::size_t>(cols) * rows);
  for (float& v : values) v = rng.Next(stddev);
  const std::size_t row_bytes = gguf::RowBytes(gguf::TensorType::kQ8_0, cols);
  std::vector<std::uint8_t> data(row_bytes * rows);
  for (int r = 0; r < rows; ++r) {
    kernels::QuantizeRow(gguf::TensorType::kQ8_0,
                         values.data() + static_cast<std::size_t>(r) * cols,
                         data.data() + r * row_bytes, cols);
  }
  w.AddOwnedTensor(name, gguf::TensorType::kQ8_0,
                   {static_cast<std::uint64_t>(cols), static_cast<std::uint64_t>(rows)},
                   std::move(data));
}

void AddOnes(gguf::GgufWriter& w, const std::string& name, int n) {
  std::vector<float> ones(n, 1.0f);
  std::vector<std::uint8_t> data(n * sizeof(float));
  std::memcpy(data.data(), ones.data(), data.size());
  w.AddOwnedTensor(name, gguf::TensorType::kF32, {static_cast<std::uint64_t>(n)}, std::move(data));
}

}  // namespace

void WriteDemoModel(const std::string& path) {
  TrainedBpe bpe = TrainBpe(kTrainingText, kMerges);
  std::vector<std::int32_t> types(bpe.pieces.size(), 1);  // normal
  const std::int32_t eos = static_cast<std::int32_t>(bpe.pieces.size());
  for (const char* special : {"<|endoftext|>", "<|im_start|>", "<|im_end|>"}) {
    bpe.pieces.emplace_back(special);
    types.push_back(3);  // control
  }
  const int vocab = static_cast<int>(bpe.pieces.size());

  gguf::GgufWriter w;
  w.Set("general.architecture", "llama");
  w.Set("general.name", kDemoModelName);
  w.Set("general.file_type", std::uint32_t{7});
  w.Set("general.quantization_version", std::uint32_t{2});
  w.Set("llama.context_length", std::uint32_t{kContext});
  w.Set("llama.embedding_length", std::uint32_t{kWidth});
  w.Set("llama.block_count", std::uint32_t{kLayers});
  w.Set("llama.feed_forward_length", std::uint32_t{kFeedForward});
  w.Set("llama.attention.head_count", std::uint32_t{kHeads});
  w.Set("llama.attention.head_count_kv", std::uint32_t{kKvHeads});
  w.Set("llama.attention.layer_norm_rms_epsilon", 1e-5f);
  w.Set("llama.rope.freq_base", 10000.0f);
  w.Set("llama.rope.dimension_count", std::uint32_t{kHeadSize});
  w.Set("llama.vocab_size", std::uint32_t(vocab));
  w.Set("tokenizer.ggml.model", "gpt2");
  w.Set("tokenizer.ggml.pre", "qwen2");
  w.Set("tokenizer.ggml.tokens", gguf::Value::ArrayOf(bpe.pieces));
  w.Set("tokenizer.ggml.token_type", gguf::Value::ArrayOf(types));
  w.Set("tokenizer.ggml.merges", gguf::Value::ArrayOf(bpe.merges));
  w.Set("tokenizer.ggml.eos_token_id", std::uint32_t(eos + 2));  // <|im_end|> ends a chat turn
  w.Set("tokenizer.ggml.padding_token_id", std::uint32_t(eos));
  w.Set("tokenizer.ggml.bos_token_id", std::uint32_t(eos));
  w.Set("tokenizer.ggml.add_bos_token", false);
  w.Set("tokenizer.chat_template", std::string(kChatTemplate));

  Normal rng(0x6b696c6e);  // "kiln"
  const float scale = 1.0f / std::sqrt(static_cast<float>(kWidth));
  AddMatrix(w, rng, "token_embd.weight", kWidth, vocab, 1.0f);
  for (int l = 0; l < kLayers; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    AddOnes(w, p + "attn_norm.weight", kWidth);
    AddMatrix(w, rng, p + "attn_q.weight", kWidth, kWidth, scale);
    AddMatrix(w, rng, p + "attn_k.weight", kWidth, kKvHeads * kHeadSize, scale);
    AddMatrix(w, rng, p + "attn_v.weight", kWidth, kKvHeads * kHeadSize, scale);
    AddMatrix(w, rng, p + "attn_output.weight", kWidth, kWidth, scale);
    AddOnes(w, p + "ffn_norm.weight", kWidth);
    AddMatrix(w, rng, p + "ffn_gate.weight", kWidth, kFeedForward, scale);
    AddMatrix(w, rng, p + "ffn_up.weight", kWidth, kFeedForward, scale);
    AddMatrix(w, rng, p + "ffn_down.weight", kFeedForward, kWidth,
              1.0f / std::sqrt(static_cast<float>(kFeedForward)));
  }
  AddOnes(w, "output_norm.weight", kWidth);
  AddMatrix(w, rng, "output.weight", kWidth, vocab, scale);
  w.Write(path);
}

std::string EnsureDemoModel(const std::string& data_dir) {
  const std::filesystem::path path = std::filesystem::path(data_dir) / "kiln-demo.gguf";
  if (std::filesystem::exists(path)) return path.string();
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) Fail("cannot create the data directory '{}': {}", data_dir, ec.message());
  WriteDemoModel(path.string());
  return path.string();
}

}  // namespace kiln::model
