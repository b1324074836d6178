// The built-in demo model "kiln-demo": a small llama-architecture model with seeded random weights
// (Q8_0) and a byte-level BPE vocabulary trained here on an embedded paragraph, plus ChatML
// special tokens and template. It lets every command run with no download; its output is noise.
#pragma once

#include <string>

namespace kiln::model {

inline constexpr const char* kDemoModelName = "kiln-demo";

// Writes the demo model to `path` (atomically). Deterministic: the same bytes every time.
void WriteDemoModel(const std::string& path);

// The demo model's path under `data_dir` (kiln-demo.gguf), writing it (and the directory) first
// when it is missing. kiln::Error when the directory cannot be created or written.
std::string EnsureDemoModel(const std::string& data_dir);

}  // namespace kiln::model
