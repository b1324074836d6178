// ModelSummary: what a person wants to know about a GGUF model at a glance (architecture, size,
// hyperparameters, tokenizer, quantization mix, file type), computed from a GgufFile's metadata
// and tensor table alone. `kiln model info` prints it; nothing here reads tensor data.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kiln/gguf/gguf_file.h"
#include "kiln/gguf/tensor_type.h"

namespace kiln::gguf {

// How much of the model one tensor type holds.
struct TensorTypeUsage {
  TensorType type = TensorType::kF32;
  std::uint64_t tensor_count = 0;
  std::uint64_t elements = 0;
  std::uint64_t bytes = 0;
};

// One special token the tokenizer metadata names (tokenizer.ggml.<key>_token_id).
struct SpecialToken {
  std::string role;  // "bos", "eos", "eot", "unk", "pad", ...
  std::int64_t id = 0;
  std::optional<std::string> text;  // nullopt when the id is outside the vocabulary
};

struct ModelSummary {
  // The file.
  std::string path;
  std::uint32_t gguf_version = 0;
  std::uint64_t file_size = 0;
  std::uint32_t alignment = 0;
  std::uint64_t metadata_count = 0;
  std::uint64_t tensor_count = 0;

  // The model. Hyperparameters are nullopt when the file does not give them.
  std::string architecture;  // general.architecture, or "" when absent
  std::optional<std::string> name;
  std::uint64_t parameter_count = 0;  // sum of all tensors' element counts
  std::uint64_t tensor_bytes = 0;     // sum of all tensors' data sizes
  std::optional<std::uint64_t> context_length;
  std::optional<std::uint64_t> block_count;
  std::optional<std::uint64_t> embedding_length;
  std::optional<std::uint64_t> feed_forward_length;
  std::optional<std::uint64_t> head_count;
  std::optional<std::uint64_t> head_count_kv;  // defaults to head_count, as llama.cpp reads it
  std::optional<std::uint64_t> key_length;     // per head; embedding_length / head_count if unset
  std::optional<std::uint64_t> value_length;   // per head; key_length if unset
  std::optional<double> rope_freq_base;
  std::optional<double> norm_eps;  // RMS norm epsilon, else layer norm epsilon

  // The tokenizer.
  std::optional<std::uint64_t> vocab_size;     // token list size, else <arch>.vocab_size
  std::optional<std::string> tokenizer_model;  // tokenizer.ggml.model: "llama", "gpt2", ...
  std::optional<std::string> tokenizer_pre;    // tokenizer.ggml.pre
  std::vector<SpecialToken> special_tokens;
  bool has_chat_template = false;

  // Quantization: usage per tensor type, most bytes first, and the file type.
  std::vector<TensorTypeUsage> quantization;
  std::optional<std::uint64_t> file_type_id;  // general.file_type, or the guessed number
  std::string file_type;                      // "MOSTLY_Q4_K_M"; "UNKNOWN" if it cannot be named
  bool file_type_guessed = false;             // no general.file_type: judged from the mix

  // Bits of storage per parameter (0 for a model without tensors).
  double bits_per_weight() const {
    return parameter_count == 0
               ? 0.0
               : 8.0 * static_cast<double>(tensor_bytes) / static_cast<double>(parameter_count);
  }
};

// Throws kiln::Error naming the file and key when a key is present with the wrong type.
ModelSummary Summarize(const GgufFile& file);

}  // namespace kiln::gguf
