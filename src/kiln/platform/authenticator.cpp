#include "kiln/platform/authenticator.h"

#include <fmt/format.h>

#include <algorithm>

#include "kiln/platform/api_keys.h"

namespace kiln::platform {

const char* AuthFailureName(AuthFailure failure) {
  switch (failure) {
    case AuthFailure::kNone:
      return "none";
    case AuthFailure::kMissing:
      return "missing";
    case AuthFailure::kMalformed:
      return "malformed";
    case AuthFailure::kUnknown:
      return "unknown";
    case AuthFailure::kRevoked:
      return "revoked";
    case AuthFailure::kExpired:
      return "expired";
  }
  return "?";
}

namespace {

AuthResult Failure(AuthFailure failure, std::string message) {
  AuthResult r;
  r.failure = failure;
  r.message = std::move(message);
  return r;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool Admits(const std::vector<std::string>& allowlist, std::string_view model) {
  return allowlist.empty() ||
         std::find(allowlist.begin(), allowlist.end(), model) != allowlist.end();
}

}  // namespace

AuthResult Authenticator::AuthenticateHeader(std::optional<std::string_view> header) const {
  if (!header || Trim(*header).empty()) {
    return Failure(AuthFailure::kMissing,
                   "no API key provided: send the header 'Authorization: Bearer <key>'");
  }
  const std::string_view value = Trim(*header);
  // The scheme is case-insensitive (RFC 9110).
  constexpr std::string_view kScheme = "bearer ";
  bool bearer = value.size() > kScheme.size();
  for (std::size_t i = 0; bearer && i < kScheme.size(); ++i) {
    bearer = (value[i] | 0x20) == kScheme[i];
  }
  if (!bearer) {
    return Failure(AuthFailure::kMalformed, "the Authorization header must read 'Bearer <key>'");
  }
  return Authenticate(Trim(value.substr(kScheme.size())));
}

AuthResult Authenticator::Authenticate(std::string_view token) const {
  if (token.empty()) return Failure(AuthFailure::kMissing, "no API key provided");
  const std::optional<ParsedApiKey> parsed = ParseApiKey(token);
  if (!parsed) {
    return Failure(AuthFailure::kMalformed,
                   "the API key is malformed (Kiln keys start with 'kiln-')");
  }
  std::optional<ApiKey> key = store_.FindKey(parsed->key_id);
  // The secret is checked before the key's state, so that someone who knows only a key id
  // learns nothing about it.
  if (!key || !SecretMatches(*key, *parsed)) {
    return Failure(AuthFailure::kUnknown, "incorrect API key provided");
  }
  if (key->revoked_ms) return Failure(AuthFailure::kRevoked, "this API key has been revoked");
  if (key->expires_ms && clock_.UnixMillis() >= *key->expires_ms) {
    return Failure(AuthFailure::kExpired, "this API key has expired");
  }
  std::optional<Tenant> tenant = store_.FindTenant(key->tenant_id);
  if (!tenant) return Failure(AuthFailure::kUnknown, "incorrect API key provided");
  key->salt_hex.clear();
  key->hash_hex.clear();
  AuthResult ok;
  ok.principal = Principal{std::move(*tenant), std::move(*key)};
  return ok;
}

Authorization Authenticator::AuthorizeModel(const Principal& principal, std::string_view model) {
  if (!Admits(principal.tenant.allowed_models, model)) {
    return {false,
            fmt::format("tenant '{}' may not use the model '{}'", principal.tenant.id, model)};
  }
  if (!Admits(principal.key.allowed_models, model)) {
    return {false, fmt::format("this API key may not use the model '{}'", model)};
  }
  return {};
}

}  // namespace kiln::platform
