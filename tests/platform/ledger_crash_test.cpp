// Crash safety of the ledger: a writer process is killed with SIGKILL in the middle of a stream
// of writes; every write it had seen return is in the database afterwards, and the database is
// intact.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <thread>

#include "kiln/platform/store.h"
#include "platform/test_database.h"

namespace kiln::platform {
namespace {

using testing::Backend;
using testing::TestDatabase;

class LedgerCrashTest : public ::testing::TestWithParam<Backend> {
 protected:
  LedgerCrashTest() : db_(GetParam()) { Store::Open(db_.url()); }  // schema in place first
  TestDatabase db_;
};

INSTANTIATE_TEST_SUITE_P(Backends, LedgerCrashTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         testing::BackendName);

// In the child: record usage forever from two threads, reporting each request number on the
// pipe only after RecordUsage has returned (the point where a server would send the final
// chunk).
[[noreturn]] void WriteUntilKilled(const std::string& url, int report_fd) {
  try {
    auto store = Store::Open(url);
    auto writer = [&](int first) {
      for (std::int64_t i = first;; i += 2) {
        UsageRecord r;
        r.request_id = "req-" + std::to_string(i);
        r.tenant_id = "acme";
        r.model = "m";
        r.prompt_tokens = i;
        r.completion_tokens = 1;
        r.status = "ok";
        r.started_ms = 1000 + i;
        r.finished_ms = 1000 + i;
        store->RecordUsage(r);
        if (::write(report_fd, &i, sizeof(i)) != sizeof(i)) ::_exit(3);
      }
    };
    std::thread other(writer, 1);
    writer(0);
  } catch (...) {
    ::_exit(2);
  }
  ::_exit(0);
}

TEST_P(LedgerCrashTest, EveryAcknowledgedRecordSurvivesSigkill) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(fds[0]);
    WriteUntilKilled(db_.url(), fds[1]);
  }
  ::close(fds[1]);
  std::set<std::int64_t> acknowledged;
  std::int64_t id = 0;
  while (acknowledged.size() < 150 && ::read(fds[0], &id, sizeof(id)) == sizeof(id)) {
    acknowledged.insert(id);
  }
  ASSERT_EQ(::kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFSIGNALED(status)) << "the writer stopped on its own, status " << status;
  while (::read(fds[0], &id, sizeof(id)) == sizeof(id)) acknowledged.insert(id);
  ::close(fds[0]);
  ASSERT_GE(acknowledged.size(), 150u);

  auto store = Store::Open(db_.url());
  std::set<std::int64_t> stored;
  for (const auto& r : store->ListUsage({})) stored.insert(std::stoll(r.request_id.substr(4)));
  for (std::int64_t a : acknowledged) EXPECT_TRUE(stored.count(a)) << "lost req-" << a;
  // At most one write per thread was in flight when the writer died.
  EXPECT_LE(stored.size(), acknowledged.size() + 2);
  if (GetParam() == Backend::kSqlite) {
    auto connection = OpenSqlConnection(db_.url());
    EXPECT_EQ(connection->Execute("PRAGMA integrity_check").rows.at(0).Text(0), "ok");
  }
  // The store keeps working after the crash.
  UsageRecord r;
  r.request_id = "after-crash";
  r.tenant_id = "acme";
  r.model = "m";
  r.status = "ok";
  EXPECT_TRUE(store->RecordUsage(r));
}

}  // namespace
}  // namespace kiln::platform
