// AccessControl: what the OpenAI service asks of whoever decides who may call it — authenticate a
// bearer token, admit a request under the caller's limits, and record what the request used. The
// server layer owns only this interface; the platform layer implements it (PlatformAccessControl)
// so the server never depends on the store.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace kiln::server::api {

// A refusal the client sees: 401, 403 or 429 (with Retry-After) in OpenAI's error schema.
class AccessDenied : public std::runtime_error {
 public:
  AccessDenied(int status, const std::string& message, std::string code,
               std::int64_t retry_after_s = 0)
      : std::runtime_error(message),
        status_(status),
        code_(std::move(code)),
        retry_after_s_(retry_after_s) {}
  int status() const { return status_; }
  const std::string& code() const { return code_; }
  std::int64_t retry_after_s() const { return retry_after_s_; }  // 0: no Retry-After header

 private:
  int status_;
  std::string code_;
  std::int64_t retry_after_s_;
};

// What one finished request used, for the ledger. Token counts are the response's `usage`
// (for a cancelled request: what was generated before the client went away).
struct UsageReport {
  std::string request_id;
  std::string model;
  std::int64_t prompt_tokens = 0;
  std::int64_t cached_tokens = 0;
  std::int64_t completion_tokens = 0;
  std::int64_t ttft_ms = 0;
  std::int64_t latency_ms = 0;
  std::string status;         // "ok", "cancelled", "error"
  std::string finish_reason;  // "stop", "length", "cancelled", "error"
  std::int64_t started_ms = 0;
  std::int64_t finished_ms = 0;
};

// An admitted request's hold on its caller's limits. Settle records the usage durably and
// releases the hold; it blocks on storage, so callers run it off the I/O and engine threads.
// Dropping a grant without Settle releases the hold and records nothing.
class AccessGrant {
 public:
  virtual ~AccessGrant() = default;
  // Throws when the record cannot be stored.
  virtual void Settle(const UsageReport& usage) = 0;
};

// An authenticated caller.
class Caller {
 public:
  virtual ~Caller() = default;
  virtual const std::string& tenant() const = 0;  // for the engine's fair scheduling
  virtual int priority() const = 0;
  // Admits a request for `model` that may use up to `estimated_tokens`; throws AccessDenied
  // (403 model not allowed, 429 limits).
  virtual std::unique_ptr<AccessGrant> Admit(std::string_view model,
                                             std::int64_t estimated_tokens) = 0;
};

class AccessControl {
 public:
  virtual ~AccessControl() = default;
  // `authorization`: the Authorization header, nullopt when absent. Throws AccessDenied (401).
  virtual std::unique_ptr<Caller> Authenticate(std::optional<std::string_view> authorization) = 0;
};

}  // namespace kiln::server::api
