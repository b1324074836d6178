// Per-request cost of the service layer on SQLite: authenticating a key, the model allowlist
// and admission limits, and the ledger write (committed with an fsync of the WAL each time, or
// batched). Uses a temporary database under /tmp.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "kiln/platform/api_keys.h"
#include "kiln/platform/authenticator.h"
#include "kiln/platform/limiter.h"
#include "kiln/platform/store.h"

namespace kiln::platform {
namespace {

// A fresh SQLite store with one tenant (generous limits, so that nothing is refused) and a key.
struct Fixture {
  Fixture() {
    std::string pattern = "/tmp/kiln-bench-XXXXXX";
    directory = ::mkdtemp(pattern.data());
    store = Store::Open("sqlite:" + directory + "/kiln.db");
    tenant.id = "acme";
    tenant.requests_per_minute = 1'000'000'000;
    tenant.tokens_per_minute = 1'000'000'000;
    tenant.daily_token_budget = 1'000'000'000'000;
    tenant.max_concurrent_requests = 1000;
    store->CreateTenant(tenant);
    header = "Bearer " + CreateApiKey(*store, clock, {.tenant_id = "acme"}).secret;
  }
  ~Fixture() {
    store.reset();
    std::filesystem::remove_all(directory);
  }
  UsageRecord Record(std::int64_t i) const {
    UsageRecord r;
    r.request_id = "req-" + std::to_string(i);
    r.tenant_id = "acme";
    r.key_id = "k";
    r.model = "llama";
    r.prompt_tokens = 100;
    r.completion_tokens = 20;
    r.status = "ok";
    r.finish_reason = "stop";
    r.started_ms = clock.UnixMillis();
    r.finished_ms = r.started_ms + 500;
    return r;
  }
  std::string directory;
  SystemClock clock;
  std::unique_ptr<Store> store;
  Tenant tenant;
  std::string header;
};

void BM_AuthenticateAuthorizeAdmit(benchmark::State& state) {
  Fixture f;
  Authenticator auth(*f.store, f.clock);
  TenantLimiter limiter(f.clock, [&](const std::string& t, std::int64_t since) {
    return f.store->TokensUsedSince(t, since);
  });
  for (auto _ : state) {
    AuthResult who = auth.AuthenticateHeader(f.header);
    if (!who.ok() || !Authenticator::AuthorizeModel(*who.principal, "llama").allowed) {
      state.SkipWithError("refused");
      break;
    }
    Admission admission = limiter.Admit(who.principal->tenant, 120);
    if (!admission.admitted()) {
      state.SkipWithError(admission.message.c_str());
      break;
    }
    admission.ticket.Finish(120);
  }
}
BENCHMARK(BM_AuthenticateAuthorizeAdmit);

// One durable ledger write per request (synchronous=FULL: an fsync per commit).
void BM_RecordUsage(benchmark::State& state) {
  Fixture f;
  std::int64_t i = 0;
  for (auto _ : state) f.store->RecordUsage(f.Record(i++));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RecordUsage)->UseRealTime();

// Ledger writes in batches of state.range(0) per transaction (one fsync per batch).
void BM_RecordUsageBatch(benchmark::State& state) {
  Fixture f;
  std::int64_t i = 0;
  std::vector<UsageRecord> batch(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    for (auto& r : batch) r = f.Record(i++);
    f.store->RecordUsageBatch(batch);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_RecordUsageBatch)->Arg(64)->UseRealTime();

// The whole per-request path: authenticate, authorize, admit, record, settle.
void BM_FullRequestPath(benchmark::State& state) {
  Fixture f;
  Authenticator auth(*f.store, f.clock);
  TenantLimiter limiter(f.clock, [&](const std::string& t, std::int64_t since) {
    return f.store->TokensUsedSince(t, since);
  });
  std::int64_t i = 0;
  for (auto _ : state) {
    AuthResult who = auth.AuthenticateHeader(f.header);
    Admission admission = limiter.Admit(who.principal->tenant, 120);
    f.store->RecordUsage(f.Record(i++));
    admission.ticket.Finish(120);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FullRequestPath)->UseRealTime();

}  // namespace
}  // namespace kiln::platform

BENCHMARK_MAIN();
