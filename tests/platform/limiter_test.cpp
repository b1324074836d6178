// TenantLimiter on a manual clock: each limit refuses exactly when due, with the right
// Retry-After; budgets read from a real ledger on both backends.
#include "kiln/platform/limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "kiln/platform/calendar.h"
#include "kiln/platform/store.h"
#include "platform/test_database.h"

namespace kiln::platform {
namespace {

using testing::Backend;
using testing::TestDatabase;

UsageSource NoUsage() {
  return [](const std::string&, std::int64_t) { return std::int64_t{0}; };
}

Tenant Limited(std::int64_t rpm, std::int64_t tpm, std::int64_t concurrent = 0) {
  Tenant t;
  t.id = "acme";
  t.requests_per_minute = rpm;
  t.tokens_per_minute = tpm;
  t.max_concurrent_requests = concurrent;
  return t;
}

TEST(TenantLimiter, UnlimitedTenantIsAlwaysAdmitted) {
  ManualClock clock(0);
  TenantLimiter limiter(clock, NoUsage());
  std::vector<AdmissionTicket> held;
  for (int i = 0; i < 1000; ++i) {
    Admission a = limiter.Admit(Limited(0, 0), 1'000'000);
    ASSERT_TRUE(a.admitted());
    held.push_back(std::move(a.ticket));
  }
  EXPECT_EQ(limiter.InFlight("acme"), 1000);
  held.clear();
  EXPECT_EQ(limiter.InFlight("acme"), 0);
}

TEST(TenantLimiter, RequestsPerMinuteRefusesExactlyWhenDue) {
  ManualClock clock(0);
  TenantLimiter limiter(clock, NoUsage());
  const Tenant t = Limited(3, 0);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(limiter.Admit(t, 1).admitted()) << i;
  Admission refused = limiter.Admit(t, 1);
  EXPECT_EQ(refused.reason, LimitReason::kRequestsPerMinute);
  EXPECT_EQ(refused.retry_after_s, 20);  // one request refills every 60/3 seconds
  EXPECT_FALSE(refused.ticket.active());
  clock.Advance(19'999);
  refused = limiter.Admit(t, 1);
  EXPECT_EQ(refused.reason, LimitReason::kRequestsPerMinute);
  EXPECT_EQ(refused.retry_after_s, 1);
  clock.Advance(1);
  EXPECT_TRUE(limiter.Admit(t, 1).admitted());
  EXPECT_FALSE(limiter.Admit(t, 1).admitted());
  // A full minute refills the whole bucket, and no more.
  clock.Advance(10 * 60'000);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Admit(t, 1).admitted()) << i;
  EXPECT_FALSE(limiter.Admit(t, 1).admitted());
}

TEST(TenantLimiter, TokensPerMinuteChargesEstimateAndSettlesActual) {
  ManualClock clock(0);
  TenantLimiter limiter(clock, NoUsage());
  const Tenant t = Limited(0, 1000);
  {
    Admission a = limiter.Admit(t, 600);
    ASSERT_TRUE(a.admitted());
    a.ticket.Finish(600);
  }
  Admission refused = limiter.Admit(t, 600);  // 400 left, 200 short: 200 tokens take 12 s
  EXPECT_EQ(refused.reason, LimitReason::kTokensPerMinute);
  EXPECT_EQ(refused.retry_after_s, 12);
  clock.Advance(11'999);
  EXPECT_FALSE(limiter.Admit(t, 600).admitted());
  clock.Advance(1);
  Admission a = limiter.Admit(t, 600);
  ASSERT_TRUE(a.admitted());
  // It used only 100 of its 600: the other 500 go back to the bucket at once.
  a.ticket.Finish(100);
  EXPECT_TRUE(limiter.Admit(t, 500).admitted());
  EXPECT_FALSE(limiter.Admit(t, 1).admitted());
}

TEST(TenantLimiter, OversizedRequestRunsOnAFullBucketAndLeavesItInDebt) {
  ManualClock clock(0);
  TenantLimiter limiter(clock, NoUsage());
  const Tenant t = Limited(0, 100);
  Admission big = limiter.Admit(t, 500);
  ASSERT_TRUE(big.admitted());
  big.ticket.Finish(500);  // 400 tokens over the bucket
  Admission next = limiter.Admit(t, 10);
  EXPECT_EQ(next.reason, LimitReason::kTokensPerMinute);
  EXPECT_EQ(next.retry_after_s, 246);  // 410 tokens at 100 per minute
  clock.Advance(246'000);
  EXPECT_TRUE(limiter.Admit(t, 10).admitted());
}

TEST(TenantLimiter, ConcurrencyCapCountsRequestsInFlight) {
  ManualClock clock(0);
  TenantLimiter limiter(clock, NoUsage());
  const Tenant t = Limited(0, 0, 2);
  Admission a = limiter.Admit(t, 1);
  Admission b = limiter.Admit(t, 1);
  ASSERT_TRUE(a.admitted() && b.admitted());
  Admission c = limiter.Admit(t, 1);
  EXPECT_EQ(c.reason, LimitReason::kConcurrency);
  EXPECT_EQ(c.retry_after_s, 1);
  EXPECT_FALSE(c.message.empty());
  a.ticket.Finish(1);
  EXPECT_TRUE(limiter.Admit(t, 1).admitted());        // admitted and released at once
  { AdmissionTicket dropped = std::move(b.ticket); }  // released without Finish
  EXPECT_EQ(limiter.InFlight("acme"), 0);
}

TEST(TenantLimiter, LimitChangesApplyAtTheNextRequest) {
  ManualClock clock(0);
  TenantLimiter limiter(clock, NoUsage());
  Tenant t = Limited(2, 0);
  EXPECT_TRUE(limiter.Admit(t, 1).admitted());
  EXPECT_TRUE(limiter.Admit(t, 1).admitted());
  EXPECT_FALSE(limiter.Admit(t, 1).admitted());
  t.requests_per_minute = 0;
  EXPECT_TRUE(limiter.Admit(t, 1).admitted());
  t.requests_per_minute = 1;  // a new limit starts full
  EXPECT_TRUE(limiter.Admit(t, 1).admitted());
  EXPECT_EQ(limiter.Admit(t, 1).retry_after_s, 60);
}

TEST(TenantLimiter, ThreadsNeverAdmitMoreThanTheLimit) {
  ManualClock clock(0);
  TenantLimiter limiter(clock, NoUsage());
  const Tenant t = Limited(100, 0);
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 50; ++j) admitted += limiter.Admit(t, 1).admitted() ? 1 : 0;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(admitted.load(), 100);
}

class BudgetTest : public ::testing::TestWithParam<Backend> {
 protected:
  BudgetTest()
      : db_(GetParam()),
        clock_(ParseUtcTime("2026-11-30T23:00:00Z")),
        store_(Store::Open(db_.url())),
        limiter_(clock_, [this](const std::string& tenant, std::int64_t since) {
          return store_->TokensUsedSince(tenant, since);
        }) {}

  void Record(std::int64_t tokens, std::int64_t at) {
    UsageRecord r;
    r.request_id = "r" + std::to_string(next_++);
    r.tenant_id = "acme";
    r.model = "m";
    r.prompt_tokens = tokens / 2;
    r.completion_tokens = tokens - tokens / 2;
    r.status = "ok";
    r.started_ms = at;
    r.finished_ms = at;
    ASSERT_TRUE(store_->RecordUsage(r));
  }

  TestDatabase db_;
  ManualClock clock_;
  std::unique_ptr<Store> store_;
  TenantLimiter limiter_;
  int next_ = 0;
};

INSTANTIATE_TEST_SUITE_P(Backends, BudgetTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         testing::BackendName);

TEST_P(BudgetTest, DailyBudgetCountsLedgerAndReservationsAndResetsAtMidnight) {
  Tenant t;
  t.id = "acme";
  t.daily_token_budget = 1000;
  Record(500, clock_.UnixMillis() - 86'400'000);  // yesterday: does not count
  Record(900, clock_.UnixMillis() - 3'600'000);   // today, 22:00
  Admission first = limiter_.Admit(t, 50);
  ASSERT_TRUE(first.admitted()) << first.message;
  // 900 used + 50 reserved + 60 asked > 1000, but only because of the request in flight.
  Admission second = limiter_.Admit(t, 60);
  EXPECT_EQ(second.reason, LimitReason::kDailyBudget);
  EXPECT_EQ(second.retry_after_s, 1);
  Record(40, clock_.UnixMillis());
  first.ticket.Finish(40);
  Admission third = limiter_.Admit(t, 60);  // 940 + 60 = 1000: exactly the budget
  ASSERT_TRUE(third.admitted()) << third.message;
  Record(60, clock_.UnixMillis());
  third.ticket.Finish(60);
  Admission spent = limiter_.Admit(t, 1);
  EXPECT_EQ(spent.reason, LimitReason::kDailyBudget);
  EXPECT_EQ(spent.retry_after_s, 3600);  // until midnight UTC
  clock_.Advance(3'599'999);
  EXPECT_FALSE(limiter_.Admit(t, 1).admitted());
  clock_.Advance(1);
  EXPECT_TRUE(limiter_.Admit(t, 1).admitted());
}

TEST_P(BudgetTest, MonthlyBudgetWaitsForTheNextMonth) {
  Tenant t;
  t.id = "acme";
  t.monthly_token_budget = 5000;
  Record(2000, ParseUtcTime("2026-11-01T00:00:00Z"));
  Record(2990, ParseUtcTime("2026-11-15T12:00:00Z"));
  Record(9999, ParseUtcTime("2026-10-31T23:59:59Z"));  // last month
  EXPECT_TRUE(limiter_.Admit(t, 10).admitted());
  Admission refused = limiter_.Admit(t, 11);
  EXPECT_EQ(refused.reason, LimitReason::kMonthlyBudget);
  EXPECT_EQ(refused.retry_after_s, 3600);  // 2026-12-01T00:00:00Z is an hour away
}

TEST_P(BudgetTest, SeesOtherNodesUsageAfterTheRefreshInterval) {
  Tenant t;
  t.id = "acme";
  t.daily_token_budget = 100;
  EXPECT_TRUE(limiter_.Admit(t, 10).admitted());
  Record(95, clock_.UnixMillis());  // written by another node: not known here yet
  EXPECT_TRUE(limiter_.Admit(t, 10).admitted());
  clock_.Advance(TenantLimiterOptions{}.budget_refresh_ms);
  Admission refused = limiter_.Admit(t, 10);
  EXPECT_EQ(refused.reason, LimitReason::kDailyBudget);
}

}  // namespace
}  // namespace kiln::platform
