// ModelConfig: the hyper-parameters of a decoder model as plain data, read from the GGUF
// metadata under the architecture's key prefix ("llama.embedding_length", ...). Everything the
// forward pass needs to size buffers and interpret tensors lives here; weights live elsewhere.
#pragma once

#include <cstdint>
#include <string>

#include "kiln/gguf/gguf_file.h"
#include "kiln/model/architecture.h"

namespace kiln::model {

enum class RopeScaling {
  kNone,
  kLinear,  // positions divided by `factor` (position interpolation)
  kYarn,    // YaRN: interpolate low frequencies, keep high ones, scale attention
};

struct RopeConfig {
  RopeStyle style = RopeStyle::kNormal;
  int dimension_count = 0;  // leading dimensions of each head that are rotated (<= key_length)
  double freq_base = 10000.0;
  RopeScaling scaling = RopeScaling::kNone;
  double factor = 1.0;              // context extension factor (linear, yarn)
  int original_context_length = 0;  // training context before extension (yarn)
  double yarn_beta_fast = 32.0;
  double yarn_beta_slow = 1.0;
  // Llama 3 style scaling: per-frequency divisors in the rope_freqs.weight tensor, which
  // converters write instead of metadata. Applies on top of `scaling`.
  bool has_freq_factors = false;
};

struct ModelConfig {
  Architecture architecture = Architecture::kLlama;
  std::string name;  // general.name, or the architecture when absent

  int context_length = 0;
  int embedding_length = 0;
  int block_count = 0;
  int feed_forward_length = 0;
  int head_count = 0;
  int head_count_kv = 0;
  int key_length = 0;    // per head; embedding_length / head_count unless stated
  int value_length = 0;  // per head
  float rms_epsilon = 1e-5f;
  int vocab_size = 0;
  RopeConfig rope;

  int q_width() const { return head_count * key_length; }
  int k_width() const { return head_count_kv * key_length; }
  int v_width() const { return head_count_kv * value_length; }
  int attention_out_width() const { return head_count * value_length; }
};

// Reads and checks the configuration; kiln::Error naming the key for anything missing,
// out of range or inconsistent, and for an architecture Kiln does not run.
ModelConfig ReadModelConfig(const gguf::GgufFile& file);

}  // namespace kiln::model
