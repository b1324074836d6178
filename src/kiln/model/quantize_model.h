// Model quantization: rewrites a GGUF model with its weight matrices in another encoding, choosing
// each tensor's type the way llama.cpp's file types do (Q4_K_M keeps a few sensitive matrices in
// Q6_K) and streaming tensors through the writer so the output is never held in memory.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kiln/gguf/tensor_type.h"
#include "kiln/kernels/thread_pool.h"

namespace kiln::model {

struct QuantizeReport {
  std::uint32_t file_type = 0;
  bool requantized = false;  // the input had quantized weights that were decoded first
  std::vector<std::pair<std::string, gguf::TensorType>> tensor_types;  // output, in file order
  std::uint64_t input_bytes = 0;
  std::uint64_t output_bytes = 0;
};

// The tensor type of `name` (a tensor of `shape`, ggml order) in a file of `file_type`, for a model
// of `n_layers` blocks. One-dimensional tensors stay F32; output.weight (or a tied token_embd)
// goes to Q6_K for quantized file types; Q4_K_M/Q5_K_M put attn_v and ffn_down of the first and
// last eighth of the layers and every third layer between them in Q6_K (llama.cpp's
// use_more_bits); K types fall back to legacy types when a row is not a multiple of 256.
gguf::TensorType ChooseTensorType(std::uint32_t file_type, const std::string& name,
                                  const std::vector<std::uint64_t>& shape, int n_layers,
                                  bool tied_embeddings);

// Quantizes `input` into `output` as `file_type` (a name FileTypeFromName accepts: q8_0, q4_k_m,
// f16, ...). Metadata is copied with general.file_type set. kiln::Error for an unknown type, a
// file that cannot be read or written, or values a type cannot encode.
QuantizeReport QuantizeModel(const std::string& input, const std::string& output,
                             const std::string& file_type, kernels::ThreadPool& pool);

}  // namespace kiln::model
