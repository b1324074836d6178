// TenantLimiter: per-tenant admission limits — requests per minute, tokens per minute, daily
// and monthly token budgets and a cap on concurrent requests. Every refusal carries a reason
// and a Retry-After in seconds (the HTTP layer answers 429).
//
// State is in memory and per process: several nodes sharing one PostgreSQL ledger each apply
// the rate limits on their own (sharing them, e.g. through Redis, is future work); budgets
// are shared through the ledger, which each node rereads every budget_refresh_ms.
// Thread-safe; one mutex per tenant.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "kiln/platform/clock.h"
#include "kiln/platform/records.h"

namespace kiln::platform {

enum class LimitReason {
  kNone,
  kConcurrency,
  kRequestsPerMinute,
  kTokensPerMinute,
  kDailyBudget,
  kMonthlyBudget,
};
const char* LimitReasonName(LimitReason reason);  // "concurrency", "requests_per_minute", ...

struct TenantLimiterOptions {
  // How often a tenant's budget totals are reread from the ledger (they are also reread when
  // the UTC day changes).
  std::int64_t budget_refresh_ms = 10'000;
};

// prompt + completion tokens a tenant used in requests started at or after since_ms (the ledger;
// Store::TokensUsedSince).
using UsageSource =
    std::function<std::int64_t(const std::string& tenant_id, std::int64_t since_ms)>;

class TenantLimiter;
struct TenantLimitState;

// An admitted request's hold on its tenant's limits: a concurrency slot and a token
// reservation. Finish() with the tokens actually used (what the ledger records) settles it;
// letting the ticket go without Finish releases the slot and the reservation and charges
// nothing more.
class AdmissionTicket {
 public:
  AdmissionTicket() = default;
  AdmissionTicket(AdmissionTicket&& other) noexcept;
  AdmissionTicket& operator=(AdmissionTicket&& other) noexcept;
  ~AdmissionTicket();
  void Finish(std::int64_t tokens_used);
  bool active() const { return state_ != nullptr; }

 private:
  friend class TenantLimiter;
  void Settle(std::int64_t tokens_used);
  std::shared_ptr<TenantLimitState> state_;
  std::int64_t reserved_tokens_ = 0;      // held against the budgets
  std::int64_t rate_charged_tokens_ = 0;  // taken from the tokens-per-minute bucket
};

struct Admission {
  LimitReason reason = LimitReason::kNone;
  std::string message;             // for the client
  std::int64_t retry_after_s = 0;  // set when refused
  AdmissionTicket ticket;          // active when admitted
  bool admitted() const { return reason == LimitReason::kNone; }
};

class TenantLimiter {
 public:
  TenantLimiter(const Clock& clock, UsageSource usage, TenantLimiterOptions options = {});
  ~TenantLimiter();

  // Admits a request that may use up to `estimated_tokens` (prompt + max completion tokens)
  // under the tenant's limits as given (the current record, so that updates apply at once).
  Admission Admit(const Tenant& tenant, std::int64_t estimated_tokens);

  std::int64_t InFlight(const std::string& tenant_id);

 private:
  std::shared_ptr<TenantLimitState> StateFor(const std::string& tenant_id);

  const Clock& clock_;
  UsageSource usage_;
  TenantLimiterOptions options_;
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<TenantLimitState>> tenants_;
};

}  // namespace kiln::platform
