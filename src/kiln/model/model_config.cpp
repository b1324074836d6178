#include "kiln/model/model_config.h"

#include <fmt/format.h>

#include <limits>
#include <optional>

#include "kiln/base/error.h"

namespace kiln::model {
namespace {

// Metadata of one architecture: keys are read as "<arch>.<key>".
class ArchKeys {
 public:
  ArchKeys(const gguf::GgufFile& file, std::string_view arch) : file_(file), arch_(arch) {}

  std::string Key(std::string_view key) const { return fmt::format("{}.{}", arch_, key); }

  std::optional<int> OptionalInt(std::string_view key, int min_value) const {
    std::string full = Key(key);
    std::optional<std::uint64_t> v = file_.GetUInt(full);
    if (!v) return std::nullopt;
    if (*v < static_cast<std::uint64_t>(min_value) ||
        *v > static_cast<std::uint64_t>(std::numeric_limits<int>::max())) {
      Fail("{}: metadata {} = {} is out of range (at least {})", file_.path(), full, *v, min_value);
    }
    return static_cast<int>(*v);
  }
  int RequireInt(std::string_view key, int min_value) const {
    std::optional<int> v = OptionalInt(key, min_value);
    if (!v) Fail("{}: metadata {} is missing", file_.path(), Key(key));
    return *v;
  }
  std::optional<double> OptionalDouble(std::string_view key) const {
    return file_.GetDouble(Key(key));
  }
  std::optional<std::string> OptionalString(std::string_view key) const {
    return file_.GetString(Key(key));
  }

 private:
  const gguf::GgufFile& file_;
  std::string_view arch_;
};

int ReadVocabSize(const gguf::GgufFile& file, const ArchKeys& keys) {
  if (std::optional<int> v = keys.OptionalInt("vocab_size", 1)) return *v;
  if (const gguf::Array* tokens = file.GetArray("tokenizer.ggml.tokens")) {
    if (!tokens->items.empty()) return static_cast<int>(tokens->items.size());
  }
  const gguf::TensorInfo* out = file.FindTensor("output.weight");
  if (out == nullptr) out = file.FindTensor("token_embd.weight");
  if (out != nullptr && out->shape.size() == 2) return static_cast<int>(out->shape[1]);
  Fail("{}: cannot tell the vocabulary size (no {}, token list or embedding tensor)", file.path(),
       keys.Key("vocab_size"));
}

RopeConfig ReadRope(const gguf::GgufFile& file, const ArchKeys& keys, RopeStyle style,
                    const ModelConfig& c) {
  RopeConfig rope;
  rope.style = style;
  rope.dimension_count = keys.OptionalInt("rope.dimension_count", 2).value_or(c.key_length);
  if (rope.dimension_count > c.key_length || rope.dimension_count % 2 != 0) {
    Fail("{}: {} = {} must be even and at most the head size {}", file.path(),
         keys.Key("rope.dimension_count"), rope.dimension_count, c.key_length);
  }
  rope.freq_base = keys.OptionalDouble("rope.freq_base").value_or(10000.0);
  if (!(rope.freq_base > 1.0)) {
    Fail("{}: {} = {} must be greater than 1", file.path(), keys.Key("rope.freq_base"),
         rope.freq_base);
  }
  std::optional<double> factor = keys.OptionalDouble("rope.scaling.factor");
  if (!factor) factor = keys.OptionalDouble("rope.scale_linear");  // the older key
  rope.factor = factor.value_or(1.0);
  if (rope.factor == 0.0) rope.factor = 1.0;  // what converters write for "no scaling"
  // A factor without a type means linear scaling, as llama.cpp reads it.
  std::string type = keys.OptionalString("rope.scaling.type").value_or(factor ? "linear" : "none");
  if (type == "none" || (type == "linear" && rope.factor == 1.0)) {
    rope.scaling = RopeScaling::kNone;
  } else if (type == "linear") {
    rope.scaling = RopeScaling::kLinear;
  } else if (type == "yarn") {
    rope.scaling = RopeScaling::kYarn;
  } else {
    Fail(
        "{}: RoPE scaling '{}' is not supported; Kiln supports none, linear, yarn (and llama3 "
        "frequency factors from rope_freqs.weight)",
        file.path(), type);
  }
  if (rope.scaling != RopeScaling::kNone && !(rope.factor > 0.0)) {
    Fail("{}: {} = {} must be positive", file.path(), keys.Key("rope.scaling.factor"), rope.factor);
  }
  rope.original_context_length =
      keys.OptionalInt("rope.scaling.original_context_length", 1).value_or(c.context_length);
  rope.yarn_beta_fast = keys.OptionalDouble("rope.scaling.yarn_beta_fast").value_or(32.0);
  rope.yarn_beta_slow = keys.OptionalDouble("rope.scaling.yarn_beta_slow").value_or(1.0);
  rope.has_freq_factors = file.FindTensor("rope_freqs.weight") != nullptr;
  return rope;
}

}  // namespace

ModelConfig ReadModelConfig(const gguf::GgufFile& file) {
  std::string arch_name = file.architecture();
  if (arch_name.empty()) {
    Fail("{}: general.architecture is missing; Kiln runs: {}", file.path(),
         SupportedArchitectures());
  }
  const ArchitectureTraits& traits = FindArchitecture(arch_name);
  ArchKeys keys(file, traits.name);

  ModelConfig c;
  c.architecture = traits.id;
  c.name = file.GetString("general.name").value_or(arch_name);
  c.context_length = keys.RequireInt("context_length", 1);
  c.embedding_length = keys.RequireInt("embedding_length", 1);
  c.block_count = keys.RequireInt("block_count", 1);
  c.feed_forward_length = keys.RequireInt("feed_forward_length", 1);
  c.head_count = keys.RequireInt("attention.head_count", 1);
  c.head_count_kv = keys.OptionalInt("attention.head_count_kv", 1).value_or(c.head_count);
  if (c.head_count % c.head_count_kv != 0) {
    Fail("{}: {} heads cannot be shared evenly by {} key/value heads", file.path(), c.head_count,
         c.head_count_kv);
  }
  std::optional<int> key_length = keys.OptionalInt("attention.key_length", 1);
  if (!key_length && c.embedding_length % c.head_count != 0) {
    Fail("{}: {} is missing and the embedding length {} is not a multiple of {} heads", file.path(),
         keys.Key("attention.key_length"), c.embedding_length, c.head_count);
  }
  c.key_length = key_length.value_or(c.embedding_length / c.head_count);
  c.value_length = keys.OptionalInt("attention.value_length", 1).value_or(c.key_length);
  double eps = keys.OptionalDouble("attention.layer_norm_rms_epsilon").value_or(1e-5);
  if (!(eps > 0.0 && eps < 1.0)) {
    Fail("{}: {} = {} is out of range", file.path(), keys.Key("attention.layer_norm_rms_epsilon"),
         eps);
  }
  c.rms_epsilon = static_cast<float>(eps);
  c.vocab_size = ReadVocabSize(file, keys);
  c.rope = ReadRope(file, keys, traits.rope_style, c);
  return c;
}

}  // namespace kiln::model
