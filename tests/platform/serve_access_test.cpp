// The OpenAI service behind PlatformAccessControl, in process on a loopback port with the demo
// model and a real database (SQLite and PostgreSQL): API keys (401), model allowlists (403),
// requests-per-minute (429 + Retry-After), and the ledger — one record per request, committed
// before the response ends, with a client that disconnects billed for what was generated.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "kiln/model/demo_model.h"
#include "kiln/platform/access_control.h"
#include "kiln/platform/api_keys.h"
#include "kiln/platform/store.h"
#include "kiln/server/api/openai_service.h"
#include "kiln/server/api/served_model.h"
#include "kiln/server/metrics.h"
#include "kiln/server/router.h"
#include "platform/test_database.h"
#include "server/server_fixture.h"
#include "tools/kiln_process.h"

namespace kiln::platform {
namespace {

using Json = nlohmann::json;
using kiln::testing::Backend;
using kiln::testing::TestDatabase;
using server::testing::RunningServer;
using server::testing::TestClient;
using server::testing::TestResponse;

constexpr std::int64_t kStart = 1'795'000'000'000;  // 2026-11-18, a fixed wall clock

std::string DemoModel() {
  static const std::string path = [] {
    const std::string dir = ::testing::TempDir() + "/kiln-access-demo";
    std::filesystem::create_directories(dir);
    return model::EnsureDemoModel(dir);
  }();
  return path;
}

// The service with access control over one database, on an ephemeral loopback port.
class ServeAccessTest : public ::testing::TestWithParam<Backend> {
 protected:
  ServeAccessTest() : db_(GetParam()), clock_(kStart) {
    StoreOptions options;
    options.clock = &clock_;
    store_ = Store::Open(db_.url(), options);
  }

  ~ServeAccessTest() override {
    server_.reset();
    service_.reset();
    model_.reset();
  }

  void StartServer(bool open = false) {
    engine::EngineOptions engine;
    engine.max_sequences = 4;
    engine.context_size = 512;
    engine.threads = 1;
    model_ = std::make_unique<server::api::ServedModel>(DemoModel(), "kiln-demo", engine);
    access_ = std::make_unique<PlatformAccessControl>(*store_, clock_, open);
    service_ = std::make_unique<server::api::OpenAiService>(
        std::vector<server::api::ServedModel*>{model_.get()}, metrics_);
    service_->SetAccessControl(access_.get());
    server::Router router;
    service_->AddRoutes(router);
    server_ = std::make_unique<RunningServer>(std::move(router));
  }

  Tenant AddTenant(const std::string& id, std::int64_t rpm = 0,
                   std::vector<std::string> models = {}) {
    Tenant tenant;
    tenant.id = id;
    tenant.name = id;
    tenant.requests_per_minute = rpm;
    tenant.allowed_models = std::move(models);
    store_->CreateTenant(tenant);
    return tenant;
  }

  IssuedApiKey AddKey(const std::string& tenant, std::vector<std::string> models = {},
                      std::optional<std::int64_t> expires_in_ms = std::nullopt) {
    NewApiKey request;
    request.tenant_id = tenant;
    request.name = "test";
    request.allowed_models = std::move(models);
    request.expires_in_ms = expires_in_ms;
    return CreateApiKey(*store_, clock_, request);
  }

  TestResponse Post(const std::string& path, const Json& body,
                    const std::optional<std::string>& authorization) {
    std::vector<std::pair<std::string, std::string>> headers = {
        {"Content-Type", "application/json"}};
    if (authorization) headers.emplace_back("Authorization", *authorization);
    TestClient client = server_->Connect();
    return client.Request("POST", path, headers, body.dump());
  }

  TestResponse Complete(const std::optional<std::string>& authorization, int max_tokens = 4,
                        const std::string& model = "kiln-demo") {
    return Post("/v1/completions",
                {{"model", model}, {"prompt", "the ledger"}, {"max_tokens", max_tokens}},
                authorization);
  }

  static std::string Bearer(const IssuedApiKey& key) { return "Bearer " + key.secret; }

  TestDatabase db_;
  ManualClock clock_;
  std::unique_ptr<Store> store_;
  server::MetricsRegistry metrics_;
  std::unique_ptr<server::api::ServedModel> model_;
  std::unique_ptr<PlatformAccessControl> access_;
  std::unique_ptr<server::api::OpenAiService> service_;
  std::unique_ptr<RunningServer> server_;
};

INSTANTIATE_TEST_SUITE_P(Backends, ServeAccessTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         kiln::testing::BackendName);

void ExpectError(const TestResponse& r, int status, const std::string& type,
                 const std::string& code) {
  EXPECT_EQ(r.status, status) << r.body;
  const Json body = Json::parse(r.body);
  EXPECT_EQ(body["error"]["type"], type) << r.body;
  EXPECT_EQ(body["error"]["code"], code) << r.body;
  EXPECT_FALSE(body["error"]["message"].get<std::string>().empty());
}

TEST_P(ServeAccessTest, EveryAuthenticationFailureIs401) {
  AddTenant("acme");
  const IssuedApiKey good = AddKey("acme");
  const IssuedApiKey revoked = AddKey("acme");
  ASSERT_TRUE(RevokeApiKey(*store_, clock_, revoked.record.key_id));
  const IssuedApiKey expiring = AddKey("acme", {}, 60'000);
  const IssuedApiKey rotated = AddKey("acme");
  RotateApiKey(*store_, rotated.record.key_id);  // the old secret is now unknown
  StartServer();

  ExpectError(Complete(std::nullopt), 401, "authentication_error", "missing_api_key");
  ExpectError(Complete("Basic dXNlcjpwYXNz"), 401, "authentication_error", "invalid_api_key");
  ExpectError(Complete("Bearer not-a-kiln-key"), 401, "authentication_error", "invalid_api_key");
  ExpectError(Complete(Bearer(rotated)), 401, "authentication_error", "invalid_api_key");
  ExpectError(Complete(Bearer(revoked)), 401, "authentication_error", "revoked_api_key");
  EXPECT_EQ(Complete(Bearer(expiring)).status, 200);
  clock_.Advance(61'000);
  ExpectError(Complete(Bearer(expiring)), 401, "authentication_error", "expired_api_key");
  EXPECT_EQ(Complete(Bearer(good)).status, 200);

  // Every /v1 route, not only generation; the secret never appears in an answer.
  TestClient client = server_->Connect();
  const TestResponse models = client.Request("GET", "/v1/models");
  ExpectError(models, 401, "authentication_error", "missing_api_key");
  const TestResponse listed =
      server_->Connect().Request("GET", "/v1/models", {{"Authorization", Bearer(good)}});
  EXPECT_EQ(listed.status, 200);
  const TestResponse embed =
      Post("/v1/embeddings", {{"model", "kiln-demo"}, {"input", "x"}}, "Bearer " + revoked.secret);
  ExpectError(embed, 401, "authentication_error", "revoked_api_key");
  EXPECT_EQ(embed.body.find(revoked.secret), std::string::npos);
  // Failed requests are not billed; the two good ones are.
  EXPECT_EQ(store_->ListUsage({}).size(), 2u);
}

TEST_P(ServeAccessTest, ModelOutsideTheKeyOrTenantAllowlistIs403) {
  AddTenant("acme");
  AddTenant("narrow", 0, {"other-model"});
  const IssuedApiKey key_narrow = AddKey("acme", {"other-model"});
  const IssuedApiKey key_wide = AddKey("acme", {"kiln-demo"});
  const IssuedApiKey tenant_narrow = AddKey("narrow");
  StartServer();
  ExpectError(Complete(Bearer(key_narrow)), 403, "permission_error", "model_not_allowed");
  ExpectError(Complete(Bearer(tenant_narrow)), 403, "permission_error", "model_not_allowed");
  EXPECT_EQ(Complete(Bearer(key_wide)).status, 200);
}

TEST_P(ServeAccessTest, RequestsPerMinuteAnswer429WithRetryAfterExactlyWhenDue) {
  AddTenant("acme", /*rpm=*/3);
  const IssuedApiKey key = AddKey("acme");
  StartServer();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Complete(Bearer(key)).status, 200) << "request " << i;
  const TestResponse refused = Complete(Bearer(key));
  ExpectError(refused, 429, "rate_limit_error", "requests_per_minute");
  ASSERT_TRUE(refused.HasHeader("Retry-After"));
  const int retry_after = std::stoi(refused.Header("Retry-After"));
  EXPECT_GE(retry_after, 1);
  EXPECT_LE(retry_after, 60);
  // Still refused just before the advertised time, admitted at it.
  clock_.Advance(std::int64_t{retry_after} * 1000 - 1500);
  EXPECT_EQ(Complete(Bearer(key)).status, 429);
  clock_.Advance(1500);
  EXPECT_EQ(Complete(Bearer(key)).status, 200);
  EXPECT_EQ(store_->ListUsage({}).size(), 4u);
}

TEST_P(ServeAccessTest, EveryRequestHasOneLedgerRecordMatchingItsUsageBeforeItEnds) {
  AddTenant("acme");
  const IssuedApiKey key = AddKey("acme");
  StartServer();
  std::map<std::string, Json> usage_by_id;
  for (int i = 0; i < 6; ++i) {
    const bool stream = i % 2 == 1;
    Json body = {{"model", "kiln-demo"}, {"max_tokens", 3 + i}, {"stream", stream}};
    std::string id;
    Json usage;
    if (i % 3 == 0) {
      body["prompt"] = "count " + std::to_string(i);
    } else {
      body["messages"] = Json::array({{{"role", "user"}, {"content", "hi " + std::to_string(i)}}});
    }
    if (stream) body["stream_options"] = {{"include_usage", true}};
    const std::string path = i % 3 == 0 ? "/v1/completions" : "/v1/chat/completions";
    const TestResponse r = Post(path, body, Bearer(key));
    ASSERT_EQ(r.status, 200) << r.body;
    if (stream) {
      // The SSE body: the usage chunk precedes [DONE].
      std::size_t pos = 0;
      while ((pos = r.body.find("data: {", pos)) != std::string::npos) {
        const std::size_t end = r.body.find('\n', pos);
        const Json chunk = Json::parse(r.body.substr(pos + 6, end - pos - 6));
        id = chunk["id"];
        if (chunk.contains("usage") && !chunk["usage"].is_null()) usage = chunk["usage"];
        pos = end;
      }
      EXPECT_NE(r.body.find("data: [DONE]"), std::string::npos);
    } else {
      const Json json = Json::parse(r.body);
      id = json["id"];
      usage = json["usage"];
    }
    ASSERT_FALSE(usage.is_null()) << r.body;
    usage_by_id[id] = usage;
    // Committed before the response ended: no waiting here.
    UsageQuery query;
    EXPECT_EQ(store_->ListUsage(query).size(), static_cast<std::size_t>(i + 1));
  }
  const std::vector<UsageRecord> records = store_->ListUsage({});
  ASSERT_EQ(records.size(), 6u);
  for (const UsageRecord& record : records) {
    ASSERT_TRUE(usage_by_id.count(record.request_id)) << record.request_id;
    const Json& usage = usage_by_id[record.request_id];
    EXPECT_EQ(record.prompt_tokens, usage["prompt_tokens"].get<std::int64_t>());
    EXPECT_EQ(record.completion_tokens, usage["completion_tokens"].get<std::int64_t>());
    EXPECT_GT(record.completion_tokens, 0);
    EXPECT_EQ(record.tenant_id, "acme");
    EXPECT_EQ(record.key_id, key.record.key_id);
    EXPECT_EQ(record.model, "kiln-demo");
    EXPECT_EQ(record.status, "ok");
  }
  // The limiter's budgets read the same ledger.
  std::int64_t total = 0;
  for (auto& [id, usage] : usage_by_id) total += usage["total_tokens"].get<std::int64_t>();
  EXPECT_EQ(store_->TokensUsedSince("acme", 0), total);
}

TEST_P(ServeAccessTest, ClientThatDisconnectsMidStreamIsBilledForWhatWasGenerated) {
  AddTenant("acme");
  const IssuedApiKey key = AddKey("acme");
  StartServer();
  TestClient client = server_->Connect();
  const Json body = {{"model", "kiln-demo"},
                     {"prompt", "a long story"},
                     {"max_tokens", 400},
                     {"ignore_eos", true},
                     {"stream", true}};
  client.SendRequest("POST", "/v1/completions",
                     {{"Content-Type", "application/json"}, {"Authorization", Bearer(key)}},
                     body.dump());
  ASSERT_EQ(client.ReadHeader().status, 200);
  std::string received;
  while (std::count(received.begin(), received.end(), '\n') < 10) {
    auto piece = client.ReadBodyPiece();
    ASSERT_TRUE(piece.has_value());
    received += *piece;
  }
  client.Close();
  std::vector<UsageRecord> records;
  for (int i = 0; i < 200 && records.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    records = store_->ListUsage({});
  }
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].status, "cancelled");
  EXPECT_EQ(records[0].finish_reason, "cancelled");
  EXPECT_GT(records[0].prompt_tokens, 0);
  EXPECT_GE(records[0].completion_tokens, 3);  // at least the tokens the client saw
  EXPECT_LT(records[0].completion_tokens, 400);
}

TEST_P(ServeAccessTest, EmbeddingsAreBilledBeforeTheyAreAnswered) {
  AddTenant("acme");
  const IssuedApiKey key = AddKey("acme");
  StartServer();
  const TestResponse r = Post(
      "/v1/embeddings", {{"model", "kiln-demo"}, {"input", {"one two", "three"}}}, Bearer(key));
  ASSERT_EQ(r.status, 200) << r.body;
  const std::vector<UsageRecord> records = store_->ListUsage({});
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].prompt_tokens,
            Json::parse(r.body)["usage"]["prompt_tokens"].get<std::int64_t>());
  EXPECT_GT(records[0].prompt_tokens, 0);
  EXPECT_EQ(records[0].completion_tokens, 0);
  EXPECT_EQ(records[0].key_id, key.record.key_id);
}

TEST_P(ServeAccessTest, ConcurrencyCapAnswers429UntilTheRunningRequestEnds) {
  Tenant tenant = AddTenant("acme");
  tenant.max_concurrent_requests = 1;
  store_->UpdateTenant(tenant);
  const IssuedApiKey key = AddKey("acme");
  StartServer();
  TestClient running = server_->Connect();
  const Json body = {{"model", "kiln-demo"},
                     {"prompt", "on and on"},
                     {"max_tokens", 400},
                     {"ignore_eos", true},
                     {"stream", true}};
  running.SendRequest("POST", "/v1/completions",
                      {{"Content-Type", "application/json"}, {"Authorization", Bearer(key)}},
                      body.dump());
  ASSERT_EQ(running.ReadHeader().status, 200);
  const TestResponse refused = Complete(Bearer(key));
  ExpectError(refused, 429, "rate_limit_error", "concurrency");
  EXPECT_TRUE(refused.HasHeader("Retry-After"));
  running.Close();
  // The slot is released once the cancelled request is settled in the ledger.
  for (int i = 0; i < 200 && store_->ListUsage({}).empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(store_->ListUsage({}).size(), 1u);
  EXPECT_EQ(Complete(Bearer(key)).status, 200);
}

TEST_P(ServeAccessTest, SpentDailyBudgetAnswers429) {
  Tenant tenant = AddTenant("acme");
  tenant.daily_token_budget = 20;
  store_->UpdateTenant(tenant);
  const IssuedApiKey key = AddKey("acme");
  StartServer();
  const Json body = {
      {"model", "kiln-demo"}, {"prompt", "the ledger"}, {"max_tokens", 8}, {"ignore_eos", true}};
  const TestResponse first = Post("/v1/completions", body, Bearer(key));
  ASSERT_EQ(first.status, 200) << first.body;
  const std::int64_t used = Json::parse(first.body)["usage"]["total_tokens"].get<std::int64_t>();
  // What the first used plus what the second may use exceeds the budget: refused.
  ASSERT_GT(2 * used, 20);
  const TestResponse refused = Post("/v1/completions", body, Bearer(key));
  ExpectError(refused, 429, "rate_limit_error", "daily_budget");
  EXPECT_TRUE(refused.HasHeader("Retry-After"));
  EXPECT_NE(Json::parse(refused.body)["error"]["message"].get<std::string>().find(
                std::to_string(used) + " used"),
            std::string::npos)
      << refused.body;
  EXPECT_EQ(store_->ListUsage({}).size(), 1u);
}

TEST_P(ServeAccessTest, OpenModeNeedsNoKeyAndStillBills) {
  StartServer(/*open=*/true);
  const TestResponse r = Complete(std::nullopt);
  ASSERT_EQ(r.status, 200) << r.body;
  const std::vector<UsageRecord> records = store_->ListUsage({});
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].tenant_id, kAnonymousTenant);
  EXPECT_EQ(records[0].completion_tokens,
            Json::parse(r.body)["usage"]["completion_tokens"].get<std::int64_t>());
}

// The real `kiln serve`: without API keys it refuses a non-loopback address unless told
// --insecure-no-auth, and says that it runs open; with a key it serves that address.
TEST_P(ServeAccessTest, ServeRefusesAnOpenNonLoopbackAddress) {
  using kiln::testing::Quoted;
  using kiln::testing::RunKiln;
  const std::string data_dir = std::filesystem::path(DemoModel()).parent_path().string();
  const std::string base = "serve --port 0 --threads 1 --ctx-size 256 --data-dir " +
                           Quoted(data_dir) + " --db " + Quoted(db_.url());
  const auto refused = RunKiln(base + " --host 0.0.0.0", true);
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.output.find("--insecure-no-auth"), std::string::npos) << refused.output;
  EXPECT_EQ(refused.output.find("kiln: serving"), std::string::npos) << refused.output;

  // `timeout` stops the server (SIGTERM) once it has had time to start.
  const std::string binary = KILN_BINARY;
  const auto serve_briefly = [&](const std::string& extra) {
    const std::string command = "timeout -s TERM 4 " + binary + " " + base + " " + extra + " 2>&1";
    FILE* pipe = ::popen(command.c_str(), "r");
    std::string out;
    char buffer[4096];
    std::size_t n;
    while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) out.append(buffer, n);
    ::pclose(pipe);
    return out;
  };
  const std::string insecure = serve_briefly("--host 0.0.0.0 --insecure-no-auth");
  EXPECT_NE(insecure.find("kiln: serving kiln-demo on http://0.0.0.0:"), std::string::npos)
      << insecure;
  EXPECT_NE(insecure.find("serving without authentication"), std::string::npos) << insecure;

  AddTenant("acme");
  const IssuedApiKey key = AddKey("acme");
  const std::string served = serve_briefly("--host 0.0.0.0");
  EXPECT_NE(served.find("kiln: serving kiln-demo on http://0.0.0.0:"), std::string::npos) << served;
  EXPECT_NE(served.find("API keys required"), std::string::npos) << served;
  EXPECT_EQ(served.find(key.secret), std::string::npos);
}

}  // namespace
}  // namespace kiln::platform
