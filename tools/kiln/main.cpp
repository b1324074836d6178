// kiln: the command-line entry point. Parses flags and hands off to the libraries.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "commands.h"
#include "kiln/base/error.h"

int main(int argc, char** argv) {
  CLI::App app{"Kiln: large language models as a service"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "kiln 0.1.0");
  kiln::cli::RegisterModelCommands(app);
  kiln::cli::RegisterTokenizeCommands(app);
  kiln::cli::RegisterRunCommand(app);
  kiln::cli::RegisterQuantizeCommand(app);
  kiln::cli::RegisterPerplexityCommand(app);
  kiln::cli::RegisterTemplateCommands(app);
  kiln::cli::RegisterTenantCommands(app);
  kiln::cli::RegisterKeyCommands(app);
  kiln::cli::RegisterUsageCommand(app);
  kiln::cli::RegisterBenchCommands(app);
  kiln::cli::RegisterServeCommand(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const kiln::Error& e) {
    fmt::print(stderr, "kiln: error: {}\n", e.what());
    return 1;
  }
  return 0;
}
