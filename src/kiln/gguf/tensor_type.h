// Tensor element types of GGUF files (the ggml numbering) and their block layouts:
// how many elements a block holds and how many bytes it takes. Kernels and the quantizer
// share these numbers; a wrong one here corrupts every read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace kiln::gguf {

enum class TensorType : std::uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kIQ2_XXS = 16,
  kIQ2_XS = 17,
  kIQ3_XXS = 18,
  kIQ1_S = 19,
  kIQ4_NL = 20,
  kIQ3_S = 21,
  kIQ2_S = 22,
  kIQ4_XS = 23,
  kI8 = 24,
  kI16 = 25,
  kI32 = 26,
  kI64 = 27,
  kF64 = 28,
  kIQ1_M = 29,
  kBF16 = 30,
  kTQ1_0 = 34,
  kTQ2_0 = 35,
  kMXFP4 = 39,
};

struct TensorTypeTraits {
  std::string_view name;         // as llama.cpp prints it: "Q4_K", "BF16", ...
  std::uint32_t block_elements;  // elements per block (1 for plain types)
  std::uint32_t block_bytes;     // bytes per block
};

// Layout of a type known to the GGUF format, or nullopt for a number no type has.
std::optional<TensorTypeTraits> TraitsOf(std::uint32_t raw_type);
TensorTypeTraits TraitsOf(TensorType type);
std::string_view NameOf(TensorType type);
// Parses "q4_k", "Q8_0", "bf16", ... (case-insensitive).
std::optional<TensorType> TensorTypeFromName(std::string_view name);

// Bytes of one row of `elements` elements; the caller has checked divisibility by the block size.
inline std::uint64_t RowBytes(TensorType type, std::uint64_t elements) {
  TensorTypeTraits t = TraitsOf(type);
  return elements / t.block_elements * t.block_bytes;
}

}  // namespace kiln::gguf
