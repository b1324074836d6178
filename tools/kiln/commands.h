// Each `kiln` subcommand registers itself on the CLI11 app; the command files only parse flags,
// call the libraries, and print.
#pragma once

#include <CLI/CLI.hpp>

namespace kiln::cli {

void RegisterModelCommands(CLI::App& app);      // kiln model info
void RegisterTokenizeCommands(CLI::App& app);   // kiln tokenize, kiln detokenize
void RegisterRunCommand(CLI::App& app);         // kiln run
void RegisterQuantizeCommand(CLI::App& app);    // kiln quantize
void RegisterPerplexityCommand(CLI::App& app);  // kiln perplexity
void RegisterTemplateCommands(CLI::App& app);   // kiln template render
void RegisterTenantCommands(CLI::App& app);     // kiln tenants create|list|update|delete
void RegisterKeyCommands(CLI::App& app);        // kiln keys create|list|revoke|rotate
void RegisterUsageCommand(CLI::App& app);       // kiln usage
void RegisterBenchCommands(CLI::App& app);      // kiln bench serve | model | --compare
void RegisterServeCommand(CLI::App& app);       // kiln serve

}  // namespace kiln::cli
