// HttpServer over real loopback connections: routing, keep-alive, limits, timeouts, CORS,
// malformed input, handler failures and answers from other threads.
#include "kiln/server/http_server.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "kiln/base/error.h"
#include "kiln/base/log.h"
#include "kiln/server/metrics.h"
#include "server/server_fixture.h"

namespace kiln::server::testing {
namespace {

using namespace std::chrono_literals;

Router EchoRouter() {
  Router router;
  router.Get("/v1/models", [](const HttpRequest&, Responder r) {
    r.SendJson(200, R"({"object":"list","data":[]})");
  });
  router.Get("/v1/models/{id...}", [](const HttpRequest& req, Responder r) {
    nlohmann::json body{{"id", *req.PathParam("id")}, {"route", req.route}};
    r.SendJson(200, body.dump());
  });
  router.Delete("/v1/models/{id...}", [](const HttpRequest&, Responder r) { r.Send(204, "", ""); });
  router.Post("/echo", [](const HttpRequest& req, Responder r) {
    nlohmann::json body{{"method", req.method},
                        {"body", req.body},
                        {"content_type", req.HeaderOr("CONTENT-TYPE", "")},
                        {"q", req.QueryParam("q").value_or("<none>")}};
    r.SendJson(200, body.dump());
  });
  router.Get("/users/{user}/items/{item}", [](const HttpRequest& req, Responder r) {
    r.Send(200, "text/plain",
           std::string(*req.PathParam("user")) + "|" + std::string(*req.PathParam("item")));
  });
  return router;
}

nlohmann::json Json(const TestResponse& response) {
  return nlohmann::json::parse(response.body);
}

void ExpectOpenAiError(const TestResponse& response, int status) {
  EXPECT_EQ(response.status, status);
  EXPECT_EQ(response.Header("Content-Type"), "application/json");
  auto body = Json(response);
  ASSERT_TRUE(body.contains("error")) << response.body;
  EXPECT_TRUE(body["error"]["message"].is_string());
  EXPECT_TRUE(body["error"]["type"].is_string());
  EXPECT_TRUE(body["error"].contains("param"));
  EXPECT_TRUE(body["error"].contains("code"));
}

TEST(HttpServerTest, RoutesWithPathParametersAndQuery) {
  RunningServer server(EchoRouter());
  TestClient client = server.Connect();
  auto models = client.Request("GET", "/v1/models");
  EXPECT_EQ(models.status, 200);
  EXPECT_EQ(Json(models)["object"], "list");

  auto model = client.Request("GET", "/v1/models/meta-llama/Llama%203");
  EXPECT_EQ(model.status, 200);
  EXPECT_EQ(Json(model)["id"], "meta-llama/Llama 3");
  EXPECT_EQ(Json(model)["route"], "/v1/models/{id...}");

  auto item = client.Request("GET", "/users/ann/items/42");
  EXPECT_EQ(item.status, 200);
  EXPECT_EQ(item.body, "ann|42");

  auto echo = client.Request("POST", "/echo?q=a+b%21&x=1", {{"Content-Type", "application/json"}},
                             R"({"x":1})");
  EXPECT_EQ(echo.status, 200);
  EXPECT_EQ(Json(echo)["body"], R"({"x":1})");
  EXPECT_EQ(Json(echo)["content_type"], "application/json");
  EXPECT_EQ(Json(echo)["q"], "a b!");

  auto deleted = client.Request("DELETE", "/v1/models/x");
  EXPECT_EQ(deleted.status, 204);
  EXPECT_FALSE(deleted.HasHeader("Content-Length"));
}

TEST(HttpServerTest, UnknownPathIs404AndWrongMethodIs405WithAllow) {
  RunningServer server(EchoRouter());
  TestClient client = server.Connect();
  auto missing = client.Request("GET", "/v1/nothing");
  ExpectOpenAiError(missing, 404);
  EXPECT_EQ(Json(missing)["error"]["type"], "invalid_request_error");
  EXPECT_NE(Json(missing)["error"]["message"].get<std::string>().find("/v1/nothing"),
            std::string::npos);

  auto wrong = client.Request("POST", "/v1/models");
  ExpectOpenAiError(wrong, 405);
  EXPECT_EQ(wrong.Header("Allow"), "GET, OPTIONS");

  auto wrong2 = client.Request("PUT", "/v1/models/abc");
  ExpectOpenAiError(wrong2, 405);
  EXPECT_EQ(wrong2.Header("Allow"), "GET, DELETE, OPTIONS");

  auto bad_escape = client.Request("GET", "/v1/models/%zz");
  ExpectOpenAiError(bad_escape, 400);
  // The connection survives all of these.
  EXPECT_EQ(client.Request("GET", "/v1/models").status, 200);
}

TEST(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  RunningServer server(EchoRouter());
  TestClient client = server.Connect();
  auto first = client.Request("GET", "/v1/models");
  EXPECT_TRUE(first.keep_alive);
  auto second = client.Request("GET", "/users/a/items/b");
  EXPECT_EQ(second.status, 200);
  EXPECT_EQ(second.body, "a|b");
  EXPECT_EQ(server.server().OpenConnections(), 1u);

  // Pipelined: two requests in one write, two responses in order.
  client.SendRaw(
      "GET /users/p/items/1 HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /users/p/items/2 HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(client.ReadResponse().body, "p|1");
  EXPECT_EQ(client.ReadResponse().body, "p|2");

  // Connection: close is honoured.
  auto last = client.Request("GET", "/v1/models", {{"Connection", "close"}});
  EXPECT_EQ(last.status, 200);
  EXPECT_FALSE(last.keep_alive);
  EXPECT_TRUE(client.WaitForClose(2s));
}

TEST(HttpServerTest, Http10ClosesUnlessKeepAliveAsked) {
  RunningServer server(EchoRouter());
  TestClient client = server.Connect();
  client.SendRaw("GET /v1/models HTTP/1.0\r\n\r\n");
  auto response = client.ReadResponse();
  EXPECT_EQ(response.status, 200);
  EXPECT_TRUE(client.WaitForClose(2s));

  TestClient kept = server.Connect();
  kept.SendRaw("GET /v1/models HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_EQ(kept.ReadResponse().Header("Connection"), "keep-alive");
  kept.SendRaw("GET /v1/models HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_EQ(kept.ReadResponse().status, 200);
}

TEST(HttpServerTest, OversizedBodyIs413WithJsonError) {
  auto options = TestOptions();
  options.max_body_bytes = 1000;
  RunningServer server(EchoRouter(), options);
  {
    TestClient client = server.Connect();
    auto ok = client.Request("POST", "/echo", {}, std::string(1000, 'a'));
    EXPECT_EQ(ok.status, 200);
    auto big = client.Request("POST", "/echo", {}, std::string(1001, 'a'));
    ExpectOpenAiError(big, 413);
    EXPECT_FALSE(big.keep_alive);
    EXPECT_TRUE(client.WaitForClose(3s));
  }
  {
    // Declared length far beyond the limit: refused from the header, before any body is sent.
    TestClient client = server.Connect();
    client.SendRaw("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n");
    ExpectOpenAiError(client.ReadResponse(), 413);
  }
  {
    // Chunked request bodies count too.
    TestClient client = server.Connect();
    std::string chunk(600, 'b');
    client.SendRaw("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n258\r\n" +
                   chunk + "\r\n258\r\n" + chunk + "\r\n0\r\n\r\n");
    ExpectOpenAiError(client.ReadResponse(), 413);
  }
}

TEST(HttpServerTest, OversizedHeaderIs431) {
  auto options = TestOptions();
  options.max_header_bytes = 2048;
  RunningServer server(EchoRouter(), options);
  TestClient client = server.Connect();
  auto response = client.Request("GET", "/v1/models", {{"X-Big", std::string(4096, 'h')}});
  ExpectOpenAiError(response, 431);
  EXPECT_TRUE(client.WaitForClose(3s));
  // Others are still served.
  EXPECT_EQ(server.Connect().Request("GET", "/v1/models").status, 200);
}

TEST(HttpServerTest, ReadTimeoutClosesStalledClient) {
  auto options = TestOptions();
  options.read_timeout = 300ms;
  options.idle_timeout = 10s;
  RunningServer server(EchoRouter(), options);
  TestClient stalled = server.Connect();
  auto start = std::chrono::steady_clock::now();
  stalled.SendRaw("GET /v1/models HTTP/1.1\r\nHost: x\r\n");  // never finishes the header
  EXPECT_TRUE(stalled.WaitForClose(5s));
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, 250ms);
  EXPECT_LT(elapsed, 3s);

  // A body that stops arriving is cut off too.
  TestClient slow_body = server.Connect();
  slow_body.SendRaw("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
  EXPECT_TRUE(slow_body.WaitForClose(5s));
}

TEST(HttpServerTest, IdleTimeoutClosesKeepAliveConnection) {
  auto options = TestOptions();
  options.idle_timeout = 300ms;
  RunningServer server(EchoRouter(), options);
  TestClient client = server.Connect();
  EXPECT_EQ(client.Request("GET", "/v1/models").status, 200);
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(client.WaitForClose(5s));
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, 200ms);
  EXPECT_LT(elapsed, 3s);

  // A connection that keeps talking is not idle.
  TestClient busy = server.Connect();
  for (int i = 0; i < 5; ++i) {
    std::this_thread::sleep_for(150ms);
    EXPECT_EQ(busy.Request("GET", "/v1/models").status, 200);
  }
}

TEST(HttpServerTest, CorsHeadersAndPreflight) {
  RunningServer server(EchoRouter());
  TestClient client = server.Connect();
  auto response = client.Request("GET", "/v1/models", {{"Origin", "http://example.com"}});
  EXPECT_EQ(response.Header("Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(client.Request("GET", "/nope").Header("Access-Control-Allow-Origin"), "*");

  auto preflight =
      client.Request("OPTIONS", "/echo",
                     {{"Origin", "http://example.com"}, {"Access-Control-Request-Method", "POST"}});
  EXPECT_EQ(preflight.status, 204);
  EXPECT_EQ(preflight.Header("Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(preflight.Header("Access-Control-Allow-Methods"), "POST, OPTIONS");
  auto allowed = preflight.Header("Access-Control-Allow-Headers");
  EXPECT_NE(allowed.find("Authorization"), std::string::npos);
  EXPECT_NE(allowed.find("Content-Type"), std::string::npos);

  auto asked = client.Request("OPTIONS", "/v1/models/x",
                              {{"Access-Control-Request-Headers", "authorization, x-custom"}});
  EXPECT_EQ(asked.status, 204);
  EXPECT_EQ(asked.Header("Access-Control-Allow-Headers"), "authorization, x-custom");
  EXPECT_EQ(asked.Header("Access-Control-Allow-Methods"), "GET, DELETE, OPTIONS");

  EXPECT_EQ(client.Request("OPTIONS", "/unknown").status, 404);

  auto options = TestOptions();
  options.cors_allow_origin = "https://app.example";
  RunningServer restricted(EchoRouter(), options);
  auto r = restricted.Connect().Request("GET", "/v1/models");
  EXPECT_EQ(r.Header("Access-Control-Allow-Origin"), "https://app.example");
  EXPECT_EQ(r.Header("Vary"), "Origin");

  options.cors_allow_origin = "";
  RunningServer no_cors(EchoRouter(), options);
  TestClient c = no_cors.Connect();
  EXPECT_FALSE(c.Request("GET", "/v1/models").HasHeader("Access-Control-Allow-Origin"));
  EXPECT_EQ(c.Request("OPTIONS", "/v1/models").status, 405);
}

TEST(HttpServerTest, MalformedRequestsGet400AndServerKeepsServing) {
  RunningServer server(EchoRouter());
  const std::vector<std::string> bad = {
      "\x01\x02garbage\xff\xfe\r\n\r\n",
      "G(T /v1/models HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET /v1/models HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
      "GET /v1/models HTTP/1.1\r\nBad Header Name: x\r\n\r\n",
      "GET http://example.com/v1/models HTTP/1.1\r\nHost: x\r\n\r\n",
      "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
  };
  for (const std::string& bytes : bad) {
    TestClient client = server.Connect();
    client.SendRaw(bytes);
    auto response = client.ReadResponse();
    ExpectOpenAiError(response, 400);
    EXPECT_FALSE(response.keep_alive);
    EXPECT_TRUE(client.WaitForClose(3s)) << bytes;
  }
  TestClient version = server.Connect();
  version.SendRaw("GET /v1/models HTTP/2.0\r\nHost: x\r\n\r\n");
  ExpectOpenAiError(version.ReadResponse(), 400);

  // An unknown but well-formed method is a 405 on a known path.
  EXPECT_EQ(server.Connect().Request("BREW", "/v1/models").status, 405);
  EXPECT_EQ(server.Connect().Request("GET", "/v1/models").status, 200);
}

TEST(HttpServerTest, HandlerFailuresBecome500) {
  Router router;
  router.Get("/throws", [](const HttpRequest&, Responder) { throw std::runtime_error("boom"); });
  router.Get("/forgets", [](const HttpRequest&, Responder) {});
  router.Get("/twice", [](const HttpRequest&, Responder r) {
    EXPECT_TRUE(r.Send(200, "text/plain", "first"));
    EXPECT_FALSE(r.Send(201, "text/plain", "second"));
    EXPECT_FALSE(r.StartEventStream().IsOpen());
  });
  router.Get("/bad-header", [](const HttpRequest&, Responder r) {
    r.Send(200, "text/plain", "x", {{"X-Injected", "a\r\nSet-Cookie: b"}});
  });
  RunningServer server(std::move(router));
  TestClient client = server.Connect();
  auto thrown = client.Request("GET", "/throws");
  ExpectOpenAiError(thrown, 500);
  EXPECT_EQ(Json(thrown)["error"]["type"], "server_error");
  ExpectOpenAiError(client.Request("GET", "/forgets"), 500);
  auto twice = client.Request("GET", "/twice");
  EXPECT_EQ(twice.status, 200);
  EXPECT_EQ(twice.body, "first");
  auto injected = client.Request("GET", "/bad-header");
  ExpectOpenAiError(injected, 500);
  EXPECT_FALSE(injected.HasHeader("Set-Cookie"));
}

TEST(HttpServerTest, ResponseCompletedLaterFromAnotherThread) {
  std::vector<std::thread> workers;
  std::mutex mutex;
  Router router;
  router.Post("/later", [&](const HttpRequest& req, Responder r) {
    std::lock_guard lock(mutex);
    workers.emplace_back([r, body = req.body]() mutable {
      std::this_thread::sleep_for(50ms);
      r.Send(200, "text/plain", "done:" + body);
    });
  });
  RunningServer server(std::move(router));
  TestClient client = server.Connect();
  auto first = client.Request("POST", "/later", {}, "one");
  auto second = client.Request("POST", "/later", {}, "two");
  EXPECT_EQ(first.body, "done:one");
  EXPECT_EQ(second.body, "done:two");
  std::lock_guard lock(mutex);
  for (auto& w : workers) w.join();
}

TEST(HttpServerTest, ExpectContinueGetsInterimResponse) {
  RunningServer server(EchoRouter());
  TestClient client = server.Connect();
  client.SendRaw(
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  auto interim = client.ReadHeader();
  EXPECT_EQ(interim.status, 100);
  client.SendRaw("hello");
  auto response = client.ReadResponse();
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(Json(response)["body"], "hello");
}

TEST(HttpServerTest, AccessLogHasRequestButNoSecrets) {
  auto options = TestOptions();
  options.access_log = true;
  RunningServer server(EchoRouter(), options);
  ::testing::internal::CaptureStderr();
  auto response = server.Connect().Request("GET", "/users/u/items/i?api_key=hidden",
                                           {{"Authorization", "Bearer sk-secret-123"}});
  EXPECT_EQ(response.status, 200);
  // The log line is written after the response; give the I/O thread a moment.
  std::this_thread::sleep_for(100ms);
  std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(log.find("msg=\"http request\" method=GET path=/users/u/items/i status=200 bytes=3"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("ms="), std::string::npos);
  EXPECT_EQ(log.find("sk-secret"), std::string::npos);
  EXPECT_EQ(log.find("hidden"), std::string::npos);
}

TEST(HttpServerTest, RecordsRequestMetrics) {
  MetricsRegistry registry;
  auto options = TestOptions();
  options.metrics = &registry;
  RunningServer server(EchoRouter(), options);
  TestClient client = server.Connect();
  EXPECT_EQ(client.Request("GET", "/v1/models").status, 200);
  EXPECT_EQ(client.Request("GET", "/v1/models").status, 200);
  EXPECT_EQ(client.Request("GET", "/nope").status, 404);
  EXPECT_EQ(client.Request("BREW", "/v1/models").status, 405);
  EXPECT_EQ(client.Request("GET", "/v1/models/a").status, 200);
  const std::string expected[] = {
      "kiln_http_requests_total{method=\"GET\",route=\"/v1/models\",status=\"200\"} 2\n",
      "kiln_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} 1\n",
      "kiln_http_requests_total{method=\"other\",route=\"/v1/models\",status=\"405\"} 1\n",
      "kiln_http_requests_total{method=\"GET\",route=\"/v1/models/{id...}\",status=\"200\"} 1\n",
      "kiln_http_request_duration_seconds_count{route=\"/v1/models\"} 3\n",
      "kiln_http_open_connections 1\n",
  };
  std::string text;
  // Metrics are recorded once a response's last byte is written, just after the client has it.
  for (int i = 0; i < 100; ++i) {
    text = registry.Render();
    bool all = true;
    for (const auto& e : expected) all = all && text.find(e) != std::string::npos;
    if (all) break;
    std::this_thread::sleep_for(10ms);
  }
  for (const auto& e : expected) EXPECT_NE(text.find(e), std::string::npos) << e << text;
}

TEST(HttpServerTest, StartFailsClearlyWhenPortIsTaken) {
  RunningServer first(EchoRouter());
  auto options = TestOptions();
  options.port = first.port();
  HttpServer second(options, EchoRouter());
  try {
    second.Start();
    FAIL() << "expected kiln::Error";
  } catch (const kiln::Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot listen"), std::string::npos);
  }
}

}  // namespace
}  // namespace kiln::server::testing
