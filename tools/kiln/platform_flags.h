// Flags shared by the service-layer commands (tenants, keys, usage): the database URL, which
// defaults to a SQLite file in the data directory, and the output format.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

#include "kiln/platform/store.h"

namespace kiln::cli {

struct DatabaseFlag {
  std::string url;  // empty: the default
  std::unique_ptr<platform::Store> Open() const;
};

void AddDatabaseFlag(CLI::App& command, DatabaseFlag& flag);
void AddFormatFlag(CLI::App& command, std::string& format, std::vector<std::string> choices);
std::vector<std::string> SplitList(const std::string& text);  // "a,b" -> {"a", "b"}
std::string JoinList(const std::vector<std::string>& items);  // {"a", "b"} -> "a,b"
std::string FormatTime(std::int64_t unix_ms);                 // "" for 0

}  // namespace kiln::cli
