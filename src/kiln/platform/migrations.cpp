#include "kiln/platform/migrations.h"

#include "kiln/base/error.h"

namespace kiln::platform {
namespace {

struct Migration {
  int version;
  const char* name;
  const char* sql;  // portable between SQLite and PostgreSQL
};

// Append only: a released step is never edited, a change is a new step.
// Model lists are comma-joined text; times are Unix milliseconds.
constexpr Migration kMigrations[] = {
    {1, "tenants and api keys", R"sql(
CREATE TABLE tenants (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  allowed_models TEXT NOT NULL DEFAULT '',
  weight DOUBLE PRECISION NOT NULL DEFAULT 1,
  priority INTEGER NOT NULL DEFAULT 0,
  requests_per_minute BIGINT NOT NULL DEFAULT 0,
  tokens_per_minute BIGINT NOT NULL DEFAULT 0,
  daily_token_budget BIGINT NOT NULL DEFAULT 0,
  monthly_token_budget BIGINT NOT NULL DEFAULT 0,
  max_concurrent_requests BIGINT NOT NULL DEFAULT 0,
  created_ms BIGINT NOT NULL,
  updated_ms BIGINT NOT NULL
);
CREATE TABLE api_keys (
  key_id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  name TEXT NOT NULL DEFAULT '',
  allowed_models TEXT NOT NULL DEFAULT '',
  created_ms BIGINT NOT NULL,
  expires_ms BIGINT,
  revoked_ms BIGINT,
  salt TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id);
)sql"},
    // The ledger keeps no foreign key to tenants: it is history and outlives a deleted tenant.
    {2, "usage ledger", R"sql(
CREATE TABLE usage_records (
  request_id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  key_id TEXT NOT NULL DEFAULT '',
  model TEXT NOT NULL,
  prompt_tokens BIGINT NOT NULL,
  cached_tokens BIGINT NOT NULL,
  completion_tokens BIGINT NOT NULL,
  ttft_ms BIGINT NOT NULL,
  latency_ms BIGINT NOT NULL,
  status TEXT NOT NULL,
  finish_reason TEXT NOT NULL,
  started_ms BIGINT NOT NULL,
  finished_ms BIGINT NOT NULL
);
CREATE INDEX usage_by_tenant_time ON usage_records (tenant_id, started_ms);
CREATE INDEX usage_by_time ON usage_records (started_ms);
)sql"},
};

constexpr const char* kCreateMigrationsTable =
    "CREATE TABLE IF NOT EXISTS kiln_schema_migrations ("
    "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ms BIGINT NOT NULL)";

// Any fixed number: the PostgreSQL advisory lock that serializes migrating nodes.
constexpr std::int64_t kMigrationLockKey = 0x6b696c6e;  // "kiln"

int CurrentVersion(SqlConnection& connection) {
  return static_cast<int>(connection
                              .Execute("SELECT COALESCE(MAX(version), 0) FROM "
                                       "kiln_schema_migrations")
                              .rows.at(0)
                              .Int(0));
}

}  // namespace

int LatestSchemaVersion() {
  return kMigrations[std::size(kMigrations) - 1].version;
}

int MigrateSchema(SqlConnection& connection, std::int64_t now_ms, int target_version) {
  const int latest = LatestSchemaVersion();
  if (target_version < 0) target_version = latest;
  if (target_version > latest)
    Fail("schema version {} does not exist (latest {})", target_version, latest);
  while (true) {
    SqlTransaction transaction(connection);
    if (connection.dialect() == SqlDialect::kPostgres) {
      // Held to the end of this transaction; BEGIN IMMEDIATE plays this part on SQLite.
      connection.Execute("SELECT pg_advisory_xact_lock($1)", {kMigrationLockKey});
    }
    connection.Execute(kCreateMigrationsTable);
    const int current = CurrentVersion(connection);
    if (current > latest) {
      Fail(
          "the database schema is at version {}, newer than this build of kiln knows ({}): "
          "upgrade kiln",
          current, latest);
    }
    if (current >= target_version) {
      transaction.Commit();
      return current;
    }
    const Migration& step = kMigrations[current];  // versions are 1, 2, 3, ... in order
    connection.ExecuteScript(step.sql);
    connection.Execute(
        "INSERT INTO kiln_schema_migrations (version, name, applied_ms) VALUES ($1, $2, $3)",
        {std::int64_t{step.version}, std::string(step.name), now_ms});
    transaction.Commit();
  }
}

std::vector<AppliedMigration> AppliedMigrations(SqlConnection& connection) {
  std::vector<AppliedMigration> out;
  for (const SqlRow& row :
       connection
           .Execute("SELECT version, name, applied_ms FROM kiln_schema_migrations ORDER BY version")
           .rows) {
    out.push_back({static_cast<int>(row.Int(0)), row.Text(1), row.Int(2)});
  }
  return out;
}

}  // namespace kiln::platform
