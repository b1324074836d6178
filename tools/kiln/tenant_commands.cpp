// kiln tenants create|list|update|delete: manage tenants in the service database.
#include <fmt/format.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "kiln/base/error.h"
#include "platform_flags.h"
#include "table_output.h"

namespace kiln::cli {
namespace {

struct TenantFlags {
  DatabaseFlag db;
  std::string id;
  std::string name;
  std::string models;
  double weight = 1.0;
  int priority = 0;
  std::int64_t rpm = 0, tpm = 0, daily = 0, monthly = 0, concurrent = 0;
  std::string format;
};

// The options that describe a tenant; `update` changes only those given.
struct TenantOptions {
  CLI::Option *name, *models, *weight, *priority, *rpm, *tpm, *daily, *monthly, *concurrent;
};

TenantOptions AddTenantOptions(CLI::App& c, TenantFlags& f) {
  TenantOptions o;
  o.name = c.add_option("--name", f.name, "Display name (default: the id)");
  o.models = c.add_option("--models", f.models,
                          "Models the tenant may use, comma-separated "
                          "(empty: all)");
  o.weight = c.add_option("--weight", f.weight, "Scheduling weight (default 1)");
  o.priority = c.add_option("--priority", f.priority, "Scheduling priority (higher first)");
  o.rpm = c.add_option("--rpm", f.rpm, "Requests per minute (0: no limit)");
  o.tpm = c.add_option("--tpm", f.tpm, "Tokens per minute (0: no limit)");
  o.daily = c.add_option("--daily-tokens", f.daily, "Token budget per UTC day (0: no limit)");
  o.monthly =
      c.add_option("--monthly-tokens", f.monthly, "Token budget per UTC month (0: no limit)");
  o.concurrent =
      c.add_option("--max-concurrent", f.concurrent, "Concurrent requests (0: no limit)");
  return o;
}

void Apply(const TenantFlags& f, const TenantOptions& o, platform::Tenant& t, bool all) {
  if (all || o.name->count()) t.name = f.name;
  if (all || o.models->count()) t.allowed_models = SplitList(f.models);
  if (all || o.weight->count()) t.weight = f.weight;
  if (all || o.priority->count()) t.priority = f.priority;
  if (all || o.rpm->count()) t.requests_per_minute = f.rpm;
  if (all || o.tpm->count()) t.tokens_per_minute = f.tpm;
  if (all || o.daily->count()) t.daily_token_budget = f.daily;
  if (all || o.monthly->count()) t.monthly_token_budget = f.monthly;
  if (all || o.concurrent->count()) t.max_concurrent_requests = f.concurrent;
}

std::string Limit(std::int64_t v) {
  return v == 0 ? "-" : std::to_string(v);
}

void PrintTenants(const std::vector<platform::Tenant>& tenants, const std::string& format) {
  if (format == "json") {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& t : tenants) {
      out.push_back({{"id", t.id},
                     {"name", t.name},
                     {"allowed_models", t.allowed_models},
                     {"weight", t.weight},
                     {"priority", t.priority},
                     {"requests_per_minute", t.requests_per_minute},
                     {"tokens_per_minute", t.tokens_per_minute},
                     {"daily_token_budget", t.daily_token_budget},
                     {"monthly_token_budget", t.monthly_token_budget},
                     {"max_concurrent_requests", t.max_concurrent_requests},
                     {"created", FormatTime(t.created_ms)},
                     {"updated", FormatTime(t.updated_ms)}});
    }
    fmt::print("{}\n", out.dump(2));
    return;
  }
  std::vector<TextRow> rows;
  for (const auto& t : tenants) {
    rows.push_back({t.id, t.name, t.allowed_models.empty() ? "*" : JoinList(t.allowed_models),
                    fmt::format("{:g}", t.weight), std::to_string(t.priority),
                    Limit(t.requests_per_minute), Limit(t.tokens_per_minute),
                    Limit(t.daily_token_budget), Limit(t.monthly_token_budget),
                    Limit(t.max_concurrent_requests)});
  }
  PrintTable({"ID", "NAME", "MODELS", "WEIGHT", "PRIORITY", "RPM", "TPM", "DAILY", "MONTHLY",
              "CONCURRENT"},
             rows);
}

}  // namespace

void RegisterTenantCommands(CLI::App& app) {
  CLI::App* group = app.add_subcommand("tenants", "Manage tenants (teams, customers)");
  group->require_subcommand(1);

  auto create_flags = std::make_shared<TenantFlags>();
  CLI::App* create = group->add_subcommand("create", "Create a tenant");
  create->add_option("id", create_flags->id, "Tenant id: lowercase letters, digits, _ . -")
      ->required();
  const TenantOptions create_options = AddTenantOptions(*create, *create_flags);
  AddDatabaseFlag(*create, create_flags->db);
  create->callback([create_flags, create_options] {
    platform::Tenant t;
    t.id = create_flags->id;
    Apply(*create_flags, create_options, t, /*all=*/true);
    if (!create_options.name->count()) t.name = t.id;
    create_flags->db.Open()->CreateTenant(t);
    fmt::print("Created tenant {}\n", t.id);
  });

  auto list_flags = std::make_shared<TenantFlags>();
  CLI::App* list = group->add_subcommand("list", "List tenants and their limits");
  AddDatabaseFlag(*list, list_flags->db);
  AddFormatFlag(*list, list_flags->format, {"table", "json"});
  list->callback(
      [list_flags] { PrintTenants(list_flags->db.Open()->ListTenants(), list_flags->format); });

  auto update_flags = std::make_shared<TenantFlags>();
  CLI::App* update =
      group->add_subcommand("update", "Change a tenant's settings (only those given)");
  update->add_option("id", update_flags->id, "Tenant id")->required();
  const TenantOptions update_options = AddTenantOptions(*update, *update_flags);
  AddDatabaseFlag(*update, update_flags->db);
  update->callback([update_flags, update_options] {
    auto store = update_flags->db.Open();
    std::optional<platform::Tenant> t = store->FindTenant(update_flags->id);
    if (!t) Fail("tenant '{}' does not exist", update_flags->id);
    Apply(*update_flags, update_options, *t, /*all=*/false);
    store->UpdateTenant(*t);
    fmt::print("Updated tenant {}\n", t->id);
  });

  auto delete_flags = std::make_shared<TenantFlags>();
  CLI::App* remove = group->add_subcommand(
      "delete", "Delete a tenant and its API keys (its usage records stay in the ledger)");
  remove->add_option("id", delete_flags->id, "Tenant id")->required();
  AddDatabaseFlag(*remove, delete_flags->db);
  remove->callback([delete_flags] {
    if (!delete_flags->db.Open()->DeleteTenant(delete_flags->id)) {
      Fail("tenant '{}' does not exist", delete_flags->id);
    }
    fmt::print("Deleted tenant {}\n", delete_flags->id);
  });
}

}  // namespace kiln::cli
