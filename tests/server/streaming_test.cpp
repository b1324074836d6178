// Streaming responses: chunked and SSE bodies written from other threads, client disconnects,
// slow readers, and many concurrent streams.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "kiln/server/http_server.h"
#include "server/server_fixture.h"

namespace kiln::server::testing {
namespace {

using namespace std::chrono_literals;

// Hands streams started by handlers to the test's producer threads.
class StreamBox {
 public:
  void Put(ResponseStream stream) {
    std::lock_guard lock(mutex_);
    streams_.push_back(std::move(stream));
    cv_.notify_all();
  }
  ResponseStream Take() {
    std::unique_lock lock(mutex_);
    if (!cv_.wait_for(lock, 10s, [&] { return !streams_.empty(); })) {
      ADD_FAILURE() << "no stream started";
      return ResponseStream();
    }
    ResponseStream s = std::move(streams_.front());
    streams_.erase(streams_.begin());
    return s;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<ResponseStream> streams_;
};

std::string ExpectedEvents(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += "data: {\"i\":" + std::to_string(i) + "}\n\n";
  out += "data: [DONE]\n\n";
  return out;
}

TEST(StreamingTest, SseWrittenFromAnotherThread) {
  StreamBox box;
  Router router;
  router.Post("/stream", [&](const HttpRequest&, Responder r) { box.Put(r.StartEventStream()); });
  RunningServer server(std::move(router));
  TestClient client = server.Connect();
  client.SendRequest("POST", "/stream", {}, "{}");

  std::thread producer([&] {
    ResponseStream stream = box.Take();
    for (int i = 0; i < 50; ++i) {
      EXPECT_TRUE(stream.WriteEvent("{\"i\":" + std::to_string(i) + "}"));
      if (i % 10 == 0) std::this_thread::sleep_for(5ms);
    }
    EXPECT_TRUE(stream.WriteEvent("[DONE]"));
    stream.Close();
    EXPECT_FALSE(stream.IsOpen());
    EXPECT_FALSE(stream.Write("late"));
  });
  auto header = client.ReadHeader();
  EXPECT_EQ(header.status, 200);
  EXPECT_TRUE(header.chunked);
  EXPECT_EQ(header.Header("Content-Type"), "text/event-stream");
  EXPECT_EQ(header.Header("Cache-Control"), "no-cache");
  EXPECT_EQ(header.Header("Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(client.ReadRestOfBody(), ExpectedEvents(50));
  producer.join();
  // The connection stays usable after a complete stream.
  client.SendRequest("POST", "/stream", {}, "{}");
  std::thread again([&] {
    ResponseStream stream = box.Take();
    stream.Write("raw bytes, ");
    stream.Write("multi\nline");
    stream.Close();
  });
  EXPECT_EQ(client.ReadResponse().body, "raw bytes, multi\nline");
  again.join();
}

TEST(StreamingTest, MultiLineEventGetsOneDataLinePerLine) {
  Router router;
  router.Get("/e", [](const HttpRequest&, Responder r) {
    auto s = r.StartEventStream();
    s.WriteEvent("a\nb");
    s.Close();
  });
  RunningServer server(std::move(router));
  EXPECT_EQ(server.Connect().Request("GET", "/e").body, "data: a\ndata: b\n\n");
}

TEST(StreamingTest, ClientDisconnectFiresOnClientGoneAndLaterWritesAreHarmless) {
  StreamBox box;
  std::promise<void> gone;
  std::atomic<int> gone_calls{0};
  Router router;
  router.Get("/stream", [&](const HttpRequest&, Responder r) {
    ResponseStream stream = r.StartEventStream();
    stream.OnClientGone([&] {
      if (gone_calls.fetch_add(1) == 0) gone.set_value();
    });
    box.Put(stream);
  });
  RunningServer server(std::move(router));
  auto client = std::make_unique<TestClient>(server.port());
  client->SendRequest("GET", "/stream");
  ResponseStream stream = box.Take();
  EXPECT_TRUE(stream.WriteEvent("first"));
  EXPECT_EQ(client->ReadHeader().status, 200);
  EXPECT_EQ(*client->ReadBodyPiece(), "data: first\n\n");

  auto closed_at = std::chrono::steady_clock::now();
  client->Close();
  // Fires promptly, without the producer having to write anything.
  ASSERT_EQ(gone.get_future().wait_for(2s), std::future_status::ready);
  EXPECT_LT(std::chrono::steady_clock::now() - closed_at, 1s);
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(stream.WriteEvent("after"));
  EXPECT_FALSE(stream.IsOpen());
  stream.Close();
  EXPECT_EQ(gone_calls.load(), 1);
  // Registering after the fact runs the callback at once.
  bool late = false;
  stream.OnClientGone([&] { late = true; });
  EXPECT_TRUE(late);
  // In-flight accounting is back to zero and the server still serves.
  for (int i = 0; i < 100 && server.server().InFlightRequests() != 0; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(server.server().InFlightRequests(), 0u);
}

TEST(StreamingTest, DisconnectWhileAwaitingNonStreamedAnswer) {
  std::promise<Responder> pending;
  std::promise<void> gone;
  Router router;
  router.Get("/slow", [&](const HttpRequest&, Responder r) {
    r.OnClientGone([&] { gone.set_value(); });
    pending.set_value(r);
  });
  RunningServer server(std::move(router));
  auto client = std::make_unique<TestClient>(server.port());
  client->SendRequest("GET", "/slow");
  Responder responder = pending.get_future().get();
  client->Close();
  ASSERT_EQ(gone.get_future().wait_for(2s), std::future_status::ready);
  EXPECT_TRUE(responder.ClientGone());
  EXPECT_FALSE(responder.Send(200, "text/plain", "nobody listens"));  // harmless no-op
}

TEST(StreamingTest, SlowReaderFailsStreamWithoutBlockingTheWriter) {
  auto options = TestOptions();
  options.max_stream_queue_bytes = 64 * 1024;
  StreamBox box;
  std::atomic<bool> gone{false};
  Router router;
  router.Get("/firehose", [&](const HttpRequest&, Responder r) {
    ResponseStream s = r.StartStream(200, "application/octet-stream");
    s.OnClientGone([&] { gone = true; });
    box.Put(s);
  });
  RunningServer server(std::move(router), options);
  TestClient client = server.Connect(/*receive_buffer_bytes=*/4096);
  client.SendRequest("GET", "/firehose");
  ResponseStream stream = box.Take();
  const std::string chunk(8 * 1024, 'x');
  std::size_t written = 0;
  auto slowest = std::chrono::nanoseconds(0);
  bool failed = false;
  // The client never reads. Kernel buffers absorb some megabytes; then the queue must overflow.
  while (written < (512u << 20)) {
    auto t0 = std::chrono::steady_clock::now();
    bool ok = stream.Write(chunk);
    slowest = std::max(slowest, std::chrono::steady_clock::now() - t0);
    if (!ok) {
      failed = true;
      break;
    }
    written += chunk.size();
  }
  EXPECT_TRUE(failed) << "wrote " << written << " bytes to a client that never reads";
  EXPECT_LT(slowest, 100ms);  // Write never waits for the client
  for (int i = 0; i < 200 && !gone; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(gone.load());
  EXPECT_FALSE(stream.IsOpen());
  EXPECT_TRUE(client.WaitForClose(5s));
}

TEST(StreamingTest, DroppingAnOpenStreamAbortsTheConnection) {
  Router router;
  router.Get("/abandon", [](const HttpRequest&, Responder r) {
    ResponseStream s = r.StartStream(200, "text/plain");
    s.Write("partial");
  });  // s dropped without Close
  RunningServer server(std::move(router));
  TestClient client = server.Connect();
  client.SendRequest("GET", "/abandon");
  // The client never sees a complete response (the header may or may not have gone out).
  EXPECT_THROW(client.ReadResponse(), std::exception);
  for (int i = 0; i < 100 && server.server().InFlightRequests() != 0; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(server.server().InFlightRequests(), 0u);
}

TEST(StreamingTest, TwoHundredConcurrentStreamsAllComplete) {
  constexpr int kClients = 200;
  constexpr int kEvents = 20;
  StreamBox box;
  Router router;
  router.Get("/stream/{n}", [&](const HttpRequest& req, Responder r) {
    auto s = r.StartEventStream({{"X-Stream", std::string(*req.PathParam("n"))}});
    box.Put(s);
  });
  auto options = TestOptions();
  RunningServer server(std::move(router), options);
  std::vector<std::unique_ptr<TestClient>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<TestClient>(server.port()));
    clients.back()->SendRequest("GET", "/stream/" + std::to_string(i));
  }
  std::vector<ResponseStream> streams;
  for (int i = 0; i < kClients; ++i) streams.push_back(box.Take());
  EXPECT_EQ(server.server().InFlightRequests(), static_cast<std::size_t>(kClients));
  // One producer thread (like an engine) interleaves all streams, event by event.
  std::thread engine([&] {
    for (int e = 0; e < kEvents; ++e) {
      for (auto& s : streams) EXPECT_TRUE(s.WriteEvent("{\"i\":" + std::to_string(e) + "}"));
      std::this_thread::sleep_for(1ms);
    }
    for (auto& s : streams) {
      s.WriteEvent("[DONE]");
      s.Close();
    }
  });
  for (int i = 0; i < kClients; ++i) {
    auto header = clients[i]->ReadHeader();
    EXPECT_EQ(header.status, 200);
    EXPECT_FALSE(header.Header("X-Stream").empty());
    EXPECT_EQ(clients[i]->ReadRestOfBody(), ExpectedEvents(kEvents)) << "client " << i;
  }
  engine.join();
  for (int i = 0; i < 100 && server.server().InFlightRequests() != 0; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(server.server().InFlightRequests(), 0u);
}

}  // namespace
}  // namespace kiln::server::testing
