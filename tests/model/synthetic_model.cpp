#include "synthetic_model.h"

#include <cmath>
#include <cstring>
#include <random>
#include <stdexcept>

#include "kiln/kernels/fp16.h"

namespace kiln::model::testing {
namespace {

constexpr std::uint64_t kAlignment = 32;

class Writer {
 public:
  template <typename T>
  void Put(T v) {
    const auto* p = reinterpret_cast<const std::uint8_t*>(&v);
    out.insert(out.end(), p, p + sizeof v);
  }
  void PutString(const std::string& s) {
    Put<std::uint64_t>(s.size());
    out.insert(out.end(), s.begin(), s.end());
  }
  void PutValue(const gguf::Value& v) {
    Put<std::uint32_t>(static_cast<std::uint32_t>(v.type()));
    std::visit(
        [this](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, std::string>) {
            PutString(x);
          } else if constexpr (std::is_same_v<T, gguf::Array>) {
            throw std::logic_error("GgufBuilder writes no arrays");
          } else if constexpr (std::is_same_v<T, bool>) {
            Put<std::uint8_t>(x ? 1 : 0);
          } else {
            Put<T>(x);
          }
        },
        v.storage());
  }
  void Pad() { out.resize((out.size() + kAlignment - 1) / kAlignment * kAlignment, 0); }

  std::vector<std::uint8_t> out;
};

std::vector<std::uint8_t> RandomTensor(std::size_t n, gguf::TensorType type, float mean,
                                       float stddev, std::mt19937& rng) {
  std::normal_distribution<float> dist(mean, stddev);
  std::vector<std::uint8_t> bytes;
  for (std::size_t i = 0; i < n; ++i) {
    const float v = dist(rng);
    if (type == gguf::TensorType::kF16) {
      const std::uint16_t h = kernels::F32ToF16(v);
      bytes.insert(bytes.end(), reinterpret_cast<const std::uint8_t*>(&h),
                   reinterpret_cast<const std::uint8_t*>(&h) + 2);
    } else {
      bytes.insert(bytes.end(), reinterpret_cast<const std::uint8_t*>(&v),
                   reinterpret_cast<const std::uint8_t*>(&v) + 4);
    }
  }
  return bytes;
}

}  // namespace

void GgufBuilder::AddTensor(const std::string& name, std::vector<std::uint64_t> shape,
                            gguf::TensorType type, std::vector<std::uint8_t> bytes) {
  tensors_[name] = Tensor{std::move(shape), type, std::move(bytes)};
}

std::vector<std::uint8_t> GgufBuilder::Build() const {
  Writer w;
  w.Put<std::uint32_t>(0x46554747);  // "GGUF"
  w.Put<std::uint32_t>(3);
  w.Put<std::uint64_t>(tensors_.size());
  w.Put<std::uint64_t>(metadata_.size());
  for (const auto& [key, value] : metadata_) {
    w.PutString(key);
    w.PutValue(value);
  }
  std::uint64_t offset = 0;
  for (const auto& [name, t] : tensors_) {
    w.PutString(name);
    w.Put<std::uint32_t>(static_cast<std::uint32_t>(t.shape.size()));
    for (std::uint64_t d : t.shape) w.Put<std::uint64_t>(d);
    w.Put<std::uint32_t>(static_cast<std::uint32_t>(t.type));
    w.Put<std::uint64_t>(offset);
    offset = (offset + t.bytes.size() + kAlignment - 1) / kAlignment * kAlignment;
  }
  w.Pad();
  for (const auto& [name, t] : tensors_) {
    w.out.insert(w.out.end(), t.bytes.begin(), t.bytes.end());
    w.Pad();
  }
  return w.out;
}

GgufBuilder SyntheticModel(const SyntheticSpec& s) {
  GgufBuilder b;
  const std::string& a = s.architecture;
  b.Set("general.architecture", a);
  b.Set(a + ".context_length", std::uint32_t{512});
  b.Set(a + ".embedding_length", static_cast<std::uint32_t>(s.embedding));
  b.Set(a + ".block_count", static_cast<std::uint32_t>(s.layers));
  b.Set(a + ".feed_forward_length", static_cast<std::uint32_t>(s.ffn));
  b.Set(a + ".attention.head_count", static_cast<std::uint32_t>(s.heads));
  b.Set(a + ".attention.head_count_kv", static_cast<std::uint32_t>(s.kv_heads));
  b.Set(a + ".attention.layer_norm_rms_epsilon", 1e-5f);
  b.Set(a + ".rope.freq_base", 10000.0f);
  b.Set(a + ".vocab_size", static_cast<std::uint32_t>(s.vocab));
  if (s.key_length * s.heads != s.embedding) {
    b.Set(a + ".attention.key_length", static_cast<std::uint32_t>(s.key_length));
    b.Set(a + ".attention.value_length", static_cast<std::uint32_t>(s.key_length));
  }
  if (s.rope_dims != 0) b.Set(a + ".rope.dimension_count", static_cast<std::uint32_t>(s.rope_dims));

  std::mt19937 rng(s.seed);
  const auto f32 = gguf::TensorType::kF32;
  auto matrix = [&](const std::string& name, int cols, int rows) {
    // Scaled so activations keep unit size through the layers.
    const float stddev = 1.0f / std::sqrt(static_cast<float>(cols));
    b.AddTensor(name, {static_cast<std::uint64_t>(cols), static_cast<std::uint64_t>(rows)},
                s.weight_type,
                RandomTensor(static_cast<std::size_t>(cols) * rows, s.weight_type, 0, stddev, rng));
  };
  auto vector = [&](const std::string& name, int n, float mean, float stddev) {
    b.AddTensor(name, {static_cast<std::uint64_t>(n)}, f32,
                RandomTensor(n, f32, mean, stddev, rng));
  };
  const int q = s.heads * s.key_length, kv = s.kv_heads * s.key_length;
  matrix("token_embd.weight", s.embedding, s.vocab);
  if (!s.tied_output) matrix("output.weight", s.embedding, s.vocab);
  vector("output_norm.weight", s.embedding, 1.0f, 0.1f);
  for (int i = 0; i < s.layers; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    vector(p + "attn_norm.weight", s.embedding, 1.0f, 0.1f);
    vector(p + "ffn_norm.weight", s.embedding, 1.0f, 0.1f);
    matrix(p + "attn_q.weight", s.embedding, q);
    matrix(p + "attn_k.weight", s.embedding, kv);
    matrix(p + "attn_v.weight", s.embedding, kv);
    matrix(p + "attn_output.weight", q, s.embedding);
    matrix(p + "ffn_gate.weight", s.embedding, s.ffn);
    matrix(p + "ffn_up.weight", s.embedding, s.ffn);
    matrix(p + "ffn_down.weight", s.ffn, s.embedding);
    if (a == "qwen2") {
      vector(p + "attn_q.bias", q, 0.0f, 0.5f);
      vector(p + "attn_k.bias", kv, 0.0f, 0.5f);
      vector(p + "attn_v.bias", kv, 0.0f, 0.5f);
    }
    if (a == "qwen3") {
      vector(p + "attn_q_norm.weight", s.key_length, 1.0f, 0.1f);
      vector(p + "attn_k_norm.weight", s.key_length, 1.0f, 0.1f);
    }
  }
  if (s.rope_freqs) {
    const int pairs = (s.rope_dims ? s.rope_dims : s.key_length) / 2;
    std::vector<float> factors(pairs);
    for (int i = 0; i < pairs; ++i) factors[i] = 1.0f + 7.0f * i / pairs;  // 1 … 8, like Llama 3
    std::vector<std::uint8_t> bytes(pairs * 4);
    std::memcpy(bytes.data(), factors.data(), bytes.size());
    b.AddTensor("rope_freqs.weight", {static_cast<std::uint64_t>(pairs)}, f32, std::move(bytes));
  }
  return b;
}

}  // namespace kiln::model::testing
