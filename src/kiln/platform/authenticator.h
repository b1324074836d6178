// Authentication and authorization of requests by API key. The HTTP layer maps the outcomes:
// an AuthFailure to 401, a refused Authorization to 403. Messages never contain the secret.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "kiln/platform/clock.h"
#include "kiln/platform/records.h"
#include "kiln/platform/store.h"

namespace kiln::platform {

enum class AuthFailure {
  kNone,
  kMissing,    // no Authorization header, or an empty one
  kMalformed,  // not "Bearer <token>", or the token is not shaped like a Kiln key
  kUnknown,    // no such key id, or the secret does not match (the same answer, on purpose)
  kRevoked,
  kExpired,
};
const char* AuthFailureName(AuthFailure failure);  // "missing", "malformed", ...

// Who is calling: the key (without its hash) and its tenant as stored now.
struct Principal {
  Tenant tenant;
  ApiKey key;
};

struct AuthResult {
  AuthFailure failure = AuthFailure::kNone;
  std::string message;  // for the client, e.g. "API key revoked"
  std::optional<Principal> principal;
  bool ok() const { return failure == AuthFailure::kNone; }
};

struct Authorization {
  bool allowed = true;
  std::string reason;  // why not, for the client
};

class Authenticator {
 public:
  Authenticator(Store& store, const Clock& clock) : store_(store), clock_(clock) {}

  // The value of an Authorization header ("Bearer kiln-..."), nullopt when absent.
  AuthResult AuthenticateHeader(std::optional<std::string_view> header) const;
  // A bare key.
  AuthResult Authenticate(std::string_view token) const;

  // Whether the caller may use `model`: both the key's and the tenant's allowlists must admit it
  // (an empty list admits every model).
  static Authorization AuthorizeModel(const Principal& principal, std::string_view model);

 private:
  Store& store_;
  const Clock& clock_;
};

}  // namespace kiln::platform
