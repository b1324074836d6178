// Store on both backends: migrations, tenants, the ledger and usage reports.
#include "kiln/platform/store.h"

#include <gtest/gtest.h>

#include <thread>

#include "kiln/base/error.h"
#include "kiln/platform/calendar.h"
#include "platform/test_database.h"

namespace kiln::platform {
namespace {

using testing::Backend;
using testing::TestDatabase;

class StoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  StoreTest() : db_(GetParam()) {}
  std::unique_ptr<Store> Open(StoreOptions options = {}) { return Store::Open(db_.url(), options); }
  TestDatabase db_;
};

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         testing::BackendName);

Tenant MakeTenant(const std::string& id) {
  Tenant t;
  t.id = id;
  t.name = "Tenant " + id;
  return t;
}

UsageRecord MakeRecord(int i, const std::string& tenant, const std::string& model,
                       std::int64_t started_ms) {
  UsageRecord r;
  r.request_id = "req-" + std::to_string(i);
  r.tenant_id = tenant;
  r.key_id = "key" + std::to_string(i % 3);
  r.model = model;
  r.prompt_tokens = 10 + i;
  r.cached_tokens = i % 5;
  r.completion_tokens = 3 * i + 1;
  r.ttft_ms = 20;
  r.latency_ms = 100 + i;
  r.status = "ok";
  r.finish_reason = "stop";
  r.started_ms = started_ms;
  r.finished_ms = started_ms + 100 + i;
  return r;
}

TEST_P(StoreTest, FreshDatabaseIsMigratedToTheLatestVersionOnce) {
  auto store = Open();
  EXPECT_EQ(store->SchemaVersion(), LatestSchemaVersion());
  const auto applied = store->Migrations();
  ASSERT_EQ(applied.size(), static_cast<std::size_t>(LatestSchemaVersion()));
  for (std::size_t i = 0; i < applied.size(); ++i) {
    EXPECT_EQ(applied[i].version, static_cast<int>(i + 1));
    EXPECT_FALSE(applied[i].name.empty());
  }
  // Opening again (another process, a restart) applies nothing twice.
  store.reset();
  auto again = Open();
  const auto after = again->Migrations();
  ASSERT_EQ(after.size(), applied.size());
  for (std::size_t i = 0; i < after.size(); ++i)
    EXPECT_EQ(after[i].applied_ms, applied[i].applied_ms);
}

TEST_P(StoreTest, UpgradesAnOlderSchemaKeepingItsData) {
  {
    auto old_store = Open({.schema_version = 1});
    EXPECT_EQ(old_store->SchemaVersion(), 1);
    Tenant t = MakeTenant("acme");
    t.requests_per_minute = 60;
    old_store->CreateTenant(t);
    // Version 1 has no ledger yet.
    EXPECT_THROW(old_store->RecordUsage(MakeRecord(1, "acme", "m", 1000)), Error);
  }
  auto store = Open();
  EXPECT_EQ(store->SchemaVersion(), LatestSchemaVersion());
  const auto tenant = store->FindTenant("acme");
  ASSERT_TRUE(tenant.has_value());
  EXPECT_EQ(tenant->requests_per_minute, 60);
  EXPECT_TRUE(store->RecordUsage(MakeRecord(1, "acme", "m", 1000)));
  EXPECT_EQ(store->ListUsage({}).size(), 1u);
}

TEST_P(StoreTest, RefusesASchemaNewerThanThisBuild) {
  {
    auto store = Open();
    auto connection = OpenSqlConnection(db_.url());
    connection->Execute(
        "INSERT INTO kiln_schema_migrations (version, name, applied_ms) VALUES ($1, $2, $3)",
        {std::int64_t{LatestSchemaVersion() + 1}, std::string("from the future"), std::int64_t{0}});
  }
  try {
    Open();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("newer than this build"), std::string::npos) << e.what();
  }
}

TEST_P(StoreTest, ConcurrentOpenersMigrateOnce) {
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      try {
        Open();
      } catch (const std::exception& e) {
        ADD_FAILURE() << e.what();
        ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Open()->Migrations().size(), static_cast<std::size_t>(LatestSchemaVersion()));
}

TEST_P(StoreTest, TenantCrud) {
  ManualClock clock(1'700'000'000'000);
  auto store = Open({.clock = &clock});
  Tenant t = MakeTenant("acme");
  t.allowed_models = {"llama-3", "qwen2"};
  t.weight = 2.5;
  t.priority = 3;
  t.requests_per_minute = 100;
  t.tokens_per_minute = 5000;
  t.daily_token_budget = 1'000'000;
  t.monthly_token_budget = 20'000'000;
  t.max_concurrent_requests = 4;
  store->CreateTenant(t);
  EXPECT_THROW(store->CreateTenant(t), Error);  // the id is taken
  EXPECT_THROW(store->CreateTenant(MakeTenant("Bad Id")), Error);

  auto found = store->FindTenant("acme");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->name, "Tenant acme");
  EXPECT_EQ(found->allowed_models, (std::vector<std::string>{"llama-3", "qwen2"}));
  EXPECT_DOUBLE_EQ(found->weight, 2.5);
  EXPECT_EQ(found->priority, 3);
  EXPECT_EQ(found->requests_per_minute, 100);
  EXPECT_EQ(found->tokens_per_minute, 5000);
  EXPECT_EQ(found->daily_token_budget, 1'000'000);
  EXPECT_EQ(found->monthly_token_budget, 20'000'000);
  EXPECT_EQ(found->max_concurrent_requests, 4);
  EXPECT_EQ(found->created_ms, 1'700'000'000'000);
  EXPECT_EQ(found->updated_ms, 1'700'000'000'000);

  clock.Advance(5000);
  found->allowed_models.clear();
  found->requests_per_minute = 7;
  store->UpdateTenant(*found);
  auto updated = store->FindTenant("acme");
  ASSERT_TRUE(updated);
  EXPECT_TRUE(updated->allowed_models.empty());
  EXPECT_EQ(updated->requests_per_minute, 7);
  EXPECT_EQ(updated->created_ms, 1'700'000'000'000);
  EXPECT_EQ(updated->updated_ms, 1'700'000'005'000);
  EXPECT_THROW(store->UpdateTenant(MakeTenant("nobody")), Error);

  store->CreateTenant(MakeTenant("beta"));
  const auto all = store->ListTenants();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].id, "acme");
  EXPECT_EQ(all[1].id, "beta");

  EXPECT_TRUE(store->DeleteTenant("acme"));
  EXPECT_FALSE(store->DeleteTenant("acme"));
  EXPECT_FALSE(store->FindTenant("acme"));
  EXPECT_EQ(store->ListTenants().size(), 1u);
}

TEST_P(StoreTest, DeletingATenantDeletesItsKeysButNotItsUsage) {
  auto store = Open();
  store->CreateTenant(MakeTenant("acme"));
  ApiKey key;
  key.key_id = "abcdefghijkl";
  key.tenant_id = "acme";
  key.salt_hex = "00";
  key.hash_hex = "11";
  store->InsertKey(key);
  store->RecordUsage(MakeRecord(1, "acme", "m", 1000));
  EXPECT_TRUE(store->DeleteTenant("acme"));
  EXPECT_FALSE(store->FindKey("abcdefghijkl"));
  EXPECT_EQ(store->ListUsage({}).size(), 1u);
  key.tenant_id = "ghost";
  EXPECT_THROW(store->InsertKey(key), Error);
}

TEST_P(StoreTest, LedgerIsCompleteAndIdempotentByRequestId) {
  auto store = Open();
  const std::int64_t t0 = ParseUtcTime("2026-11-01T10:00:00Z");
  constexpr int kRecords = 60;
  std::int64_t prompt = 0, cached = 0, completion = 0;
  for (int i = 0; i < kRecords; ++i) {
    UsageRecord r = MakeRecord(i, i % 2 ? "acme" : "beta", "m", t0 + i * 1000);
    prompt += r.prompt_tokens;
    cached += r.cached_tokens;
    completion += r.completion_tokens;
    EXPECT_TRUE(store->RecordUsage(r));
  }
  // A retried write of a request already recorded is a no-op, even with different numbers:
  // the first record stands.
  UsageRecord duplicate = MakeRecord(7, "acme", "m", t0);
  duplicate.completion_tokens = 999'999;
  EXPECT_FALSE(store->RecordUsage(duplicate));

  const auto records = store->ListUsage({});
  ASSERT_EQ(records.size(), static_cast<std::size_t>(kRecords));
  std::int64_t prompt_out = 0, cached_out = 0, completion_out = 0;
  for (const auto& r : records) {
    prompt_out += r.prompt_tokens;
    cached_out += r.cached_tokens;
    completion_out += r.completion_tokens;
  }
  EXPECT_EQ(prompt_out, prompt);
  EXPECT_EQ(cached_out, cached);
  EXPECT_EQ(completion_out, completion);
  const UsageRecord& r7 = records[7];
  EXPECT_EQ(r7.request_id, "req-7");
  EXPECT_EQ(r7.completion_tokens, 22);
  EXPECT_EQ(r7.key_id, "key1");
  EXPECT_EQ(r7.status, "ok");
  EXPECT_EQ(r7.finish_reason, "stop");
  EXPECT_EQ(r7.ttft_ms, 20);
  EXPECT_EQ(r7.latency_ms, 107);
  EXPECT_EQ(r7.started_ms, t0 + 7000);
  EXPECT_EQ(r7.finished_ms, t0 + 7107);

  const auto totals = store->QueryUsage({});
  ASSERT_EQ(totals.size(), 1u);
  EXPECT_EQ(totals[0].requests, kRecords);
  EXPECT_EQ(totals[0].prompt_tokens, prompt);
  EXPECT_EQ(totals[0].completion_tokens, completion);
  EXPECT_EQ(totals[0].total_tokens(), prompt + completion);
}

TEST_P(StoreTest, BatchInsertCountsOnlyNewRecords) {
  auto store = Open();
  std::vector<UsageRecord> batch;
  for (int i = 0; i < 10; ++i) batch.push_back(MakeRecord(i, "acme", "m", 1000 + i));
  EXPECT_EQ(store->RecordUsageBatch(batch), 10u);
  batch.push_back(MakeRecord(10, "acme", "m", 2000));
  EXPECT_EQ(store->RecordUsageBatch(batch), 1u);
  EXPECT_EQ(store->ListUsage({}).size(), 11u);
}

TEST_P(StoreTest, RejectsInconsistentRecords) {
  auto store = Open();
  UsageRecord r = MakeRecord(1, "acme", "m", 1000);
  r.cached_tokens = r.prompt_tokens + 1;
  EXPECT_THROW(store->RecordUsage(r), Error);
  r = MakeRecord(1, "acme", "m", 1000);
  r.request_id.clear();
  EXPECT_THROW(store->RecordUsage(r), Error);
  EXPECT_TRUE(store->ListUsage({}).empty());
}

TEST_P(StoreTest, GroupsUsageByDayMonthModelKeyAndTenant) {
  auto store = Open();
  const std::int64_t oct31 = ParseUtcTime("2026-10-31T23:59:59Z");
  const std::int64_t nov1 = ParseUtcTime("2026-11-01T00:00:00Z");
  const std::int64_t nov2 = ParseUtcTime("2026-11-02T12:00:00Z");
  int i = 0;
  auto add = [&](const std::string& tenant, const std::string& model, std::int64_t at,
                 std::int64_t prompt, std::int64_t completion) {
    UsageRecord r = MakeRecord(i++, tenant, model, at);
    r.prompt_tokens = prompt;
    r.cached_tokens = 0;
    r.completion_tokens = completion;
    r.key_id = tenant + "-key";
    store->RecordUsage(r);
  };
  add("acme", "llama", oct31, 100, 10);
  add("acme", "llama", nov1, 200, 20);
  add("acme", "qwen", nov1 + 5000, 300, 30);
  add("acme", "llama", nov2, 400, 40);
  add("beta", "llama", nov2, 1000, 100);

  UsageQuery q;
  q.tenant_id = "acme";
  q.since_ms = nov1;
  q.group_by = {UsageGroup::kDay, UsageGroup::kModel};
  auto rows = store->QueryUsage(q);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].group, (std::vector<std::string>{"2026-11-01", "llama"}));
  EXPECT_EQ(rows[0].prompt_tokens, 200);
  EXPECT_EQ(rows[1].group, (std::vector<std::string>{"2026-11-01", "qwen"}));
  EXPECT_EQ(rows[1].completion_tokens, 30);
  EXPECT_EQ(rows[2].group, (std::vector<std::string>{"2026-11-02", "llama"}));
  EXPECT_EQ(rows[2].requests, 1);
  EXPECT_EQ(rows[2].total_tokens(), 440);

  UsageQuery months;
  months.group_by = {UsageGroup::kMonth, UsageGroup::kTenant};
  rows = store->QueryUsage(months);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].group, (std::vector<std::string>{"2026-10", "acme"}));
  EXPECT_EQ(rows[0].total_tokens(), 110);
  EXPECT_EQ(rows[1].group, (std::vector<std::string>{"2026-11", "acme"}));
  EXPECT_EQ(rows[1].requests, 3);  // two days folded into one month
  EXPECT_EQ(rows[1].total_tokens(), 220 + 330 + 440);
  EXPECT_EQ(rows[2].group, (std::vector<std::string>{"2026-11", "beta"}));

  UsageQuery keys;
  keys.until_ms = nov2;  // exclusive
  keys.group_by = {UsageGroup::kKey};
  rows = store->QueryUsage(keys);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].group, (std::vector<std::string>{"acme-key"}));
  EXPECT_EQ(rows[0].requests, 3);

  EXPECT_EQ(store->TokensUsedSince("acme", nov1), 220 + 330 + 440);
  EXPECT_EQ(store->TokensUsedSince("acme", 0), 110 + 220 + 330 + 440);
  EXPECT_EQ(store->TokensUsedSince("nobody", 0), 0);

  UsageQuery none;
  none.tenant_id = "nobody";
  rows = store->QueryUsage(none);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].requests, 0);
}

TEST_P(StoreTest, ConcurrentInsertsFromManyThreadsAllLand) {
  auto store = Open();
  constexpr int kThreads = 6;
  constexpr int kPerThread = 40;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        UsageRecord r = MakeRecord(t * kPerThread + i, "acme", "m", 1000 + i);
        EXPECT_TRUE(store->RecordUsage(r));
        if (i % 10 == 0) store->QueryUsage({});  // readers alongside the writers
      }
    });
  }
  for (auto& th : threads) th.join();
  const auto totals = store->QueryUsage({});
  EXPECT_EQ(totals[0].requests, kThreads * kPerThread);
  std::int64_t expected = 0;
  for (int i = 0; i < kThreads * kPerThread; ++i) expected += (10 + i) + (3 * i + 1);
  EXPECT_EQ(totals[0].total_tokens(), expected);
}

TEST(StoreUrl, RejectsUnknownSchemesAndRedactsPasswords) {
  EXPECT_THROW(Store::Open("mysql://localhost/kiln"), Error);
  EXPECT_EQ(RedactDatabaseUrl("postgresql://kiln:hunter2@db:5432/kiln"),
            "postgresql://kiln:***@db:5432/kiln");
  EXPECT_EQ(RedactDatabaseUrl("postgresql://kiln@db/kiln"), "postgresql://kiln@db/kiln");
}

}  // namespace
}  // namespace kiln::platform
