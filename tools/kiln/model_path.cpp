#include "model_path.h"

#include <cstdlib>
#include <filesystem>

#include "kiln/base/error.h"
#include "kiln/model/demo_model.h"

namespace kiln::cli {

std::string DataDirectory() {
  if (const char* dir = std::getenv("KILN_DATA_DIR"); dir != nullptr && *dir != '\0') return dir;
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg != nullptr && *xdg != '\0') {
    return std::string(xdg) + "/kiln";
  }
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0') {
    Fail("cannot find the data directory: set KILN_DATA_DIR (or HOME) to a writable directory");
  }
  return std::string(home) + "/.local/share/kiln";
}

std::string ResolveModelPath(const std::string& model, const std::string& data_dir) {
  if (model.empty() || model == model::kDemoModelName) {
    return model::EnsureDemoModel(data_dir.empty() ? DataDirectory() : data_dir);
  }
  if (!std::filesystem::exists(model)) {
    Fail("model file '{}' does not exist (give the path of a .gguf file, or kiln-demo)", model);
  }
  return model;
}

}  // namespace kiln::cli
