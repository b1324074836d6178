// A deliberately plain float64 forward pass for tests: every weight dequantized to double with
// DequantizeRow, full causal attention recomputed from scratch, no cache, no threads, no SIMD.
// It shares only ModelConfig parsing with the engine, so agreeing with it means something.
#pragma once

#include <string>
#include <vector>

#include "kiln/gguf/gguf_file.h"
#include "kiln/model/model_config.h"

namespace kiln::model::testing {

class ReferenceForward {
 public:
  explicit ReferenceForward(const std::string& path);

  const ModelConfig& config() const { return config_; }

  // Log-probabilities (log-softmax of the logits) after each prefix tokens[0..p], for every p.
  std::vector<std::vector<double>> LogProbs(const std::vector<int>& tokens) const;

 private:
  using Matrix = std::vector<double>;  // row-major [rows][cols]
  struct Layer {
    std::vector<double> attn_norm, ffn_norm, q_bias, k_bias, v_bias, q_norm, k_norm;
    Matrix wq, wk, wv, wo, gate, up, down;
  };

  Matrix Load(const std::string& name) const;
  std::vector<double> LoadOptional(const std::string& name) const;

  gguf::GgufFile file_;
  ModelConfig config_;
  Matrix embedding_, output_;
  std::vector<double> output_norm_, rope_freqs_;
  std::vector<Layer> layers_;
};

}  // namespace kiln::model::testing
