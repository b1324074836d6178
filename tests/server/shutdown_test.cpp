// Graceful shutdown: in-flight streams finish within the grace period, the shutdown hook cancels
// the rest, idle and new connections are refused, and SIGTERM drives the whole sequence.
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <future>
#include <thread>

#include "kiln/base/error.h"
#include "kiln/server/http_server.h"
#include "server/server_fixture.h"

namespace kiln::server::testing {
namespace {

using namespace std::chrono_literals;

TEST(ShutdownTest, FinishesStreamWithinGraceAndCancelsOneThatOutlivesIt) {
  std::promise<ResponseStream> short_promise;
  std::promise<ResponseStream> long_promise;
  Router router;
  router.Get("/short", [&](const HttpRequest&, Responder r) {
    short_promise.set_value(r.StartStream(200, "text/plain"));
  });
  router.Get("/long", [&](const HttpRequest&, Responder r) {
    long_promise.set_value(r.StartStream(200, "text/plain"));
  });
  router.Get("/ping", [](const HttpRequest&, Responder r) { r.Send(200, "text/plain", "pong"); });
  auto options = TestOptions();
  options.shutdown_drain = 200ms;
  HttpServer server(options, std::move(router));
  std::atomic<bool> hook_called{false};
  std::atomic<bool> long_gone{false};
  server.SetShutdownHook([&] { hook_called = true; });
  server.Start();

  TestClient idle_client(server.port());
  EXPECT_EQ(idle_client.Request("GET", "/ping").body, "pong");
  TestClient short_client(server.port());
  short_client.SendRequest("GET", "/short");
  TestClient long_client(server.port());
  long_client.SendRequest("GET", "/long");
  ResponseStream short_stream = short_promise.get_future().get();
  ResponseStream long_stream = long_promise.get_future().get();
  long_stream.OnClientGone([&] { long_gone = true; });
  EXPECT_EQ(short_client.ReadHeader().status, 200);
  EXPECT_EQ(long_client.ReadHeader().status, 200);

  std::thread short_producer([&] {
    for (int i = 0; i < 6; ++i) {
      short_stream.Write("tick;");
      std::this_thread::sleep_for(50ms);
    }
    short_stream.Close();
  });
  std::thread long_producer([&] {
    while (long_stream.Write("forever;")) std::this_thread::sleep_for(20ms);
  });

  const auto grace = 1000ms;
  auto started = std::chrono::steady_clock::now();
  std::thread stopper([&] { server.Stop(grace); });

  EXPECT_TRUE(idle_client.WaitForClose(2s));  // idle keep-alive connections go at once
  EXPECT_EQ(short_client.ReadRestOfBody(), "tick;tick;tick;tick;tick;tick;");
  EXPECT_TRUE(short_client.WaitForClose(2s));                  // no keep-alive during shutdown
  EXPECT_THROW(long_client.ReadRestOfBody(), std::exception);  // cut off, not completed
  stopper.join();
  auto took = std::chrono::steady_clock::now() - started;
  short_producer.join();
  long_producer.join();

  EXPECT_TRUE(hook_called.load());
  EXPECT_TRUE(long_gone.load());
  EXPECT_FALSE(long_stream.Write("after"));
  EXPECT_GE(took, grace);
  EXPECT_LT(took, grace + 1500ms);
  EXPECT_TRUE(server.Stopped());
  EXPECT_THROW(TestClient{server.port()}, std::exception);  // no longer accepting
}

TEST(ShutdownTest, StopWithNothingInFlightIsQuickAndHookNotCalled) {
  Router router;
  router.Get("/ping", [](const HttpRequest&, Responder r) { r.Send(200, "text/plain", "pong"); });
  HttpServer server(TestOptions(), std::move(router));
  bool hook_called = false;
  server.SetShutdownHook([&] { hook_called = true; });
  server.Start();
  EXPECT_EQ(TestClient(server.port()).Request("GET", "/ping").status, 200);
  auto started = std::chrono::steady_clock::now();
  server.Stop(5s);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
  EXPECT_FALSE(hook_called);
  server.Stop(5s);  // idempotent
  server.Wait();
}

TEST(ShutdownTest, StopFromAnIoThreadIsRefused) {
  HttpServer* self = nullptr;
  Router router;
  router.Get("/stop", [&](const HttpRequest&, Responder r) {
    try {
      self->Stop(0ms);
      r.Send(200, "text/plain", "stopped?!");
    } catch (const kiln::Error& e) {
      r.Send(409, "text/plain", e.what());
    }
  });
  HttpServer server(TestOptions(), std::move(router));
  self = &server;
  server.Start();
  EXPECT_EQ(TestClient(server.port()).Request("GET", "/stop").status, 409);
}

bool SigtermHandled() {
  struct sigaction current {};
  sigaction(SIGTERM, nullptr, &current);
  return current.sa_handler != SIG_DFL;
}

TEST(ShutdownTest, SigtermStopsTheServer) {
  Router router;
  router.Get("/ping", [](const HttpRequest&, Responder r) { r.Send(200, "text/plain", "pong"); });
  HttpServer server(TestOptions(), std::move(router));
  server.Start();
  auto result = std::async(std::launch::async, [&] { return StopOnSignal(server, 1s); });
  for (int i = 0; i < 500 && !SigtermHandled(); ++i) std::this_thread::sleep_for(5ms);
  ASSERT_TRUE(SigtermHandled());
  EXPECT_EQ(TestClient(server.port()).Request("GET", "/ping").status, 200);
  std::raise(SIGTERM);
  ASSERT_EQ(result.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(result.get(), SIGTERM);
  EXPECT_TRUE(server.Stopped());
}

TEST(ShutdownTest, StopOnSignalReturnsWhenStoppedElsewhere) {
  HttpServer server(TestOptions(), Router());
  server.Start();
  auto result = std::async(std::launch::async, [&] { return StopOnSignal(server, 1s); });
  std::this_thread::sleep_for(50ms);
  server.Stop(0ms);
  ASSERT_EQ(result.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(result.get(), 0);
}

}  // namespace
}  // namespace kiln::server::testing
