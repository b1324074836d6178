// API keys and the authenticator on both backends: the key lifecycle and every failure.
#include "kiln/platform/api_keys.h"

#include <gtest/gtest.h>

#include "kiln/base/error.h"
#include "kiln/platform/authenticator.h"
#include "platform/test_database.h"

namespace kiln::platform {
namespace {

using testing::Backend;
using testing::TestDatabase;

class ApiKeyTest : public ::testing::TestWithParam<Backend> {
 protected:
  ApiKeyTest() : db_(GetParam()), clock_(1'800'000'000'000), store_(Store::Open(db_.url())) {
    Tenant t;
    t.id = "acme";
    t.name = "Acme";
    store_->CreateTenant(t);
  }
  IssuedApiKey Create(NewApiKey request = {}) {
    if (request.tenant_id.empty()) request.tenant_id = "acme";
    return CreateApiKey(*store_, clock_, request);
  }
  TestDatabase db_;
  ManualClock clock_;
  std::unique_ptr<Store> store_;
  Authenticator auth_{*store_, clock_};
};

INSTANTIATE_TEST_SUITE_P(Backends, ApiKeyTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         testing::BackendName);

TEST_P(ApiKeyTest, CreatedKeyAuthenticatesAndOnlyItsHashIsStored) {
  const IssuedApiKey issued = Create({.name = "ci"});
  EXPECT_EQ(issued.secret.rfind("kiln-" + issued.record.key_id + "_", 0), 0u) << issued.secret;
  EXPECT_EQ(issued.secret.size(), 5u + 12u + 1u + 43u);

  const auto stored = store_->FindKey(issued.record.key_id);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->tenant_id, "acme");
  EXPECT_EQ(stored->name, "ci");
  EXPECT_EQ(stored->created_ms, 1'800'000'000'000);
  EXPECT_FALSE(stored->expires_ms);
  EXPECT_EQ(stored->hash_hex.size(), 64u);
  EXPECT_EQ(stored->salt_hex.size(), 32u);
  const std::string secret_part = issued.secret.substr(18);
  for (const std::string& field :
       {stored->key_id, stored->name, stored->salt_hex, stored->hash_hex}) {
    EXPECT_EQ(field.find(secret_part), std::string::npos);
  }

  const AuthResult result = auth_.AuthenticateHeader("Bearer " + issued.secret);
  ASSERT_TRUE(result.ok()) << result.message;
  EXPECT_EQ(result.principal->tenant.id, "acme");
  EXPECT_EQ(result.principal->key.key_id, issued.record.key_id);
  EXPECT_TRUE(result.principal->key.hash_hex.empty());  // not handed further than needed
  EXPECT_TRUE(auth_.AuthenticateHeader("bearer  " + issued.secret + " ").ok());
}

TEST_P(ApiKeyTest, EveryAuthenticationFailureHasItsReason) {
  const IssuedApiKey issued = Create();
  EXPECT_EQ(auth_.AuthenticateHeader(std::nullopt).failure, AuthFailure::kMissing);
  EXPECT_EQ(auth_.AuthenticateHeader("").failure, AuthFailure::kMissing);
  EXPECT_EQ(auth_.AuthenticateHeader("Bearer ").failure, AuthFailure::kMalformed);
  EXPECT_EQ(auth_.AuthenticateHeader("Basic " + issued.secret).failure, AuthFailure::kMalformed);
  EXPECT_EQ(auth_.AuthenticateHeader(issued.secret).failure, AuthFailure::kMalformed);
  EXPECT_EQ(auth_.Authenticate("sk-not-a-kiln-key").failure, AuthFailure::kMalformed);
  EXPECT_EQ(auth_.Authenticate(issued.secret.substr(0, issued.secret.size() - 1)).failure,
            AuthFailure::kMalformed);
  std::string bad_char = issued.secret;
  bad_char[30] = '*';
  EXPECT_EQ(auth_.Authenticate(bad_char).failure, AuthFailure::kMalformed);

  // A well-formed key whose id does not exist.
  std::string unknown = issued.secret;
  unknown[5] = unknown[5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(auth_.Authenticate(unknown).failure, AuthFailure::kUnknown);

  // The right id with a wrong secret: the same answer as an unknown key.
  std::string wrong = issued.secret;
  wrong[20] = wrong[20] == 'A' ? 'B' : 'A';
  const AuthResult wrong_result = auth_.Authenticate(wrong);
  EXPECT_EQ(wrong_result.failure, AuthFailure::kUnknown);
  EXPECT_FALSE(wrong_result.principal);
  EXPECT_EQ(wrong_result.message.find(issued.secret.substr(18)), std::string::npos);
}

TEST_P(ApiKeyTest, RevokedKeyIsRefused) {
  const IssuedApiKey issued = Create();
  ASSERT_TRUE(auth_.Authenticate(issued.secret).ok());
  clock_.Advance(1000);
  EXPECT_TRUE(RevokeApiKey(*store_, clock_, issued.record.key_id));
  const AuthResult result = auth_.Authenticate(issued.secret);
  EXPECT_EQ(result.failure, AuthFailure::kRevoked);
  EXPECT_EQ(store_->FindKey(issued.record.key_id)->revoked_ms, 1'800'000'001'000);
  // Revoking again keeps the first time; a revoked key cannot be rotated back to life.
  clock_.Advance(1000);
  EXPECT_TRUE(RevokeApiKey(*store_, clock_, issued.record.key_id));
  EXPECT_EQ(store_->FindKey(issued.record.key_id)->revoked_ms, 1'800'000'001'000);
  EXPECT_THROW(RotateApiKey(*store_, issued.record.key_id), Error);
  EXPECT_FALSE(RevokeApiKey(*store_, clock_, "nosuchkey123"));
  // A wrong secret for a revoked key says nothing about its state.
  std::string wrong = issued.secret;
  wrong[20] = wrong[20] == 'A' ? 'B' : 'A';
  EXPECT_EQ(auth_.Authenticate(wrong).failure, AuthFailure::kUnknown);
}

TEST_P(ApiKeyTest, KeyExpiresExactlyAtItsTime) {
  const IssuedApiKey issued = Create({.expires_in_ms = 30LL * 86'400'000});
  EXPECT_EQ(*store_->FindKey(issued.record.key_id)->expires_ms,
            1'800'000'000'000 + 30LL * 86'400'000);
  clock_.Advance(30LL * 86'400'000 - 1);
  EXPECT_TRUE(auth_.Authenticate(issued.secret).ok());
  clock_.Advance(1);
  EXPECT_EQ(auth_.Authenticate(issued.secret).failure, AuthFailure::kExpired);
}

TEST_P(ApiKeyTest, RotationInvalidatesTheOldSecret) {
  const IssuedApiKey issued = Create({.name = "svc", .allowed_models = {"llama"}});
  const IssuedApiKey rotated = RotateApiKey(*store_, issued.record.key_id);
  EXPECT_NE(rotated.secret, issued.secret);
  EXPECT_EQ(rotated.record.key_id, issued.record.key_id);
  EXPECT_EQ(auth_.Authenticate(issued.secret).failure, AuthFailure::kUnknown);
  const AuthResult result = auth_.Authenticate(rotated.secret);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.principal->key.name, "svc");
  EXPECT_EQ(result.principal->key.allowed_models, (std::vector<std::string>{"llama"}));
  EXPECT_THROW(RotateApiKey(*store_, "nosuchkey123"), Error);
}

TEST_P(ApiKeyTest, ListsKeysPerTenant) {
  Tenant beta;
  beta.id = "beta";
  store_->CreateTenant(beta);
  Create({.name = "one"});
  clock_.Advance(1);
  Create({.name = "two"});
  Create({.tenant_id = "beta", .name = "three"});
  EXPECT_THROW(Create({.tenant_id = "ghost"}), Error);
  const auto acme = store_->ListKeys("acme");
  ASSERT_EQ(acme.size(), 2u);
  EXPECT_EQ(acme[0].name, "one");
  EXPECT_EQ(acme[1].name, "two");
  EXPECT_EQ(store_->ListKeys().size(), 3u);
}

TEST_P(ApiKeyTest, ModelAllowlistsOfKeyAndTenant) {
  Tenant t = *store_->FindTenant("acme");
  t.allowed_models = {"llama", "qwen"};
  store_->UpdateTenant(t);
  const IssuedApiKey any = Create();
  const IssuedApiKey qwen_only = Create({.allowed_models = {"qwen"}});

  const Principal p_any = *auth_.Authenticate(any.secret).principal;
  EXPECT_TRUE(Authenticator::AuthorizeModel(p_any, "llama").allowed);
  EXPECT_TRUE(Authenticator::AuthorizeModel(p_any, "qwen").allowed);
  const Authorization tenant_refusal = Authenticator::AuthorizeModel(p_any, "mistral");
  EXPECT_FALSE(tenant_refusal.allowed);
  EXPECT_NE(tenant_refusal.reason.find("tenant 'acme'"), std::string::npos);

  const Principal p_qwen = *auth_.Authenticate(qwen_only.secret).principal;
  EXPECT_TRUE(Authenticator::AuthorizeModel(p_qwen, "qwen").allowed);
  const Authorization key_refusal = Authenticator::AuthorizeModel(p_qwen, "llama");
  EXPECT_FALSE(key_refusal.allowed);
  EXPECT_NE(key_refusal.reason.find("API key"), std::string::npos);

  // The tenant's list bounds the key's, and changes to it apply at the next request.
  t.allowed_models = {"llama"};
  store_->UpdateTenant(t);
  const Principal p_qwen_now = *auth_.Authenticate(qwen_only.secret).principal;
  EXPECT_FALSE(Authenticator::AuthorizeModel(p_qwen_now, "qwen").allowed);
}

TEST(ApiKeyFormat, ParsesOnlyCanonicalKeys) {
  const std::string id = "AbCdEf012345";
  const std::string secret(43, 'A');
  auto parsed = ParseApiKey("kiln-" + id + "_" + secret);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->key_id, id);
  for (unsigned char b : parsed->secret) EXPECT_EQ(b, 0);
  // The last character carries two padding bits that must be zero: 'B' sets one of them.
  EXPECT_FALSE(ParseApiKey("kiln-" + id + "_" + std::string(42, 'A') + "B"));
  EXPECT_TRUE(ParseApiKey("kiln-" + id + "_" + std::string(42, 'A') + "E"));
  EXPECT_FALSE(ParseApiKey("kiln-" + id + "-" + secret));
  EXPECT_FALSE(ParseApiKey("kiln_" + id + "_" + secret));
  EXPECT_FALSE(ParseApiKey("kiln-AbCdEf01234!_" + secret));
  EXPECT_FALSE(ParseApiKey(""));
}

}  // namespace
}  // namespace kiln::platform
