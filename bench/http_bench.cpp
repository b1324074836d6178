// HTTP server throughput: requests/s for a trivial GET over keep-alive connections, with 1 and
// 16 client connections (one client thread each), against a real server on loopback.
#include <benchmark/benchmark.h>

#include <memory>

#include "kiln/server/http_server.h"
#include "server/test_client.h"

namespace {

kiln::server::HttpServer& Server() {
  static kiln::server::HttpServer* server = [] {
    kiln::server::Router router;
    router.Get("/v1/models", [](const kiln::server::HttpRequest&, kiln::server::Responder r) {
      r.SendJson(200, R"({"object":"list","data":[{"id":"kiln-demo","object":"model"}]})");
    });
    kiln::server::HttpServerOptions options;
    options.access_log = false;
    options.io_threads = 2;
    auto* s = new kiln::server::HttpServer(options, std::move(router));
    s->Start();
    return s;
  }();
  return *server;
}

void BM_KeepAliveGet(benchmark::State& state) {
  kiln::server::testing::TestClient client(Server().port());
  for (auto _ : state) {
    auto response = client.Request("GET", "/v1/models");
    if (response.status != 200) state.SkipWithError("unexpected status");
    benchmark::DoNotOptimize(response.body.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_KeepAliveGet)->Threads(1)->Threads(16)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
