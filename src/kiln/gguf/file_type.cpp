#include "kiln/gguf/file_type.h"

#include <array>
#include <cctype>
#include <string>

namespace kiln::gguf {
namespace {

struct FileTypeEntry {
  std::uint32_t id;
  std::string_view name;
};

// llama.h's llama_ftype. Numbers 4, 5, 6 and 33..35 were retired there and are absent here.
constexpr std::array<FileTypeEntry, 33> kFileTypes{{
    {0, "ALL_F32"},           {1, "MOSTLY_F16"},     {2, "MOSTLY_Q4_0"},    {3, "MOSTLY_Q4_1"},
    {7, "MOSTLY_Q8_0"},       {8, "MOSTLY_Q5_0"},    {9, "MOSTLY_Q5_1"},    {10, "MOSTLY_Q2_K"},
    {11, "MOSTLY_Q3_K_S"},    {12, "MOSTLY_Q3_K_M"}, {13, "MOSTLY_Q3_K_L"}, {14, "MOSTLY_Q4_K_S"},
    {15, "MOSTLY_Q4_K_M"},    {16, "MOSTLY_Q5_K_S"}, {17, "MOSTLY_Q5_K_M"}, {18, "MOSTLY_Q6_K"},
    {19, "MOSTLY_IQ2_XXS"},   {20, "MOSTLY_IQ2_XS"}, {21, "MOSTLY_Q2_K_S"}, {22, "MOSTLY_IQ3_XS"},
    {23, "MOSTLY_IQ3_XXS"},   {24, "MOSTLY_IQ1_S"},  {25, "MOSTLY_IQ4_NL"}, {26, "MOSTLY_IQ3_S"},
    {27, "MOSTLY_IQ3_M"},     {28, "MOSTLY_IQ2_S"},  {29, "MOSTLY_IQ2_M"},  {30, "MOSTLY_IQ4_XS"},
    {31, "MOSTLY_IQ1_M"},     {32, "MOSTLY_BF16"},   {36, "MOSTLY_TQ1_0"},  {37, "MOSTLY_TQ2_0"},
    {38, "MOSTLY_MXFP4_MOE"},
}};

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::optional<std::string_view> FileTypeName(std::uint32_t file_type) {
  for (const FileTypeEntry& e : kFileTypes) {
    if (e.id == file_type) return e.name;
  }
  return std::nullopt;
}

std::optional<std::uint32_t> FileTypeFromName(std::string_view name) {
  std::string upper = Upper(name);
  for (const FileTypeEntry& e : kFileTypes) {
    if (e.name == upper || e.name == "MOSTLY_" + upper || e.name == "ALL_" + upper) return e.id;
  }
  return std::nullopt;
}

std::optional<std::uint32_t> FileTypeForWeightType(TensorType type) {
  switch (type) {
    case TensorType::kF32:
      return 0;
    case TensorType::kF16:
      return 1;
    case TensorType::kQ4_0:
      return 2;
    case TensorType::kQ4_1:
      return 3;
    case TensorType::kQ8_0:
      return 7;
    case TensorType::kQ5_0:
      return 8;
    case TensorType::kQ5_1:
      return 9;
    case TensorType::kQ2_K:
      return 10;
    case TensorType::kQ3_K:
      return 12;
    case TensorType::kQ4_K:
      return 15;
    case TensorType::kQ5_K:
      return 17;
    case TensorType::kQ6_K:
      return 18;
    case TensorType::kIQ2_XXS:
      return 19;
    case TensorType::kIQ2_XS:
      return 20;
    case TensorType::kIQ3_XXS:
      return 23;
    case TensorType::kIQ1_S:
      return 24;
    case TensorType::kIQ4_NL:
      return 25;
    case TensorType::kIQ3_S:
      return 26;
    case TensorType::kIQ2_S:
      return 28;
    case TensorType::kIQ4_XS:
      return 30;
    case TensorType::kIQ1_M:
      return 31;
    case TensorType::kBF16:
      return 32;
    case TensorType::kTQ1_0:
      return 36;
    case TensorType::kTQ2_0:
      return 37;
    case TensorType::kMXFP4:
      return 38;
    default:
      return std::nullopt;
  }
}

}  // namespace kiln::gguf
