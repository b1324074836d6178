// ForwardWorkspace: every scratch buffer of a forward pass, sized once for a largest batch so
// that the hot path allocates nothing. One workspace serves one forward call at a time; the
// ForwardResult of a call points into it until the next call.
#pragma once

#include <vector>

#include "kiln/kernels/matmul.h"
#include "kiln/model/model_config.h"

namespace kiln::model {

// How activations enter matrix products with quantized weights. MatMul's integer kernels take
// activations rounded to 8 bits, which on its own lands as far from exact as llama.cpp does.
enum class ActivationPrecision {
  // Activations split into an 8-bit part and its 8-bit remainder, both multiplied in one MatMul
  // call (weights are still read once): about 16-bit precision, exact against the float64 oracle
  // to ~1e-5, for twice the integer arithmetic. The default.
  kExact,
  // One 8-bit pass, like llama.cpp: faster prefill, log-probabilities off by ~0.1-0.7 on the
  // random-weight fixtures.
  kFast,
};

class ForwardWorkspace {
 public:
  // Room for batches of up to `max_tokens` tokens of which up to `max_outputs` want logits.
  ForwardWorkspace(const ModelConfig& config, int max_tokens, int max_outputs,
                   ActivationPrecision precision = ActivationPrecision::kExact);

  int max_tokens() const { return max_tokens_; }
  int max_outputs() const { return max_outputs_; }
  ActivationPrecision precision() const { return precision_; }

  // Activations, [token][width] each; all owned here.
  std::vector<float> residual;   // [embedding]
  std::vector<float> normed;     // [embedding]
  std::vector<float> q;          // [q_width]
  std::vector<float> k;          // [k_width]
  std::vector<float> v;          // [v_width]
  std::vector<float> attention;  // [attention_out_width]
  std::vector<float> gate;       // [feed_forward]
  std::vector<float> up;         // [feed_forward]
  std::vector<float> rope_cos;   // [rope.dimension_count / 2]
  std::vector<float> rope_sin;
  std::vector<int> output_tokens;  // batch index of each output
  std::vector<float> hidden;       // [output][embedding]
  std::vector<float> logits;       // [output][vocab]
  kernels::MatMulScratch matmul_scratch;
  // kExact only: [2 * tokens][input width] split activations and [2 * tokens][output width] their
  // products, for up to max_tokens tokens of a layer matrix or logits_chunk tokens of the output.
  std::vector<float> split_in;
  std::vector<float> split_out;
  int logits_chunk = 0;

 private:
  int max_tokens_;
  int max_outputs_;
  ActivationPrecision precision_;
};

}  // namespace kiln::model
