#include "kiln/platform/api_keys.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "kiln/base/error.h"

namespace kiln::platform {
namespace {

constexpr std::size_t kSaltBytes = 16;
constexpr char kBase62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
constexpr char kBase64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::size_t kSecretChars = (kSecretBytes * 8 + 5) / 6;  // 43, unpadded base64url

void RandomBytes(unsigned char* out, std::size_t n) {
  if (RAND_bytes(out, static_cast<int>(n)) != 1) {
    Fail("the operating system's random number generator failed; cannot create a key");
  }
}

std::string RandomKeyId() {
  std::string id;
  while (id.size() < kKeyIdLength) {
    unsigned char buffer[32];
    RandomBytes(buffer, sizeof(buffer));
    for (unsigned char b : buffer) {
      // 248 = 4 * 62: dropping larger bytes keeps every character equally likely.
      if (b < 248 && id.size() < kKeyIdLength) id += kBase62[b % 62];
    }
  }
  return id;
}

std::string Base64Url(const unsigned char* data, std::size_t n) {
  std::string out;
  std::uint32_t bits = 0;
  int count = 0;
  for (std::size_t i = 0; i < n; ++i) {
    bits = (bits << 8) | data[i];
    count += 8;
    while (count >= 6) {
      count -= 6;
      out += kBase64Url[(bits >> count) & 63];
    }
  }
  if (count > 0) out += kBase64Url[(bits << (6 - count)) & 63];
  return out;
}

int Base64UrlValue(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

std::string Hex(const unsigned char* data, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (std::size_t i = 0; i < n; ++i) {
    out += kDigits[data[i] >> 4];
    out += kDigits[data[i] & 15];
  }
  return out;
}

std::vector<unsigned char> Unhex(const std::string& hex) {
  std::vector<unsigned char> out;
  auto value = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  if (hex.size() % 2 != 0) return {};
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = value(hex[i]), lo = value(hex[i + 1]);
    if (hi < 0 || lo < 0) return {};
    out.push_back(static_cast<unsigned char>(hi * 16 + lo));
  }
  return out;
}

// SHA-256(salt || key id || secret). A slow password hash (scrypt, Argon2) exists to make
// guessing low-entropy passwords expensive; a 256-bit secret from the CSPRNG cannot be guessed
// at any hashing speed, so one SHA-256 is enough and keeps authentication at microseconds. The
// per-key salt still keeps equal secrets from having equal hashes and defeats precomputation,
// and hashing the key id binds a secret to its record.
std::array<unsigned char, 32> SecretHash(const unsigned char* salt, std::size_t salt_size,
                                         const std::string& key_id, const unsigned char* secret) {
  std::array<unsigned char, 32> digest{};
  unsigned int length = 0;
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  const bool ok = context != nullptr && EVP_DigestInit_ex(context, EVP_sha256(), nullptr) == 1 &&
                  EVP_DigestUpdate(context, salt, salt_size) == 1 &&
                  EVP_DigestUpdate(context, key_id.data(), key_id.size()) == 1 &&
                  EVP_DigestUpdate(context, secret, kSecretBytes) == 1 &&
                  EVP_DigestFinal_ex(context, digest.data(), &length) == 1 && length == 32;
  EVP_MD_CTX_free(context);
  if (!ok) Fail("OpenSSL SHA-256 failed");
  return digest;
}

// Fresh secret and salt for `key`; returns the whole key text.
std::string IssueSecret(ApiKey& key) {
  unsigned char secret[kSecretBytes];
  unsigned char salt[kSaltBytes];
  RandomBytes(secret, sizeof(secret));
  RandomBytes(salt, sizeof(salt));
  const auto hash = SecretHash(salt, sizeof(salt), key.key_id, secret);
  key.salt_hex = Hex(salt, sizeof(salt));
  key.hash_hex = Hex(hash.data(), hash.size());
  std::string text =
      std::string(kApiKeyPrefix) + key.key_id + "_" + Base64Url(secret, sizeof(secret));
  OPENSSL_cleanse(secret, sizeof(secret));
  return text;
}

}  // namespace

IssuedApiKey CreateApiKey(Store& store, const Clock& clock, const NewApiKey& request) {
  CheckTenantId(request.tenant_id);
  JoinModels(request.allowed_models);  // validates the names
  IssuedApiKey issued;
  ApiKey& key = issued.record;
  key.key_id = RandomKeyId();
  key.tenant_id = request.tenant_id;
  key.name = request.name;
  key.allowed_models = request.allowed_models;
  key.created_ms = clock.UnixMillis();
  if (request.expires_in_ms) {
    if (*request.expires_in_ms <= 0) Fail("a key's lifetime must be positive");
    key.expires_ms = key.created_ms + *request.expires_in_ms;
  }
  issued.secret = IssueSecret(key);
  store.InsertKey(key);
  return issued;
}

IssuedApiKey RotateApiKey(Store& store, const std::string& key_id) {
  std::optional<ApiKey> key = store.FindKey(key_id);
  if (!key) Fail("API key '{}' does not exist", key_id);
  if (key->revoked_ms) Fail("API key '{}' is revoked; create a new key instead", key_id);
  IssuedApiKey issued{*key, ""};
  issued.secret = IssueSecret(issued.record);
  if (!store.ReplaceKeySecret(key_id, issued.record.salt_hex, issued.record.hash_hex)) {
    Fail("API key '{}' does not exist", key_id);
  }
  return issued;
}

bool RevokeApiKey(Store& store, const Clock& clock, const std::string& key_id) {
  return store.RevokeKey(key_id, clock.UnixMillis());
}

const char* ApiKeyState(const ApiKey& key, std::int64_t now_ms) {
  if (key.revoked_ms) return "revoked";
  if (key.expires_ms && now_ms >= *key.expires_ms) return "expired";
  return "active";
}

std::optional<ParsedApiKey> ParseApiKey(std::string_view text) {
  if (text.size() != kApiKeyPrefix.size() + kKeyIdLength + 1 + kSecretChars) return std::nullopt;
  if (text.substr(0, kApiKeyPrefix.size()) != kApiKeyPrefix) return std::nullopt;
  text.remove_prefix(kApiKeyPrefix.size());
  ParsedApiKey parsed;
  for (char c : text.substr(0, kKeyIdLength)) {
    const bool alnum = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    if (!alnum) return std::nullopt;
  }
  parsed.key_id = std::string(text.substr(0, kKeyIdLength));
  if (text[kKeyIdLength] != '_') return std::nullopt;
  text.remove_prefix(kKeyIdLength + 1);
  std::uint32_t bits = 0;
  int count = 0;
  std::size_t out = 0;
  for (char c : text) {
    const int v = Base64UrlValue(c);
    if (v < 0) return std::nullopt;
    bits = (bits << 6) | static_cast<std::uint32_t>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      parsed.secret[out++] = static_cast<unsigned char>((bits >> count) & 0xff);
    }
  }
  // The 43rd character carries 2 padding bits, which a canonical encoding leaves zero.
  if (out != kSecretBytes || (bits & ((1u << count) - 1)) != 0) return std::nullopt;
  return parsed;
}

bool SecretMatches(const ApiKey& stored, const ParsedApiKey& presented) {
  const std::vector<unsigned char> salt = Unhex(stored.salt_hex);
  const std::vector<unsigned char> expected = Unhex(stored.hash_hex);
  if (salt.empty() || expected.size() != 32) return false;
  const auto actual = SecretHash(salt.data(), salt.size(), stored.key_id, presented.secret.data());
  return CRYPTO_memcmp(actual.data(), expected.data(), actual.size()) == 0;
}

}  // namespace kiln::platform
