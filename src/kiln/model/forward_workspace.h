// ForwardWorkspace: every scratch buffer of a forward pass, sized once for a largest batch so
// that the hot path allocates nothing. One workspace serves one forward call at a time; the
// ForwardResult of a call points into it until the next call.
#pragma once

#include <vector>

#include "kiln/model/model_config.h"

namespace kiln::model {

class ForwardWorkspace {
 public:
  // Room for batches of up to `max_tokens` tokens of which up to `max_outputs` want logits.
  ForwardWorkspace(const ModelConfig& config, int max_tokens, int max_outputs);

  int max_tokens() const { return max_tokens_; }
  int max_outputs() const { return max_outputs_; }

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

 private:
  int max_tokens_;
  int max_outputs_;
};

}  // namespace kiln::model
