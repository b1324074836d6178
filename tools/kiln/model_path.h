// Turns the MODEL argument of a command into a GGUF path: a file path as given, or the name of a
// built-in model ("kiln-demo") that is synthesized into the data directory on first use.
#pragma once

#include <string>

namespace kiln::cli {

// `data_dir` overrides where kiln-demo is cached (default: $KILN_DATA_DIR, else
// $XDG_DATA_HOME/kiln, else ~/.local/share/kiln).
std::string ResolveModelPath(const std::string& model, const std::string& data_dir = {});

// Where Kiln keeps its files: $KILN_DATA_DIR, else $XDG_DATA_HOME/kiln, else ~/.local/share/kiln.
std::string DataDirectory();

}  // namespace kiln::cli
