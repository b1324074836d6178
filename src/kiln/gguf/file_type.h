// Model file types ("general.file_type"): llama.cpp's llama_ftype numbering and names, and the
// file type a model most likely has when it does not say, judged from its main weight type.
// The quantizer writes these numbers; `kiln model info` prints the names.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "kiln/gguf/tensor_type.h"

namespace kiln::gguf {

// Name of a general.file_type value ("MOSTLY_Q4_K_M", "ALL_F32"), or nullopt for an unknown number.
std::optional<std::string_view> FileTypeName(std::uint32_t file_type);

// The number for a name as FileTypeName writes it, case-insensitive, with or without the
// "MOSTLY_"/"ALL_" prefix ("q4_k_m", "MOSTLY_Q8_0", "bf16", "f32"), or nullopt.
std::optional<std::uint32_t> FileTypeFromName(std::string_view name);

// The file type a model whose weight matrices are mostly `type` is written as: the medium
// variant for K-quants (Q4_K -> MOSTLY_Q4_K_M), the plain one otherwise; nullopt for types no
// file type is named after (Q8_K, I32, ...).
std::optional<std::uint32_t> FileTypeForWeightType(TensorType type);

}  // namespace kiln::gguf
