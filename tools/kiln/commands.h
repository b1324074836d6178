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
void RegisterModelCommands(CLI::App& app);      // kiln model info
void RegisterTokenizeCommands(CLI::App& app);   // kiln tokenize, kiln detokenize
void RegisterTemplateCommands(CLI::App& app);   // kiln template render
void RegisterServeCommand(CLI::App& app);       // kiln serve

}  // namespace kiln::cli
