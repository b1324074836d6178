// kiln serve [MODEL.gguf ...]: serves models over the OpenAI-compatible HTTP API until SIGINT or
// SIGTERM, then shuts down gracefully and exits 0. With no model it serves kiln-demo. With a
// database (--db, $KILN_DB, or kiln.db in the data directory when it exists) holding API keys,
// every /v1 route needs one and every generation request is billed in its ledger.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "kiln/base/error.h"
#include "kiln/base/log.h"
#include "kiln/model/demo_model.h"
#include "kiln/platform/access_control.h"
#include "kiln/platform/clock.h"
#include "kiln/server/api/openai_service.h"
#include "kiln/server/api/served_model.h"
#include "kiln/server/http_server.h"
#include "kiln/server/metrics.h"
#include "model_path.h"
#include "platform_flags.h"

namespace kiln::cli {
namespace {

struct ServeOptions {
  std::vector<std::string> models;
  std::vector<std::string> aliases;
  std::string host = "127.0.0.1";
  int port = 8080;
  int parallel = 8;
  int context_size = 0;
  int threads = 0;
  int kv_memory_mib = 0;
  std::string data_dir;
  double shutdown_grace_s = 10.0;
  DatabaseFlag db;
  bool insecure_no_auth = false;
};

bool IsLoopback(const std::string& host) {
  if (host == "localhost") return true;
  boost::system::error_code error;
  const auto address = boost::asio::ip::make_address(host, error);
  return !error && address.is_loopback();
}

// The store serve bills to: --db / $KILN_DB, else the default kiln.db when it exists (so keys
// made with `kiln key create` are enforced), else none.
std::unique_ptr<platform::Store> OpenServeStore(const DatabaseFlag& db,
                                                const std::string& data_dir) {
  if (!db.url.empty()) return db.Open();
  const std::string path = (data_dir.empty() ? DataDirectory() : data_dir) + "/kiln.db";
  if (std::filesystem::exists(path)) return platform::Store::Open("sqlite:" + path);
  return nullptr;
}

void Serve(const ServeOptions& o) {
  if (o.port < 0 || o.port > 65535) Fail("--port must be in 0..65535, got {}", o.port);
  if (o.parallel < 1) Fail("--parallel must be at least 1, got {}", o.parallel);
  std::vector<std::string> models = o.models;
  if (models.empty()) models.push_back(model::kDemoModelName);
  if (o.aliases.size() > models.size()) {
    Fail("{} --alias given for {} model(s): give at most one alias per model, in order",
         o.aliases.size(), models.size());
  }

  // The database first: a refusal to serve should not wait for the models to load.
  std::unique_ptr<platform::Store> store = OpenServeStore(o.db, o.data_dir);
  const bool open = store == nullptr || store->ListKeys().empty();
  if (open && !IsLoopback(o.host) && !o.insecure_no_auth) {
    Fail(
        "no API keys{}: refusing to serve {} without authentication; create a key with `kiln "
        "key create`, listen on 127.0.0.1, or pass --insecure-no-auth",
        store ? fmt::format(" in {}", store->url()) : std::string(" (no database)"), o.host);
  }
  platform::SystemClock clock;
  std::unique_ptr<platform::PlatformAccessControl> access;
  if (store) access = std::make_unique<platform::PlatformAccessControl>(*store, clock, open);
  if (open) {
    log::Warn("no API keys: serving without authentication",
              {{"database", store ? store->url() : std::string("none (no ledger)")}});
  } else {
    log::Info("API keys required", {{"database", store->url()}});
  }

  engine::EngineOptions engine_options;
  engine_options.max_sequences = o.parallel;
  engine_options.context_size = o.context_size;
  engine_options.threads = o.threads;
  engine_options.kv_memory_bytes = std::int64_t{o.kv_memory_mib} << 20;

  std::vector<std::unique_ptr<server::api::ServedModel>> served;
  std::vector<server::api::ServedModel*> pointers;
  for (std::size_t i = 0; i < models.size(); ++i) {
    const std::string path = ResolveModelPath(models[i], o.data_dir);
    const std::string id = i < o.aliases.size()                 ? o.aliases[i]
                           : models[i] == model::kDemoModelName ? std::string(model::kDemoModelName)
                                                                : server::api::ModelIdForPath(path);
    for (const auto* other : pointers) {
      if (other->id() == id) Fail("two models are named '{}': give one an --alias", id);
    }
    served.push_back(std::make_unique<server::api::ServedModel>(path, id, engine_options));
    pointers.push_back(served.back().get());
  }

  server::MetricsRegistry metrics;
  server::api::OpenAiService service(pointers, metrics);
  service.SetAccessControl(access.get());
  server::Router router;
  service.AddRoutes(router);
  server::HttpServerOptions http;
  http.host = o.host;
  http.port = static_cast<std::uint16_t>(o.port);
  http.metrics = &metrics;
  server::HttpServer server(http, std::move(router));
  server.SetShutdownHook([&service] { service.StopAccepting(); });
  server.Start();
  // Tests and scripts read this line to find the port (with --port 0).
  std::vector<std::string> ids;
  for (const auto* m : pointers) ids.push_back(m->id());
  fmt::print("kiln: serving {} on http://{}:{}\n", fmt::join(ids, ", "), o.host, server.port());
  std::fflush(stdout);
  const int signal = server::StopOnSignal(
      server, std::chrono::milliseconds(static_cast<long>(o.shutdown_grace_s * 1000)));
  service.StopAccepting();
  log::Info("stopped", {{"signal", signal}});
}

}  // namespace

void RegisterServeCommand(CLI::App& app) {
  auto options = std::make_shared<ServeOptions>();
  CLI::App* serve = app.add_subcommand("serve", "Serve models over the OpenAI-compatible HTTP API");
  serve->add_option("models", options->models,
                    "GGUF model files (default: kiln-demo, the built-in random demo model)");
  serve->add_option("--host", options->host, "Address to listen on")->capture_default_str();
  serve->add_option("--port", options->port, "Port to listen on (0: any free port)")
      ->capture_default_str();
  serve->add_option("--alias", options->aliases,
                    "Model id clients use, one per model in order (default: the file's stem)");
  serve
      ->add_option("--parallel", options->parallel,
                   "Most sequences decoding at once per model (n choices count n)")
      ->capture_default_str();
  serve->add_option("-c,--ctx-size", options->context_size,
                    "Context size in tokens (default: the model's, at most 4096)");
  serve->add_option("-t,--threads", options->threads, "Forward-pass threads (default: all cores)");
  serve->add_option("--kv-memory-mib", options->kv_memory_mib,
                    "KV-cache pool per model in MiB (default: ctx-size x parallel tokens)");
  serve->add_option("--data-dir", options->data_dir,
                    "Where kiln-demo is cached (default: $KILN_DATA_DIR, $XDG_DATA_HOME/kiln or "
                    "~/.local/share/kiln)");
  serve
      ->add_option("--shutdown-grace", options->shutdown_grace_s,
                   "Seconds in-flight requests get to finish on SIGTERM/SIGINT")
      ->capture_default_str();
  AddDatabaseFlag(*serve, options->db);
  serve->add_flag("--insecure-no-auth", options->insecure_no_auth,
                  "Allow serving a non-loopback address when the database has no API keys");
  serve->callback([options] { Serve(*options); });
}

}  // namespace kiln::cli
