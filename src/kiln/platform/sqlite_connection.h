// SQLite backend of SqlConnection: WAL journal, a busy timeout, and synchronous=FULL so that a
// committed ledger record survives power loss, not only a crash of the process.
#pragma once

#include <memory>
#include <string>

#include "kiln/platform/sql_connection.h"

namespace kiln::platform {

std::unique_ptr<SqlConnection> OpenSqliteConnection(const std::string& path);

}  // namespace kiln::platform
