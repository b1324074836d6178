// Store: the service layer's persistent state (tenants, API keys, the usage ledger) behind one
// API, on SQLite or PostgreSQL. Opening a store brings its schema up to date. Thread-safe: each
// call borrows a connection from a small pool, so calls from many threads run side by side.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "kiln/platform/clock.h"
#include "kiln/platform/migrations.h"
#include "kiln/platform/records.h"
#include "kiln/platform/sql_connection.h"

namespace kiln::platform {

struct StoreOptions {
  int schema_version = -1;  // migrate to this version; -1: the latest (other values: tests)
  int max_connections = 8;
  const Clock* clock = nullptr;  // for created/updated times; nullptr: the system clock
};

class Store {
 public:
  // `url`: see OpenSqlConnection. Throws kiln::Error when the database cannot be opened or
  // migrated.
  static std::unique_ptr<Store> Open(const std::string& url, const StoreOptions& options = {});
  ~Store();

  const std::string& url() const { return redacted_url_; }  // password masked
  SqlDialect dialect() const { return dialect_; }
  int SchemaVersion();
  std::vector<AppliedMigration> Migrations();

  // Tenants. Create fails if the id exists; Update replaces every field but id and created_ms
  // and fails if the tenant is missing; Delete also deletes the tenant's keys (its usage stays).
  void CreateTenant(const Tenant& tenant);
  std::optional<Tenant> FindTenant(const std::string& id);
  std::vector<Tenant> ListTenants();
  void UpdateTenant(const Tenant& tenant);
  bool DeleteTenant(const std::string& id);

  // API keys (see api_keys.h for creating one with a secret).
  void InsertKey(const ApiKey& key);
  std::optional<ApiKey> FindKey(const std::string& key_id);
  std::vector<ApiKey> ListKeys(const std::optional<std::string>& tenant_id = std::nullopt);
  bool RevokeKey(const std::string& key_id, std::int64_t revoked_ms);  // false: no such key
  // Replaces the stored salt and hash (rotation); false: no such key.
  bool ReplaceKeySecret(const std::string& key_id, const std::string& salt_hex,
                        const std::string& hash_hex);

  // The ledger. A record is committed (durable, see sqlite_connection.cpp) before this returns.
  // Idempotent by request id: recording an id that is already there changes nothing and
  // returns false, so a retried write after a lost reply cannot bill twice.
  bool RecordUsage(const UsageRecord& record);
  // Several records in one transaction (one fsync); returns how many were new.
  std::size_t RecordUsageBatch(std::span<const UsageRecord> records);
  std::vector<UsageRow> QueryUsage(const UsageQuery& query);
  // prompt + completion tokens of a tenant's requests started at or after since_ms.
  std::int64_t TokensUsedSince(const std::string& tenant_id, std::int64_t since_ms);
  std::vector<UsageRecord> ListUsage(const UsageQuery& query);  // raw records, oldest first

 private:
  // A borrowed connection, given back to the pool when the lease ends.
  class Lease {
   public:
    Lease(Store& store, std::unique_ptr<SqlConnection> connection);
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    SqlConnection* operator->() { return connection_.get(); }
    SqlConnection& operator*() { return *connection_; }

   private:
    Store* store_;
    std::unique_ptr<SqlConnection> connection_;
    int exceptions_;
  };

  Store(std::string url, const StoreOptions& options);
  Lease Acquire();
  void Release(std::unique_ptr<SqlConnection> connection);
  std::int64_t Now() const;

  std::string url_;
  std::string redacted_url_;
  SqlDialect dialect_ = SqlDialect::kSqlite;
  StoreOptions options_;
  SystemClock system_clock_;
  std::mutex mutex_;
  std::condition_variable released_;
  std::vector<std::unique_ptr<SqlConnection>> idle_;
  int open_connections_ = 0;
};

// Validates a tenant id: [a-z0-9][a-z0-9_.-]{0,63}. Throws kiln::Error with the rule.
void CheckTenantId(const std::string& id);
// Model lists are stored comma-joined; names may not contain commas or be empty.
std::string JoinModels(const std::vector<std::string>& models);
std::vector<std::string> SplitModels(const std::string& text);

}  // namespace kiln::platform
