#include "commands.h"

namespace kiln::cli {
void RegisterTokenizeCommands(CLI::App&) {}
}  // namespace kiln::cli
