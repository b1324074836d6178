// kiln usage: report the usage ledger, filtered by tenant and time and grouped by day, month,
// model, key or tenant, as a table, JSON or CSV.
#include <fmt/format.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "kiln/platform/calendar.h"
#include "platform_flags.h"
#include "table_output.h"

namespace kiln::cli {
namespace {

struct UsageFlags {
  DatabaseFlag db;
  std::string tenant;
  std::string since;
  std::string until;
  std::string group_by;
  std::string format;
};

void RunUsage(const UsageFlags& f) {
  platform::UsageQuery query;
  if (!f.tenant.empty()) query.tenant_id = f.tenant;
  if (!f.since.empty()) query.since_ms = platform::ParseUtcTime(f.since);
  if (!f.until.empty()) query.until_ms = platform::ParseUtcTime(f.until);
  for (const std::string& g : SplitList(f.group_by)) {
    query.group_by.push_back(platform::ParseUsageGroup(g));
  }
  const auto rows = f.db.Open()->QueryUsage(query);

  TextRow header;
  for (auto g : query.group_by) header.push_back(platform::UsageGroupName(g));
  for (const char* column :
       {"requests", "prompt_tokens", "cached_tokens", "completion_tokens", "total_tokens"}) {
    header.push_back(column);
  }
  if (f.format == "json") {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& row : rows) {
      nlohmann::ordered_json item;
      for (std::size_t i = 0; i < row.group.size(); ++i) item[header[i]] = row.group[i];
      item["requests"] = row.requests;
      item["prompt_tokens"] = row.prompt_tokens;
      item["cached_tokens"] = row.cached_tokens;
      item["completion_tokens"] = row.completion_tokens;
      item["total_tokens"] = row.total_tokens();
      out.push_back(std::move(item));
    }
    fmt::print("{}\n", out.dump(2));
    return;
  }
  std::vector<TextRow> text;
  for (const auto& row : rows) {
    TextRow line = row.group;
    for (std::int64_t v : {row.requests, row.prompt_tokens, row.cached_tokens,
                           row.completion_tokens, row.total_tokens()}) {
      line.push_back(std::to_string(v));
    }
    text.push_back(std::move(line));
  }
  if (f.format == "csv") {
    PrintCsv(header, text);
  } else {
    PrintTable(header, text);
  }
}

}  // namespace

void RegisterUsageCommand(CLI::App& app) {
  auto flags = std::make_shared<UsageFlags>();
  CLI::App* usage = app.add_subcommand("usage", "Report token usage from the ledger");
  usage->add_option("--tenant", flags->tenant, "Only this tenant");
  usage->add_option("--since", flags->since, "From this UTC date or time, e.g. 2026-11-01");
  usage->add_option("--until", flags->until, "Up to (not including) this UTC date or time");
  usage->add_option("--group-by", flags->group_by,
                    "Comma-separated: day, month, model, key, tenant (default: totals)");
  AddFormatFlag(*usage, flags->format, {"table", "json", "csv"});
  AddDatabaseFlag(*usage, flags->db);
  usage->callback([flags] { RunUsage(*flags); });
}

}  // namespace kiln::cli
