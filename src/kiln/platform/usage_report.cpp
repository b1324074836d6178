// Store's usage queries: filtering and grouping the ledger. Day and month buckets are computed
// from the UTC day number (started_ms / 86400000), the same integer arithmetic on both
// backends; months are then folded from days here rather than with each SQL dialect's dates.
#include <algorithm>
#include <map>

#include "kiln/base/error.h"
#include "kiln/platform/calendar.h"
#include "kiln/platform/store.h"

namespace kiln::platform {

const char* UsageGroupName(UsageGroup group) {
  switch (group) {
    case UsageGroup::kDay:
      return "day";
    case UsageGroup::kMonth:
      return "month";
    case UsageGroup::kModel:
      return "model";
    case UsageGroup::kKey:
      return "key";
    case UsageGroup::kTenant:
      return "tenant";
  }
  return "?";
}

UsageGroup ParseUsageGroup(const std::string& name) {
  for (UsageGroup g : {UsageGroup::kDay, UsageGroup::kMonth, UsageGroup::kModel, UsageGroup::kKey,
                       UsageGroup::kTenant}) {
    if (name == UsageGroupName(g)) return g;
  }
  Fail("cannot group usage by '{}': use day, month, model, key or tenant", name);
}

namespace {

const char* GroupColumn(UsageGroup group) {
  switch (group) {
    case UsageGroup::kDay:
    case UsageGroup::kMonth:
      return "started_ms / 86400000";
    case UsageGroup::kModel:
      return "model";
    case UsageGroup::kKey:
      return "key_id";
    case UsageGroup::kTenant:
      return "tenant_id";
  }
  return "";
}

// WHERE clause and its parameters for a query's filters.
std::string Filters(const UsageQuery& q, std::vector<SqlValue>& params) {
  std::string where;
  auto add = [&](const char* condition, SqlValue value) {
    params.push_back(std::move(value));
    where += fmt::format("{} {} ${}", where.empty() ? " WHERE" : " AND", condition, params.size());
  };
  if (q.tenant_id) add("tenant_id =", *q.tenant_id);
  if (q.since_ms) add("started_ms >=", *q.since_ms);
  if (q.until_ms) add("started_ms <", *q.until_ms);
  return where;
}

}  // namespace

std::vector<UsageRow> Store::QueryUsage(const UsageQuery& query) {
  std::vector<SqlValue> params;
  const std::string where = Filters(query, params);
  std::string columns;
  std::string group_by;
  for (std::size_t i = 0; i < query.group_by.size(); ++i) {
    columns += fmt::format("{}, ", GroupColumn(query.group_by[i]));
    group_by += fmt::format("{}{}", i == 0 ? " GROUP BY " : ", ", i + 1);
  }
  const std::string sql = fmt::format(
      "SELECT {}COUNT(*), COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(cached_tokens), 0), "
      "COALESCE(SUM(completion_tokens), 0) FROM usage_records{}{}",
      columns, where, group_by);
  SqlResult result;
  {
    auto c = Acquire();
    result = c->Execute(sql, params);
  }
  const std::size_t n = query.group_by.size();
  std::map<std::vector<std::string>, UsageRow> merged;  // sorted by group values
  for (const SqlRow& row : result.rows) {
    std::vector<std::string> key;
    for (std::size_t i = 0; i < n; ++i) {
      switch (query.group_by[i]) {
        case UsageGroup::kDay:
          key.push_back(FormatUtcDay(row.Int(i) * kMillisPerDay));
          break;
        case UsageGroup::kMonth:
          key.push_back(FormatUtcMonth(row.Int(i) * kMillisPerDay));
          break;
        default:
          key.push_back(row.Text(i));
      }
    }
    UsageRow& out = merged[key];
    out.group = key;
    out.requests += row.Int(n);
    out.prompt_tokens += row.Int(n + 1);
    out.cached_tokens += row.Int(n + 2);
    out.completion_tokens += row.Int(n + 3);
  }
  std::vector<UsageRow> rows;
  rows.reserve(merged.size());
  for (auto& [key, row] : merged) {
    if (n == 0 || row.requests > 0) rows.push_back(std::move(row));
  }
  if (n == 0 && rows.empty()) rows.emplace_back();  // totals of nothing: one row of zeros
  return rows;
}

std::vector<UsageRecord> Store::ListUsage(const UsageQuery& query) {
  std::vector<SqlValue> params;
  const std::string where = Filters(query, params);
  auto c = Acquire();
  const auto result = c->Execute(
      "SELECT request_id, tenant_id, key_id, model, prompt_tokens, cached_tokens, "
      "completion_tokens, ttft_ms, latency_ms, status, finish_reason, started_ms, finished_ms "
      "FROM usage_records" +
          where + " ORDER BY started_ms, request_id",
      params);
  std::vector<UsageRecord> out;
  out.reserve(result.rows.size());
  for (const SqlRow& row : result.rows) {
    UsageRecord r;
    r.request_id = row.Text(0);
    r.tenant_id = row.Text(1);
    r.key_id = row.Text(2);
    r.model = row.Text(3);
    r.prompt_tokens = row.Int(4);
    r.cached_tokens = row.Int(5);
    r.completion_tokens = row.Int(6);
    r.ttft_ms = row.Int(7);
    r.latency_ms = row.Int(8);
    r.status = row.Text(9);
    r.finish_reason = row.Text(10);
    r.started_ms = row.Int(11);
    r.finished_ms = row.Int(12);
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace kiln::platform
