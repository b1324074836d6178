#include "model_path.h"

#include <filesystem>

#include "kiln/base/error.h"

namespace kiln::cli {

std::string ResolveModelPath(const std::string& model) {
  if (!std::filesystem::exists(model)) {
    Fail("model file '{}' does not exist (give the path of a .gguf file)", model);
  }
  return model;
}

}  // namespace kiln::cli
