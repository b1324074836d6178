// The decoder architectures Kiln runs, as plain data: what sets one apart from the others
// (RoPE pairing, Q/K/V biases, per-head Q/K norms). Adding an architecture that fits the shared
// decoder block is one row in architecture.cpp.
#pragma once

#include <string>
#include <string_view>

namespace kiln::model {

enum class Architecture { kLlama, kQwen2, kQwen3 };

// How RoPE pairs the dimensions of a head it rotates.
enum class RopeStyle {
  kNormal,  // adjacent pairs (x[2i], x[2i+1]); llama
  kNeox,    // halves (x[i], x[i + d/2]); GPT-NeoX, qwen2, qwen3
};

struct ArchitectureTraits {
  Architecture id;
  std::string_view name;  // general.architecture, also the metadata key prefix
  RopeStyle rope_style;
  bool qkv_bias;  // attn_q/k/v.bias tensors (qwen2)
  bool qk_norm;   // attn_q_norm/attn_k_norm per-head RMSNorm before RoPE (qwen3)
};

// Traits of `name` (general.architecture); kiln::Error listing the supported names otherwise.
const ArchitectureTraits& FindArchitecture(std::string_view name);
const ArchitectureTraits& TraitsOf(Architecture arch);
// "llama, qwen2, qwen3", for messages.
std::string SupportedArchitectures();

}  // namespace kiln::model
