#include "kiln/platform/limiter.h"

#include <fmt/format.h>

#include <algorithm>

#include "kiln/platform/calendar.h"

namespace kiln::platform {

const char* LimitReasonName(LimitReason reason) {
  switch (reason) {
    case LimitReason::kNone:
      return "none";
    case LimitReason::kConcurrency:
      return "concurrency";
    case LimitReason::kRequestsPerMinute:
      return "requests_per_minute";
    case LimitReason::kTokensPerMinute:
      return "tokens_per_minute";
    case LimitReason::kDailyBudget:
      return "daily_budget";
    case LimitReason::kMonthlyBudget:
      return "monthly_budget";
  }
  return "?";
}

namespace {

// A token bucket for a per-minute limit in exact integer arithmetic: one unit of the limit is
// 60000 bucket units and the bucket refills `per_minute` units per millisecond, so a limit of
// N per minute refills one unit every 60000/N ms with no rounding, and "allowed again at" is
// exact.
struct MinuteBucket {
  std::int64_t per_minute = 0;  // 0: no limit
  std::int64_t level = 0;       // bucket units; may go negative when usage exceeds a charge
  std::int64_t last_ms = 0;

  std::int64_t capacity() const { return per_minute * 60'000; }

  void Configure(std::int64_t limit, std::int64_t now_ms) {
    if (limit == per_minute) return;
    const bool was_unlimited = per_minute == 0;
    per_minute = limit;
    if (was_unlimited) {
      level = capacity();  // a limit newly set starts with a full bucket
      last_ms = now_ms;
    }
    level = std::min(level, capacity());
  }
  void Refill(std::int64_t now_ms) {
    if (per_minute == 0) return;
    if (now_ms > last_ms) level = std::min(capacity(), level + (now_ms - last_ms) * per_minute);
    last_ms = std::max(last_ms, now_ms);
  }
  bool Has(std::int64_t amount) const { return per_minute == 0 || level >= amount * 60'000; }
  // Milliseconds until Has(amount).
  std::int64_t WaitMs(std::int64_t amount) const {
    const std::int64_t missing = amount * 60'000 - level;
    return missing <= 0 ? 0 : (missing + per_minute - 1) / per_minute;
  }
  void Take(std::int64_t amount) {
    if (per_minute != 0) level -= amount * 60'000;
  }
  void Give(std::int64_t amount) {
    if (per_minute != 0) level = std::min(capacity(), level + amount * 60'000);
  }
};

std::int64_t CeilSeconds(std::int64_t ms) {
  return std::max<std::int64_t>(1, (ms + 999) / 1000);
}

}  // namespace

struct TenantLimitState {
  std::mutex mutex;
  std::int64_t in_flight = 0;
  MinuteBucket requests;
  MinuteBucket tokens;
  // Budgets: ledger totals for the current UTC day and month, plus what finished here since
  // they were read, plus what admitted requests may still use.
  bool budgets_loaded = false;
  std::int64_t day_start_ms = 0;
  std::int64_t month_start_ms = 0;
  std::int64_t day_used = 0;
  std::int64_t month_used = 0;
  std::int64_t reserved = 0;
  std::int64_t loaded_at_steady_ms = 0;
};

AdmissionTicket::AdmissionTicket(AdmissionTicket&& other) noexcept
    : state_(std::move(other.state_)),
      reserved_tokens_(other.reserved_tokens_),
      rate_charged_tokens_(other.rate_charged_tokens_) {}

AdmissionTicket& AdmissionTicket::operator=(AdmissionTicket&& other) noexcept {
  if (this != &other) {
    if (state_) Settle(0);
    state_ = std::move(other.state_);
    reserved_tokens_ = other.reserved_tokens_;
    rate_charged_tokens_ = other.rate_charged_tokens_;
  }
  return *this;
}

AdmissionTicket::~AdmissionTicket() {
  if (state_) Settle(0);
}

void AdmissionTicket::Finish(std::int64_t tokens_used) {
  if (!state_) return;
  Settle(std::max<std::int64_t>(0, tokens_used));
}

void AdmissionTicket::Settle(std::int64_t tokens_used) {
  {
    std::lock_guard lock(state_->mutex);
    --state_->in_flight;
    state_->reserved -= reserved_tokens_;
    state_->day_used += tokens_used;
    state_->month_used += tokens_used;
    if (tokens_used > 0) {
      // The bucket was charged the estimate (at most its capacity): refund what was not used,
      // or charge the excess, which leaves the bucket in debt until it refills.
      if (tokens_used < rate_charged_tokens_) {
        state_->tokens.Give(rate_charged_tokens_ - tokens_used);
      } else {
        state_->tokens.Take(tokens_used - rate_charged_tokens_);
      }
    }
  }
  state_.reset();
}

TenantLimiter::TenantLimiter(const Clock& clock, UsageSource usage, TenantLimiterOptions options)
    : clock_(clock), usage_(std::move(usage)), options_(options) {}

TenantLimiter::~TenantLimiter() = default;

std::shared_ptr<TenantLimitState> TenantLimiter::StateFor(const std::string& tenant_id) {
  std::lock_guard lock(mutex_);
  auto& state = tenants_[tenant_id];
  if (!state) state = std::make_shared<TenantLimitState>();
  return state;
}

std::int64_t TenantLimiter::InFlight(const std::string& tenant_id) {
  auto state = StateFor(tenant_id);
  std::lock_guard lock(state->mutex);
  return state->in_flight;
}

Admission TenantLimiter::Admit(const Tenant& tenant, std::int64_t estimated_tokens) {
  estimated_tokens = std::max<std::int64_t>(0, estimated_tokens);
  auto state_ptr = StateFor(tenant.id);
  TenantLimitState& s = *state_ptr;
  const std::int64_t now_ms = clock_.SteadyMillis();
  const std::int64_t unix_ms = clock_.UnixMillis();
  Admission out;
  auto refuse = [&](LimitReason reason, std::int64_t retry_after_ms, std::string message) {
    out.reason = reason;
    out.retry_after_s = CeilSeconds(retry_after_ms);
    out.message = std::move(message);
    return std::move(out);
  };

  std::lock_guard lock(s.mutex);
  s.requests.Configure(tenant.requests_per_minute, now_ms);
  s.tokens.Configure(tenant.tokens_per_minute, now_ms);
  s.requests.Refill(now_ms);
  s.tokens.Refill(now_ms);

  if (tenant.max_concurrent_requests > 0 && s.in_flight >= tenant.max_concurrent_requests) {
    // A slot frees when some request finishes, which cannot be foreseen: ask for a short wait.
    return refuse(LimitReason::kConcurrency, 1000,
                  fmt::format("too many concurrent requests: the limit is {}",
                              tenant.max_concurrent_requests));
  }
  if (!s.requests.Has(1)) {
    return refuse(
        LimitReason::kRequestsPerMinute, s.requests.WaitMs(1),
        fmt::format("rate limit reached: {} requests per minute", tenant.requests_per_minute));
  }
  // A request larger than the whole bucket may still run once the bucket is full.
  const std::int64_t rate_cost = tenant.tokens_per_minute > 0
                                     ? std::min(estimated_tokens, tenant.tokens_per_minute)
                                     : estimated_tokens;
  if (!s.tokens.Has(rate_cost)) {
    return refuse(
        LimitReason::kTokensPerMinute, s.tokens.WaitMs(rate_cost),
        fmt::format("rate limit reached: {} tokens per minute", tenant.tokens_per_minute));
  }
  if (tenant.daily_token_budget > 0 || tenant.monthly_token_budget > 0) {
    const std::int64_t day = StartOfUtcDay(unix_ms);
    const std::int64_t month = StartOfUtcMonth(unix_ms);
    if (!s.budgets_loaded || day != s.day_start_ms || month != s.month_start_ms ||
        now_ms - s.loaded_at_steady_ms >= options_.budget_refresh_ms) {
      s.day_used = usage_(tenant.id, day);
      s.month_used = usage_(tenant.id, month);
      s.day_start_ms = day;
      s.month_start_ms = month;
      s.loaded_at_steady_ms = now_ms;
      s.budgets_loaded = true;
    }
    struct Budget {
      std::int64_t limit, used, period_end_ms;
      LimitReason reason;
      const char* name;
    };
    for (const Budget& b :
         {Budget{tenant.daily_token_budget, s.day_used, day + kMillisPerDay,
                 LimitReason::kDailyBudget, "daily"},
          Budget{tenant.monthly_token_budget, s.month_used, StartOfNextUtcMonth(unix_ms),
                 LimitReason::kMonthlyBudget, "monthly"}}) {
      if (b.limit <= 0 || b.used + s.reserved + estimated_tokens <= b.limit) continue;
      // Spent: wait for the next period. Held by requests in flight: they may leave some over.
      const std::int64_t wait_ms =
          b.used + estimated_tokens > b.limit ? b.period_end_ms - unix_ms : 1000;
      return refuse(b.reason, wait_ms,
                    fmt::format("{} token budget of {} reached ({} used, {} reserved by requests "
                                "in flight, {} requested)",
                                b.name, b.limit, b.used, s.reserved, estimated_tokens));
    }
  }

  ++s.in_flight;
  s.requests.Take(1);
  s.tokens.Take(rate_cost);
  s.reserved += estimated_tokens;
  out.ticket.state_ = std::move(state_ptr);
  out.ticket.reserved_tokens_ = estimated_tokens;
  out.ticket.rate_charged_tokens_ = rate_cost;
  return out;
}

}  // namespace kiln::platform
