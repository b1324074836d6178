// Test helper: GGUF models built in memory with seeded random F32/F16 weights, for shapes and
// options no fixture has (RoPE scaling, partial rotation, Llama 3 frequency factors, odd head
// sizes) and for malformed files (wrong shapes, unsupported types).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "kiln/gguf/tensor_type.h"
#include "kiln/gguf/value.h"

namespace kiln::model::testing {

// A minimal GGUF v3 writer: scalar and string metadata, tensors with their raw bytes.
class GgufBuilder {
 public:
  void Set(const std::string& key, gguf::Value value) { metadata_[key] = std::move(value); }
  void Erase(const std::string& key) { metadata_.erase(key); }
  // `shape` in ggml order (shape[0] is the row length).
  void AddTensor(const std::string& name, std::vector<std::uint64_t> shape, gguf::TensorType type,
                 std::vector<std::uint8_t> bytes);
  void RemoveTensor(const std::string& name) { tensors_.erase(name); }
  std::vector<std::uint8_t> Build() const;

 private:
  struct Tensor {
    std::vector<std::uint64_t> shape;
    gguf::TensorType type;
    std::vector<std::uint8_t> bytes;
  };
  std::map<std::string, gguf::Value> metadata_;
  std::map<std::string, Tensor> tensors_;
};

struct SyntheticSpec {
  std::string architecture = "llama";
  int embedding = 64;
  int layers = 2;
  int heads = 4;
  int kv_heads = 2;
  int key_length = 16;  // written to metadata only when != embedding / heads
  int ffn = 96;
  int vocab = 300;
  int rope_dims = 0;                                      // 0: the whole head
  gguf::TensorType weight_type = gguf::TensorType::kF32;  // kF32 or kF16 matrices
  bool tied_output = false;
  bool rope_freqs = false;  // write a Llama 3 style rope_freqs.weight
  std::uint32_t seed = 1;
};

// The builder for a whole model of `spec` (metadata and every tensor), ready to be modified.
GgufBuilder SyntheticModel(const SyntheticSpec& spec);

}  // namespace kiln::model::testing
