// Versioned schema migrations. The schema's history is a list of numbered steps; the table
// kiln_schema_migrations records which were applied. Each step runs once, in its own write
// transaction that also records it, so a crash leaves the schema at a whole version and
// concurrent starters (several nodes on one PostgreSQL) apply each step exactly once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kiln/platform/sql_connection.h"

namespace kiln::platform {

struct AppliedMigration {
  int version = 0;
  std::string name;
  std::int64_t applied_ms = 0;
};

int LatestSchemaVersion();

// Brings the schema up to `target_version` (default: the latest) and returns the version it is
// at. Throws kiln::Error when the database holds a newer schema than this build knows.
int MigrateSchema(SqlConnection& connection, std::int64_t now_ms, int target_version = -1);

std::vector<AppliedMigration> AppliedMigrations(SqlConnection& connection);

}  // namespace kiln::platform
