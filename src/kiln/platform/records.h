// The service layer's records as plain data: tenants, API keys (never their secrets) and usage
// ledger entries, plus the shape of a usage query. Times are Unix epoch milliseconds (UTC);
// a limit of 0 means "no limit"; an empty model list means "every model".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kiln::platform {

struct Tenant {
  std::string id;                           // the handle used everywhere: [a-z0-9][a-z0-9_.-]{0,63}
  std::string name;                         // display name
  std::vector<std::string> allowed_models;  // empty: every model
  double weight = 1.0;                      // share under fair scheduling
  int priority = 0;                         // higher is scheduled first
  std::int64_t requests_per_minute = 0;
  std::int64_t tokens_per_minute = 0;
  std::int64_t daily_token_budget = 0;
  std::int64_t monthly_token_budget = 0;
  std::int64_t max_concurrent_requests = 0;
  std::int64_t created_ms = 0;
  std::int64_t updated_ms = 0;
};

// What the store keeps of an API key: enough to verify a presented secret, never the secret.
struct ApiKey {
  std::string key_id;  // public, embedded in the key itself
  std::string tenant_id;
  std::string name;
  std::vector<std::string> allowed_models;  // empty: whatever the tenant may use
  std::int64_t created_ms = 0;
  std::optional<std::int64_t> expires_ms;
  std::optional<std::int64_t> revoked_ms;
  std::string salt_hex;  // per-key random salt
  std::string hash_hex;  // SHA-256(salt || key id || secret)
};

// One ledger entry per request. Token counts follow OpenAI's `usage`: cached tokens are the
// part of the prompt served from the prefix cache, so they are included in prompt_tokens.
struct UsageRecord {
  std::string request_id;  // unique: recording the same id twice keeps the first record
  std::string tenant_id;
  std::string key_id;  // empty when the server runs without keys
  std::string model;
  std::int64_t prompt_tokens = 0;
  std::int64_t cached_tokens = 0;
  std::int64_t completion_tokens = 0;
  std::int64_t ttft_ms = 0;
  std::int64_t latency_ms = 0;
  std::string status;         // "ok", "cancelled" (client went away), "error", ...
  std::string finish_reason;  // "stop", "length", "cancelled", "error", ...
  std::int64_t started_ms = 0;
  std::int64_t finished_ms = 0;
};

enum class UsageGroup { kDay, kMonth, kModel, kKey, kTenant };
const char* UsageGroupName(UsageGroup group);         // "day", "month", "model", "key", "tenant"
UsageGroup ParseUsageGroup(const std::string& name);  // throws kiln::Error on unknown names

struct UsageQuery {
  std::optional<std::string> tenant_id;
  std::optional<std::int64_t> since_ms;  // inclusive, on started_ms
  std::optional<std::int64_t> until_ms;  // exclusive
  std::vector<UsageGroup> group_by;      // empty: one row of totals
};

struct UsageRow {
  // One value per UsageQuery::group_by entry, in that order: "2026-11-01", "2026-11", a model,
  // a key id or a tenant id.
  std::vector<std::string> group;
  std::int64_t requests = 0;
  std::int64_t prompt_tokens = 0;
  std::int64_t cached_tokens = 0;
  std::int64_t completion_tokens = 0;
  std::int64_t total_tokens() const { return prompt_tokens + completion_tokens; }
};

}  // namespace kiln::platform
