// ModelWeights: every tensor of a decoder model bound by role (layer i's attn_q, ...), checked
// against the ModelConfig. Matrices stay in the file's memory map in their stored format; only
// the small vectors (norm weights, biases) are converted to floats once at load.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kiln/gguf/gguf_file.h"
#include "kiln/kernels/matmul.h"
#include "kiln/model/model_config.h"

namespace kiln::model {

// A matrix of `rows` rows of `cols` elements as stored in the file (ggml shape [cols, rows]),
// pointing into the memory map.
using Weight = kernels::WeightMatrix;

inline const std::uint8_t* RowOf(const Weight& w, std::int64_t r) {
  return static_cast<const std::uint8_t*>(w.data) + r * w.row_bytes;
}

struct LayerWeights {
  std::vector<float> attn_norm;
  Weight attn_q, attn_k, attn_v, attn_output;
  std::vector<float> q_bias, k_bias, v_bias;  // empty unless the architecture has them
  std::vector<float> q_norm, k_norm;          // per-head norms; empty unless qk_norm
  std::vector<float> ffn_norm;
  Weight ffn_gate, ffn_up, ffn_down;
};

struct ModelWeights {
  Weight token_embd;  // [vocab][embedding_length]
  std::vector<LayerWeights> layers;
  std::vector<float> output_norm;
  Weight output;  // [vocab][embedding_length]; token_embd when the file ties them
  bool tied_output = false;
  std::vector<float> rope_freqs;  // Llama 3 frequency divisors; usually empty
};

// Binds and checks every tensor the architecture needs; kiln::Error naming the tensor for one
// that is missing, misshapen, or of a type Kiln cannot compute with.
ModelWeights BindWeights(const gguf::GgufFile& file, const ModelConfig& config);

// The matrix types the forward pass computes with (MatMul and embedding lookup), for messages:
// "F32, F16, BF16, Q4_0, ...".
std::string SupportedWeightTypes();
bool IsSupportedWeightType(gguf::TensorType type);

}  // namespace kiln::model
