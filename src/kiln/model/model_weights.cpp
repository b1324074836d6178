#include "kiln/model/model_weights.h"

#include <fmt/format.h>

#include <string>

#include "kiln/base/error.h"
#include "kiln/kernels/dequantize.h"

namespace kiln::model {
namespace {

std::string ShapeString(const gguf::TensorInfo& t) {
  std::string s = "[";
  for (std::size_t i = 0; i < t.shape.size(); ++i)
    s += fmt::format("{}{}", i ? ", " : "", t.shape[i]);
  return s + "]";
}

class Binder {
 public:
  explicit Binder(const gguf::GgufFile& file) : file_(file) {}

  const gguf::TensorInfo& Require(const std::string& name) const {
    const gguf::TensorInfo* t = file_.FindTensor(name);
    if (t == nullptr) Fail("{}: tensor {} is missing", file_.path(), name);
    return *t;
  }

  // A matrix of `rows` rows of `cols` elements (ggml shape [cols, rows]). Multiplied matrices
  // need MatMul support; one only read row by row (an untied embedding) needs DequantizeRow's.
  Weight Matrix(const std::string& name, std::int64_t cols, std::int64_t rows,
                bool multiplied = true) const {
    const gguf::TensorInfo& t = Require(name);
    if (t.shape.size() != 2 || t.shape[0] != static_cast<std::uint64_t>(cols) ||
        t.shape[1] != static_cast<std::uint64_t>(rows)) {
      Fail("{}: tensor {} has shape {} but the model's configuration needs [{}, {}]", file_.path(),
           t.name, ShapeString(t), cols, rows);
    }
    if (multiplied ? !IsSupportedWeightType(t.type) : !kernels::IsSupportedWeightType(t.type)) {
      Fail("{}: tensor {} is {}, which Kiln cannot compute with; supported types: {}", file_.path(),
           t.name, gguf::NameOf(t.type), SupportedWeightTypes());
    }
    return kernels::DenseWeights(t.type, t.data, rows, cols);
  }

  // A vector of `n` elements, converted to float.
  std::vector<float> Vector(const std::string& name, std::int64_t n) const {
    const gguf::TensorInfo& t = Require(name);
    if (t.element_count != static_cast<std::uint64_t>(n) ||
        (t.shape.size() != 1 && !(t.shape.size() == 2 && t.shape[1] == 1))) {
      Fail("{}: tensor {} has shape {} but the model's configuration needs [{}]", file_.path(),
           name, ShapeString(t), n);
    }
    if (!kernels::IsSupportedWeightType(t.type)) {
      Fail("{}: tensor {} is {}, which Kiln cannot read; supported types: {}", file_.path(), name,
           gguf::NameOf(t.type), SupportedWeightTypes());
    }
    std::vector<float> out(n);
    kernels::DequantizeRow(t.type, t.data, out.data(), n);
    return out;
  }

  bool Has(const std::string& name) const { return file_.FindTensor(name) != nullptr; }

 private:
  const gguf::GgufFile& file_;
};

LayerWeights BindLayer(const Binder& b, const ModelConfig& c, const ArchitectureTraits& arch,
                       int i) {
  auto name = [i](const char* role) { return fmt::format("blk.{}.{}", i, role); };
  const int embd = c.embedding_length;
  LayerWeights l;
  l.attn_norm = b.Vector(name("attn_norm.weight"), embd);
  l.attn_q = b.Matrix(name("attn_q.weight"), embd, c.q_width());
  l.attn_k = b.Matrix(name("attn_k.weight"), embd, c.k_width());
  l.attn_v = b.Matrix(name("attn_v.weight"), embd, c.v_width());
  l.attn_output = b.Matrix(name("attn_output.weight"), c.attention_out_width(), embd);
  if (arch.qkv_bias) {
    l.q_bias = b.Vector(name("attn_q.bias"), c.q_width());
    l.k_bias = b.Vector(name("attn_k.bias"), c.k_width());
    l.v_bias = b.Vector(name("attn_v.bias"), c.v_width());
  }
  if (arch.qk_norm) {
    l.q_norm = b.Vector(name("attn_q_norm.weight"), c.key_length);
    l.k_norm = b.Vector(name("attn_k_norm.weight"), c.key_length);
  }
  l.ffn_norm = b.Vector(name("ffn_norm.weight"), embd);
  l.ffn_gate = b.Matrix(name("ffn_gate.weight"), embd, c.feed_forward_length);
  l.ffn_up = b.Matrix(name("ffn_up.weight"), embd, c.feed_forward_length);
  l.ffn_down = b.Matrix(name("ffn_down.weight"), c.feed_forward_length, embd);
  return l;
}

}  // namespace

bool IsSupportedWeightType(gguf::TensorType type) {
  return kernels::MatMulSupports(type) && kernels::IsSupportedWeightType(type);
}

std::string SupportedWeightTypes() {
  std::string out;
  for (gguf::TensorType t : kernels::SupportedWeightTypes()) {
    if (!IsSupportedWeightType(t)) continue;
    if (!out.empty()) out += ", ";
    out += gguf::NameOf(t);
  }
  return out;
}

ModelWeights BindWeights(const gguf::GgufFile& file, const ModelConfig& config) {
  const ArchitectureTraits& arch = TraitsOf(config.architecture);
  Binder b(file);
  ModelWeights w;
  const bool tied = !b.Has("output.weight");
  w.token_embd = b.Matrix("token_embd.weight", config.embedding_length, config.vocab_size,
                          /*multiplied=*/tied);
  w.layers.reserve(config.block_count);
  for (int i = 0; i < config.block_count; ++i) w.layers.push_back(BindLayer(b, config, arch, i));
  w.output_norm = b.Vector("output_norm.weight", config.embedding_length);
  if (!tied) {
    w.output = b.Matrix("output.weight", config.embedding_length, config.vocab_size);
  } else {
    w.output = w.token_embd;
    w.tied_output = true;
  }
  if (config.rope.has_freq_factors) {
    w.rope_freqs = b.Vector("rope_freqs.weight", config.rope.dimension_count / 2);
  }
  return w;
}

}  // namespace kiln::model
