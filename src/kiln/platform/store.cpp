#include "kiln/platform/store.h"

#include <exception>

#include "kiln/base/error.h"

namespace kiln::platform {

Store::Lease::Lease(Store& store, std::unique_ptr<SqlConnection> connection)
    : store_(&store), connection_(std::move(connection)), exceptions_(std::uncaught_exceptions()) {}

Store::Lease::Lease(Lease&& other) noexcept
    : store_(other.store_),
      connection_(std::move(other.connection_)),
      exceptions_(other.exceptions_) {}

// A connection that was in use when an exception left the call is closed instead of pooled:
// it may be broken or mid-transaction.
Store::Lease::~Lease() {
  if (!connection_) return;
  if (std::uncaught_exceptions() > exceptions_) connection_.reset();
  store_->Release(std::move(connection_));
}

namespace {

constexpr const char* kTenantColumns =
    "id, name, allowed_models, weight, priority, requests_per_minute, tokens_per_minute, "
    "daily_token_budget, monthly_token_budget, max_concurrent_requests, created_ms, updated_ms";

Tenant TenantFromRow(const SqlRow& row) {
  Tenant t;
  t.id = row.Text(0);
  t.name = row.Text(1);
  t.allowed_models = SplitModels(row.Text(2));
  t.weight = row.Real(3);
  t.priority = static_cast<int>(row.Int(4));
  t.requests_per_minute = row.Int(5);
  t.tokens_per_minute = row.Int(6);
  t.daily_token_budget = row.Int(7);
  t.monthly_token_budget = row.Int(8);
  t.max_concurrent_requests = row.Int(9);
  t.created_ms = row.Int(10);
  t.updated_ms = row.Int(11);
  return t;
}

constexpr const char* kKeyColumns =
    "key_id, tenant_id, name, allowed_models, created_ms, expires_ms, revoked_ms, salt, hash";

ApiKey KeyFromRow(const SqlRow& row) {
  ApiKey k;
  k.key_id = row.Text(0);
  k.tenant_id = row.Text(1);
  k.name = row.Text(2);
  k.allowed_models = SplitModels(row.Text(3));
  k.created_ms = row.Int(4);
  if (!row.IsNull(5)) k.expires_ms = row.Int(5);
  if (!row.IsNull(6)) k.revoked_ms = row.Int(6);
  k.salt_hex = row.Text(7);
  k.hash_hex = row.Text(8);
  return k;
}

SqlValue Optional(const std::optional<std::int64_t>& v) {
  if (v) return *v;
  return nullptr;
}

void CheckTenantLimits(const Tenant& t) {
  CheckTenantId(t.id);
  if (!(t.weight > 0)) Fail("tenant '{}': the scheduling weight must be positive", t.id);
  for (std::int64_t v : {t.requests_per_minute, t.tokens_per_minute, t.daily_token_budget,
                         t.monthly_token_budget, t.max_concurrent_requests}) {
    if (v < 0) Fail("tenant '{}': limits must be 0 (no limit) or positive", t.id);
  }
}

}  // namespace

void CheckTenantId(const std::string& id) {
  auto ok_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
  };
  bool ok = !id.empty() && id.size() <= 64 && ok_char(id[0]) && id[0] != '_' && id[0] != '.' &&
            id[0] != '-';
  for (char c : id) ok = ok && ok_char(c);
  if (!ok) {
    Fail(
        "'{}' is not a valid tenant id: use 1-64 lowercase letters, digits, '_', '.' or '-', "
        "starting with a letter or digit",
        id);
  }
}

std::string JoinModels(const std::vector<std::string>& models) {
  std::string out;
  for (const std::string& m : models) {
    if (m.empty() || m.find(',') != std::string::npos) {
      Fail("'{}' is not a valid model name in an allowlist (empty, or contains a comma)", m);
    }
    if (!out.empty()) out += ',';
    out += m;
  }
  return out;
}

std::vector<std::string> SplitModels(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

Store::Store(std::string url, const StoreOptions& options)
    : url_(std::move(url)), redacted_url_(RedactDatabaseUrl(url_)), options_(options) {}

Store::~Store() = default;

std::unique_ptr<Store> Store::Open(const std::string& url, const StoreOptions& options) {
  std::unique_ptr<Store> store(new Store(url, options));
  if (store->options_.max_connections < 1) store->options_.max_connections = 1;
  auto connection = OpenSqlConnection(url);
  store->dialect_ = connection->dialect();
  MigrateSchema(*connection, store->Now(), options.schema_version);
  store->open_connections_ = 1;
  store->idle_.push_back(std::move(connection));
  return store;
}

std::int64_t Store::Now() const {
  return (options_.clock ? options_.clock : &system_clock_)->UnixMillis();
}

Store::Lease Store::Acquire() {
  std::unique_lock lock(mutex_);
  while (idle_.empty() && open_connections_ >= options_.max_connections) released_.wait(lock);
  if (!idle_.empty()) {
    auto connection = std::move(idle_.back());
    idle_.pop_back();
    return Lease(*this, std::move(connection));
  }
  ++open_connections_;
  lock.unlock();
  try {
    return Lease(*this, OpenSqlConnection(url_));
  } catch (...) {
    Release(nullptr);
    throw;
  }
}

void Store::Release(std::unique_ptr<SqlConnection> connection) {
  {
    std::lock_guard lock(mutex_);
    if (connection) {
      idle_.push_back(std::move(connection));
    } else {
      --open_connections_;
    }
  }
  released_.notify_one();
}

int Store::SchemaVersion() {
  auto c = Acquire();
  return static_cast<int>(
      c->Execute("SELECT COALESCE(MAX(version), 0) FROM kiln_schema_migrations").rows.at(0).Int(0));
}

std::vector<AppliedMigration> Store::Migrations() {
  auto c = Acquire();
  return AppliedMigrations(*c);
}

void Store::CreateTenant(const Tenant& t) {
  CheckTenantLimits(t);
  const std::int64_t now = Now();
  auto c = Acquire();
  const auto r = c->Execute(
      fmt::format("INSERT INTO tenants ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
                  "$12) ON CONFLICT (id) DO NOTHING",
                  kTenantColumns),
      {t.id, t.name, JoinModels(t.allowed_models), t.weight, std::int64_t{t.priority},
       t.requests_per_minute, t.tokens_per_minute, t.daily_token_budget, t.monthly_token_budget,
       t.max_concurrent_requests, now, now});
  if (r.affected_rows == 0) Fail("tenant '{}' already exists", t.id);
}

std::optional<Tenant> Store::FindTenant(const std::string& id) {
  auto c = Acquire();
  const auto r =
      c->Execute(fmt::format("SELECT {} FROM tenants WHERE id = $1", kTenantColumns), {id});
  if (r.rows.empty()) return std::nullopt;
  return TenantFromRow(r.rows[0]);
}

std::vector<Tenant> Store::ListTenants() {
  auto c = Acquire();
  std::vector<Tenant> out;
  for (const SqlRow& row :
       c->Execute(fmt::format("SELECT {} FROM tenants ORDER BY id", kTenantColumns)).rows) {
    out.push_back(TenantFromRow(row));
  }
  return out;
}

void Store::UpdateTenant(const Tenant& t) {
  CheckTenantLimits(t);
  auto c = Acquire();
  const auto r = c->Execute(
      "UPDATE tenants SET name = $2, allowed_models = $3, weight = $4, priority = $5, "
      "requests_per_minute = $6, tokens_per_minute = $7, daily_token_budget = $8, "
      "monthly_token_budget = $9, max_concurrent_requests = $10, updated_ms = $11 WHERE id = $1",
      {t.id, t.name, JoinModels(t.allowed_models), t.weight, std::int64_t{t.priority},
       t.requests_per_minute, t.tokens_per_minute, t.daily_token_budget, t.monthly_token_budget,
       t.max_concurrent_requests, Now()});
  if (r.affected_rows == 0) Fail("tenant '{}' does not exist", t.id);
}

bool Store::DeleteTenant(const std::string& id) {
  auto c = Acquire();
  return c->Execute("DELETE FROM tenants WHERE id = $1", {id}).affected_rows > 0;
}

void Store::InsertKey(const ApiKey& k) {
  auto c = Acquire();
  SqlTransaction transaction(*c);
  if (c->Execute("SELECT 1 FROM tenants WHERE id = $1", {k.tenant_id}).rows.empty()) {
    Fail("tenant '{}' does not exist (create it with `kiln tenants create`)", k.tenant_id);
  }
  const auto r = c->Execute(
      fmt::format("INSERT INTO api_keys ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
                  "ON CONFLICT (key_id) DO NOTHING",
                  kKeyColumns),
      {k.key_id, k.tenant_id, k.name, JoinModels(k.allowed_models), k.created_ms,
       Optional(k.expires_ms), Optional(k.revoked_ms), k.salt_hex, k.hash_hex});
  if (r.affected_rows == 0) Fail("API key id '{}' already exists", k.key_id);
  transaction.Commit();
}

std::optional<ApiKey> Store::FindKey(const std::string& key_id) {
  auto c = Acquire();
  const auto r =
      c->Execute(fmt::format("SELECT {} FROM api_keys WHERE key_id = $1", kKeyColumns), {key_id});
  if (r.rows.empty()) return std::nullopt;
  return KeyFromRow(r.rows[0]);
}

std::vector<ApiKey> Store::ListKeys(const std::optional<std::string>& tenant_id) {
  auto c = Acquire();
  std::vector<ApiKey> out;
  const auto r =
      tenant_id ? c->Execute(fmt::format("SELECT {} FROM api_keys WHERE tenant_id = $1 "
                                         "ORDER BY created_ms, key_id",
                                         kKeyColumns),
                             {*tenant_id})
                : c->Execute(fmt::format("SELECT {} FROM api_keys ORDER BY tenant_id, created_ms, "
                                         "key_id",
                                         kKeyColumns));
  for (const SqlRow& row : r.rows) out.push_back(KeyFromRow(row));
  return out;
}

bool Store::RevokeKey(const std::string& key_id, std::int64_t revoked_ms) {
  auto c = Acquire();
  // A key revoked earlier keeps its first revocation time.
  c->Execute("UPDATE api_keys SET revoked_ms = $2 WHERE key_id = $1 AND revoked_ms IS NULL",
             {key_id, revoked_ms});
  return !c->Execute("SELECT 1 FROM api_keys WHERE key_id = $1", {key_id}).rows.empty();
}

bool Store::ReplaceKeySecret(const std::string& key_id, const std::string& salt_hex,
                             const std::string& hash_hex) {
  auto c = Acquire();
  return c->Execute("UPDATE api_keys SET salt = $2, hash = $3 WHERE key_id = $1",
                    {key_id, salt_hex, hash_hex})
             .affected_rows > 0;
}

namespace {

constexpr const char* kInsertUsage =
    "INSERT INTO usage_records (request_id, tenant_id, key_id, model, prompt_tokens, "
    "cached_tokens, completion_tokens, ttft_ms, latency_ms, status, finish_reason, started_ms, "
    "finished_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) "
    "ON CONFLICT (request_id) DO NOTHING";

std::vector<SqlValue> UsageParams(const UsageRecord& r) {
  if (r.request_id.empty()) Fail("a usage record needs a request id");
  if (r.tenant_id.empty()) Fail("usage record '{}' has no tenant", r.request_id);
  if (r.prompt_tokens < 0 || r.cached_tokens < 0 || r.completion_tokens < 0 ||
      r.cached_tokens > r.prompt_tokens) {
    Fail("usage record '{}' has inconsistent token counts", r.request_id);
  }
  return {r.request_id,    r.tenant_id,         r.key_id,     r.model,      r.prompt_tokens,
          r.cached_tokens, r.completion_tokens, r.ttft_ms,    r.latency_ms, r.status,
          r.finish_reason, r.started_ms,        r.finished_ms};
}

}  // namespace

bool Store::RecordUsage(const UsageRecord& record) {
  const auto params = UsageParams(record);
  auto c = Acquire();
  // A single statement outside an explicit transaction commits on its own (autocommit).
  return c->Execute(kInsertUsage, params).affected_rows > 0;
}

std::size_t Store::RecordUsageBatch(std::span<const UsageRecord> records) {
  std::vector<std::vector<SqlValue>> params;
  params.reserve(records.size());
  for (const UsageRecord& r : records) params.push_back(UsageParams(r));
  auto c = Acquire();
  SqlTransaction transaction(*c);
  std::size_t inserted = 0;
  for (const auto& p : params) inserted += c->Execute(kInsertUsage, p).affected_rows > 0 ? 1 : 0;
  transaction.Commit();
  return inserted;
}

std::int64_t Store::TokensUsedSince(const std::string& tenant_id, std::int64_t since_ms) {
  auto c = Acquire();
  return c
      ->Execute(
          "SELECT COALESCE(SUM(prompt_tokens + completion_tokens), 0) FROM usage_records "
          "WHERE tenant_id = $1 AND started_ms >= $2",
          {tenant_id, since_ms})
      .rows.at(0)
      .Int(0);
}

}  // namespace kiln::platform
