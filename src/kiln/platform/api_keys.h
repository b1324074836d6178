// API keys: creating, rotating and revoking them, and the key format. A key reads
//   kiln-<key id>_<secret>     e.g. kiln-3fZ9aQ1xLm0B_<43 base64url characters>
// where the key id (12 base62 characters) is public and looks the record up, and the secret is
// 32 bytes from the OS CSPRNG. The store keeps only a salted SHA-256 of the secret.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/platform/clock.h"
#include "kiln/platform/records.h"
#include "kiln/platform/store.h"

namespace kiln::platform {

inline constexpr std::string_view kApiKeyPrefix = "kiln-";
inline constexpr std::size_t kKeyIdLength = 12;
inline constexpr std::size_t kSecretBytes = 32;

struct NewApiKey {
  std::string tenant_id;
  std::string name;
  std::vector<std::string> allowed_models;    // empty: whatever the tenant may use
  std::optional<std::int64_t> expires_in_ms;  // from now; nullopt: never expires
};

struct IssuedApiKey {
  ApiKey record;       // as stored (salt and hash, no secret)
  std::string secret;  // the whole key to hand to the user; shown once, never stored
};

IssuedApiKey CreateApiKey(Store& store, const Clock& clock, const NewApiKey& request);
// A new secret for the same key id; the old secret stops working at once.
IssuedApiKey RotateApiKey(Store& store, const std::string& key_id);
bool RevokeApiKey(Store& store, const Clock& clock, const std::string& key_id);
// "active", "revoked" or "expired" at `now_ms`.
const char* ApiKeyState(const ApiKey& key, std::int64_t now_ms);

struct ParsedApiKey {
  std::string key_id;
  std::array<unsigned char, kSecretBytes> secret{};
};
// nullopt when the text is not shaped like a Kiln key (prefix, lengths, alphabets).
std::optional<ParsedApiKey> ParseApiKey(std::string_view text);
// Whether the presented secret matches the stored hash, compared in constant time.
bool SecretMatches(const ApiKey& stored, const ParsedApiKey& presented);

}  // namespace kiln::platform
