// `kiln tenants`, `kiln keys` and `kiln usage` run as a user would, against a database the test
// then inspects through the library (and the other way round).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "kiln/platform/authenticator.h"
#include "kiln/platform/calendar.h"
#include "kiln/platform/store.h"
#include "platform/test_database.h"
#include "tools/kiln_process.h"

namespace kiln::platform {
namespace {

using testing::Backend;
using testing::Quoted;
using testing::RunKiln;
using testing::TestDatabase;

class PlatformCliTest : public ::testing::TestWithParam<Backend> {
 protected:
  PlatformCliTest() : db_(GetParam()) {}
  testing::RunResult Kiln(const std::string& args) {
    return RunKiln(args + " --db " + Quoted(db_.url()), /*with_stderr=*/true);
  }
  // The secret printed by `keys create` / `keys rotate`: the line that starts with "kiln-".
  static std::string SecretIn(const std::string& output) {
    std::istringstream lines(output);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.rfind("kiln-", 0) == 0) return line;
    }
    return "";
  }
  static std::string KeyIdOf(const std::string& secret) { return secret.substr(5, 12); }
  TestDatabase db_;
  SystemClock clock_;
};

INSTANTIATE_TEST_SUITE_P(Backends, PlatformCliTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         testing::BackendName);

TEST_P(PlatformCliTest, TenantsCreateListUpdateDelete) {
  auto r = Kiln(
      "tenants create acme --name 'Acme Corp' --models llama,qwen --rpm 60 --tpm 10000 "
      "--daily-tokens 500000 --max-concurrent 4 --weight 2 --priority 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = Kiln("tenants create acme");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("already exists"), std::string::npos) << r.output;
  r = Kiln("tenants create 'Not Valid'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("not a valid tenant id"), std::string::npos) << r.output;

  r = Kiln("tenants list");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("ID"), std::string::npos);
  EXPECT_NE(r.output.find("Acme Corp"), std::string::npos);
  EXPECT_NE(r.output.find("llama,qwen"), std::string::npos);

  ASSERT_EQ(Kiln("tenants update acme --rpm 5 --monthly-tokens 9000000").exit_code, 0);
  r = Kiln("tenants list --format json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto tenants = nlohmann::json::parse(r.output);
  ASSERT_EQ(tenants.size(), 1u);
  EXPECT_EQ(tenants[0]["id"], "acme");
  EXPECT_EQ(tenants[0]["name"], "Acme Corp");
  EXPECT_EQ(tenants[0]["allowed_models"], nlohmann::json({"llama", "qwen"}));  // unchanged
  EXPECT_EQ(tenants[0]["requests_per_minute"], 5);
  EXPECT_EQ(tenants[0]["tokens_per_minute"], 10000);
  EXPECT_EQ(tenants[0]["monthly_token_budget"], 9000000);
  EXPECT_EQ(tenants[0]["max_concurrent_requests"], 4);
  EXPECT_EQ(tenants[0]["weight"], 2.0);

  // The library reads what the CLI wrote.
  const auto stored = Store::Open(db_.url())->FindTenant("acme");
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->daily_token_budget, 500000);

  EXPECT_EQ(Kiln("tenants update ghost --rpm 1").exit_code, 1);
  ASSERT_EQ(Kiln("tenants delete acme").exit_code, 0);
  EXPECT_EQ(Kiln("tenants delete acme").exit_code, 1);
  r = Kiln("tenants list --format json");
  EXPECT_EQ(nlohmann::json::parse(r.output).size(), 0u);
}

TEST_P(PlatformCliTest, KeyLifecycle) {
  ASSERT_EQ(Kiln("tenants create acme").exit_code, 0);
  auto r = Kiln("keys create --tenant acme --name ci --models llama --expires 30d");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string secret = SecretIn(r.output);
  ASSERT_FALSE(secret.empty()) << r.output;
  const std::string key_id = KeyIdOf(secret);
  EXPECT_NE(r.output.find("expires at"), std::string::npos);

  auto store = Store::Open(db_.url());
  Authenticator auth(*store, clock_);
  const AuthResult ok = auth.AuthenticateHeader("Bearer " + secret);
  ASSERT_TRUE(ok.ok()) << ok.message;
  EXPECT_EQ(ok.principal->key.name, "ci");
  EXPECT_FALSE(Authenticator::AuthorizeModel(*ok.principal, "qwen").allowed);
  EXPECT_TRUE(Authenticator::AuthorizeModel(*ok.principal, "llama").allowed);

  r = Kiln("keys list --tenant acme");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find(key_id), std::string::npos);
  EXPECT_NE(r.output.find("active"), std::string::npos);
  EXPECT_EQ(r.output.find(secret.substr(18)), std::string::npos) << "list must not show secrets";

  r = Kiln("keys rotate " + key_id);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string rotated = SecretIn(r.output);
  ASSERT_FALSE(rotated.empty()) << r.output;
  EXPECT_EQ(KeyIdOf(rotated), key_id);
  EXPECT_EQ(auth.Authenticate(secret).failure, AuthFailure::kUnknown);
  EXPECT_TRUE(auth.Authenticate(rotated).ok());

  ASSERT_EQ(Kiln("keys revoke " + key_id).exit_code, 0);
  EXPECT_EQ(auth.Authenticate(rotated).failure, AuthFailure::kRevoked);
  r = Kiln("keys list --format json");
  const auto keys = nlohmann::json::parse(r.output);
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0]["state"], "revoked");
  EXPECT_EQ(keys[0]["allowed_models"], nlohmann::json({"llama"}));

  EXPECT_EQ(Kiln("keys revoke nosuchkey123").exit_code, 1);
  r = Kiln("keys create --tenant ghost");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("does not exist"), std::string::npos) << r.output;
  EXPECT_EQ(Kiln("keys create --tenant acme --expires 30x").exit_code, 1);
}

TEST_P(PlatformCliTest, UsageReportsGroupedRows) {
  {
    auto store = Store::Open(db_.url());
    int i = 0;
    auto add = [&](const char* tenant, const char* model, const char* at, int prompt,
                   int completion) {
      UsageRecord r;
      r.request_id = "req" + std::to_string(i++);
      r.tenant_id = tenant;
      r.model = model;
      r.prompt_tokens = prompt;
      r.completion_tokens = completion;
      r.status = "ok";
      r.finish_reason = "stop";
      r.started_ms = ParseUtcTime(at);
      r.finished_ms = r.started_ms + 10;
      store->RecordUsage(r);
    };
    add("acme", "llama", "2026-10-31T10:00:00", 1, 1);
    add("acme", "llama", "2026-11-01T10:00:00", 10, 5);
    add("acme", "llama", "2026-11-01T11:00:00", 20, 5);
    add("acme", "qwen", "2026-11-02T10:00:00", 30, 7);
    add("beta", "qwen", "2026-11-02T10:00:00", 99, 99);
  }
  auto r = Kiln("usage --tenant acme --since 2026-11-01 --group-by day,model --format json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto rows = nlohmann::json::parse(r.output);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["day"], "2026-11-01");
  EXPECT_EQ(rows[0]["model"], "llama");
  EXPECT_EQ(rows[0]["requests"], 2);
  EXPECT_EQ(rows[0]["prompt_tokens"], 30);
  EXPECT_EQ(rows[0]["total_tokens"], 40);
  EXPECT_EQ(rows[1]["day"], "2026-11-02");
  EXPECT_EQ(rows[1]["model"], "qwen");

  r = Kiln("usage --group-by tenant --format csv");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output,
            "tenant,requests,prompt_tokens,cached_tokens,completion_tokens,total_tokens\r\n"
            "acme,4,61,0,18,79\r\n"
            "beta,1,99,0,99,198\r\n");

  r = Kiln("usage --group-by month");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("2026-10"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("2026-11"), std::string::npos) << r.output;

  r = Kiln("usage --group-by week");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("cannot group usage by 'week'"), std::string::npos) << r.output;
  EXPECT_EQ(Kiln("usage --since 2026-11-31").exit_code, 1);
}

TEST(PlatformCliDefaults, DatabaseDefaultsToTheDataDirectory) {
  testing::TempDirectory dir;
  ::setenv("KILN_DATA_DIR", dir.path().c_str(), 1);
  ::unsetenv("KILN_DB");
  const auto r = RunKiln("tenants create acme", true);
  ::unsetenv("KILN_DATA_DIR");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string path = dir.path() + "/kiln.db";
  ASSERT_TRUE(std::filesystem::exists(path));
  EXPECT_TRUE(Store::Open("sqlite:" + path)->FindTenant("acme"));
}

}  // namespace
}  // namespace kiln::platform
