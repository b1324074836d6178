#include "commands.h"

namespace kiln::cli {
void RegisterModelCommands(CLI::App&) {}
}  // namespace kiln::cli
