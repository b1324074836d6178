#include "kiln/platform/access_control.h"

#include <algorithm>

namespace kiln::platform {
namespace {

using server::api::AccessDenied;
using server::api::UsageReport;

const char* AuthFailureCode(AuthFailure failure) {
  switch (failure) {
    case AuthFailure::kMissing:
      return "missing_api_key";
    case AuthFailure::kRevoked:
      return "revoked_api_key";
    case AuthFailure::kExpired:
      return "expired_api_key";
    default:
      return "invalid_api_key";  // malformed and unknown alike, as OpenAI answers
  }
}

// Records the request in the ledger, then settles the limiter's ticket with the tokens used.
class LedgerGrant final : public server::api::AccessGrant {
 public:
  LedgerGrant(Store& store, std::string tenant_id, std::string key_id, AdmissionTicket ticket)
      : store_(store),
        tenant_id_(std::move(tenant_id)),
        key_id_(std::move(key_id)),
        ticket_(std::move(ticket)) {}

  void Settle(const UsageReport& usage) override {
    UsageRecord record;
    record.request_id = usage.request_id;
    record.tenant_id = tenant_id_;
    record.key_id = key_id_;
    record.model = usage.model;
    record.prompt_tokens = usage.prompt_tokens;
    record.cached_tokens = usage.cached_tokens;
    record.completion_tokens = usage.completion_tokens;
    record.ttft_ms = usage.ttft_ms;
    record.latency_ms = usage.latency_ms;
    record.status = usage.status;
    record.finish_reason = usage.finish_reason;
    record.started_ms = usage.started_ms;
    record.finished_ms = usage.finished_ms;
    store_.RecordUsage(record);
    if (ticket_.active()) ticket_.Finish(usage.prompt_tokens + usage.completion_tokens);
  }

 private:
  Store& store_;
  std::string tenant_id_;
  std::string key_id_;
  AdmissionTicket ticket_;
};

class AnonymousCaller final : public server::api::Caller {
 public:
  explicit AnonymousCaller(Store& store) : store_(store) {}
  const std::string& tenant() const override { return tenant_; }
  int priority() const override { return 0; }
  std::unique_ptr<server::api::AccessGrant> Admit(std::string_view, std::int64_t) override {
    return std::make_unique<LedgerGrant>(store_, tenant_, "", AdmissionTicket{});
  }

 private:
  Store& store_;
  std::string tenant_ = kAnonymousTenant;
};

class KeyCaller final : public server::api::Caller {
 public:
  KeyCaller(Store& store, TenantLimiter& limiter, Principal principal)
      : store_(store), limiter_(limiter), principal_(std::move(principal)) {}
  const std::string& tenant() const override { return principal_.tenant.id; }
  int priority() const override { return principal_.tenant.priority; }

  std::unique_ptr<server::api::AccessGrant> Admit(std::string_view model,
                                                  std::int64_t estimated_tokens) override {
    const Authorization authorization = Authenticator::AuthorizeModel(principal_, model);
    if (!authorization.allowed) throw AccessDenied(403, authorization.reason, "model_not_allowed");
    Admission admission = limiter_.Admit(principal_.tenant, estimated_tokens);
    if (!admission.admitted()) {
      throw AccessDenied(429, admission.message, LimitReasonName(admission.reason),
                         std::max<std::int64_t>(1, admission.retry_after_s));
    }
    return std::make_unique<LedgerGrant>(store_, principal_.tenant.id, principal_.key.key_id,
                                         std::move(admission.ticket));
  }

 private:
  Store& store_;
  TenantLimiter& limiter_;
  Principal principal_;
};

}  // namespace

PlatformAccessControl::PlatformAccessControl(Store& store, const Clock& clock, bool open,
                                             TenantLimiterOptions limiter_options)
    : store_(store),
      open_(open),
      authenticator_(store, clock),
      limiter_(
          clock,
          [&store](const std::string& tenant_id, std::int64_t since_ms) {
            return store.TokensUsedSince(tenant_id, since_ms);
          },
          limiter_options) {}

std::unique_ptr<server::api::Caller> PlatformAccessControl::Authenticate(
    std::optional<std::string_view> authorization) {
  if (open_) return std::make_unique<AnonymousCaller>(store_);
  AuthResult result = authenticator_.AuthenticateHeader(authorization);
  if (!result.ok()) throw AccessDenied(401, result.message, AuthFailureCode(result.failure));
  return std::make_unique<KeyCaller>(store_, limiter_, std::move(*result.principal));
}

}  // namespace kiln::platform
