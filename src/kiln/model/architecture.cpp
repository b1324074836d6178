#include "kiln/model/architecture.h"

#include <array>

#include "kiln/base/error.h"

namespace kiln::model {
namespace {

constexpr std::array kArchitectures = {
    ArchitectureTraits{Architecture::kLlama, "llama", RopeStyle::kNormal, false, false},
    ArchitectureTraits{Architecture::kQwen2, "qwen2", RopeStyle::kNeox, true, false},
    ArchitectureTraits{Architecture::kQwen3, "qwen3", RopeStyle::kNeox, false, true},
};

}  // namespace

const ArchitectureTraits& FindArchitecture(std::string_view name) {
  for (const ArchitectureTraits& a : kArchitectures) {
    if (a.name == name) return a;
  }
  Fail("unsupported model architecture '{}'; Kiln runs: {}", name, SupportedArchitectures());
}

const ArchitectureTraits& TraitsOf(Architecture arch) {
  for (const ArchitectureTraits& a : kArchitectures) {
    if (a.id == arch) return a;
  }
  Fail("unknown architecture id {}", static_cast<int>(arch));
}

std::string SupportedArchitectures() {
  std::string out;
  for (const ArchitectureTraits& a : kArchitectures) {
    if (!out.empty()) out += ", ";
    out += a.name;
  }
  return out;
}

}  // namespace kiln::model
