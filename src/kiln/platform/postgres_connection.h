// PostgreSQL backend of SqlConnection through libpqxx, for deployments where several Kiln nodes
// share one ledger.
#pragma once

#include <memory>
#include <string>

#include "kiln/platform/sql_connection.h"

namespace kiln::platform {

std::unique_ptr<SqlConnection> OpenPostgresConnection(const std::string& url);

}  // namespace kiln::platform
