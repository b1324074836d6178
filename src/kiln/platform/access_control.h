// PlatformAccessControl: the server's AccessControl over the platform layer — API keys checked by
// the Authenticator, model allowlists, the TenantLimiter's rate limits and budgets, and one
// ledger record per generation request in the Store. In open mode (a store with no keys) every
// caller is let in without limits and billed to the tenant "anonymous".
#pragma once

#include <memory>
#include <optional>
#include <string_view>

#include "kiln/platform/authenticator.h"
#include "kiln/platform/clock.h"
#include "kiln/platform/limiter.h"
#include "kiln/platform/store.h"
#include "kiln/server/api/access_control.h"

namespace kiln::platform {

inline constexpr const char* kAnonymousTenant = "anonymous";

class PlatformAccessControl final : public server::api::AccessControl {
 public:
  // `store` and `clock` must outlive this. `open`: no Authorization is required or checked.
  PlatformAccessControl(Store& store, const Clock& clock, bool open,
                        TenantLimiterOptions limiter_options = {});

  std::unique_ptr<server::api::Caller> Authenticate(
      std::optional<std::string_view> authorization) override;

  bool open() const { return open_; }

 private:
  Store& store_;
  const bool open_;
  Authenticator authenticator_;
  TenantLimiter limiter_;
};

}  // namespace kiln::platform
