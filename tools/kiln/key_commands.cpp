// kiln keys create|list|revoke|rotate: manage tenants' API keys. Secrets are printed only by
// create and rotate, once; the database keeps a salted hash.
#include <fmt/format.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "kiln/base/error.h"
#include "kiln/platform/api_keys.h"
#include "kiln/platform/calendar.h"
#include "platform_flags.h"
#include "table_output.h"

namespace kiln::cli {
namespace {

struct KeyFlags {
  DatabaseFlag db;
  std::string tenant;
  std::string name;
  std::string models;
  std::string expires;
  std::string key_id;
  std::string format;
};

void PrintIssued(const platform::IssuedApiKey& issued, const char* verb) {
  fmt::print("{} API key {} for tenant {}.\n", verb, issued.record.key_id, issued.record.tenant_id);
  if (issued.record.expires_ms) {
    fmt::print("It expires at {}.\n", FormatTime(*issued.record.expires_ms));
  }
  fmt::print("Secret (shown only now; keep it safe):\n{}\n", issued.secret);
}

}  // namespace

void RegisterKeyCommands(CLI::App& app) {
  CLI::App* group = app.add_subcommand("keys", "Manage API keys");
  group->require_subcommand(1);
  const platform::SystemClock clock;

  auto create_flags = std::make_shared<KeyFlags>();
  CLI::App* create = group->add_subcommand("create", "Create an API key and print its secret once");
  create->add_option("--tenant", create_flags->tenant, "Tenant id")->required();
  create->add_option("--name", create_flags->name, "A label for the key");
  create->add_option("--models", create_flags->models,
                     "Models the key may use, comma-separated (default: the tenant's)");
  create->add_option("--expires", create_flags->expires,
                     "Lifetime, e.g. 30d, 12h (default: never)");
  AddDatabaseFlag(*create, create_flags->db);
  create->callback([create_flags, clock] {
    platform::NewApiKey request;
    request.tenant_id = create_flags->tenant;
    request.name = create_flags->name;
    request.allowed_models = SplitList(create_flags->models);
    if (!create_flags->expires.empty()) {
      request.expires_in_ms = platform::ParseDuration(create_flags->expires);
    }
    auto store = create_flags->db.Open();
    PrintIssued(platform::CreateApiKey(*store, clock, request), "Created");
  });

  auto list_flags = std::make_shared<KeyFlags>();
  CLI::App* list = group->add_subcommand("list", "List API keys (never their secrets)");
  list->add_option("--tenant", list_flags->tenant, "Only this tenant's keys");
  AddDatabaseFlag(*list, list_flags->db);
  AddFormatFlag(*list, list_flags->format, {"table", "json"});
  list->callback([list_flags, clock] {
    const auto keys = list_flags->db.Open()->ListKeys(
        list_flags->tenant.empty() ? std::nullopt : std::optional(list_flags->tenant));
    const std::int64_t now = clock.UnixMillis();
    if (list_flags->format == "json") {
      nlohmann::ordered_json out = nlohmann::ordered_json::array();
      for (const auto& k : keys) {
        out.push_back({{"key_id", k.key_id},
                       {"tenant", k.tenant_id},
                       {"name", k.name},
                       {"allowed_models", k.allowed_models},
                       {"state", platform::ApiKeyState(k, now)},
                       {"created", FormatTime(k.created_ms)},
                       {"expires", k.expires_ms ? FormatTime(*k.expires_ms) : ""},
                       {"revoked", k.revoked_ms ? FormatTime(*k.revoked_ms) : ""}});
      }
      fmt::print("{}\n", out.dump(2));
      return;
    }
    std::vector<TextRow> rows;
    for (const auto& k : keys) {
      rows.push_back({k.key_id, k.tenant_id, k.name,
                      k.allowed_models.empty() ? "*" : JoinList(k.allowed_models),
                      platform::ApiKeyState(k, now), FormatTime(k.created_ms),
                      k.expires_ms ? FormatTime(*k.expires_ms) : "never"});
    }
    PrintTable({"KEY ID", "TENANT", "NAME", "MODELS", "STATE", "CREATED", "EXPIRES"}, rows);
  });

  auto revoke_flags = std::make_shared<KeyFlags>();
  CLI::App* revoke = group->add_subcommand("revoke", "Revoke an API key (at once, for good)");
  revoke->add_option("key_id", revoke_flags->key_id, "Key id (from `kiln keys list`)")->required();
  AddDatabaseFlag(*revoke, revoke_flags->db);
  revoke->callback([revoke_flags, clock] {
    auto store = revoke_flags->db.Open();
    if (!platform::RevokeApiKey(*store, clock, revoke_flags->key_id)) {
      Fail("API key '{}' does not exist", revoke_flags->key_id);
    }
    fmt::print("Revoked API key {}\n", revoke_flags->key_id);
  });

  auto rotate_flags = std::make_shared<KeyFlags>();
  CLI::App* rotate = group->add_subcommand(
      "rotate", "Give an API key a new secret; the old secret stops working at once");
  rotate->add_option("key_id", rotate_flags->key_id, "Key id (from `kiln keys list`)")->required();
  AddDatabaseFlag(*rotate, rotate_flags->db);
  rotate->callback([rotate_flags] {
    auto store = rotate_flags->db.Open();
    PrintIssued(platform::RotateApiKey(*store, rotate_flags->key_id), "Rotated");
  });
}

}  // namespace kiln::cli
