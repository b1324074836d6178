// HttpServer: an asynchronous HTTP/1.1 server (Boost.Asio/Beast) that owns the listening socket,
// its I/O threads and every connection: keep-alive, limits (431/413), read and idle timeouts,
// CORS, an access log line per request, and graceful shutdown. Handlers come from a Router and
// answer through a Responder (see responder.h); Beast stays inside the .cpp files.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "kiln/server/router.h"

namespace kiln::server {

class MetricsRegistry;

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: an ephemeral port, see HttpServer::port()
  int io_threads = 2;
  std::size_t max_header_bytes = 16 * 1024;         // request line + headers; beyond: 431
  std::size_t max_body_bytes = 8 * 1024 * 1024;     // beyond: 413
  std::chrono::milliseconds read_timeout{30'000};   // first byte to last byte of one request
  std::chrono::milliseconds idle_timeout{60'000};   // keep-alive wait for the next request
  std::chrono::milliseconds write_timeout{60'000};  // one write making no progress
  // Bytes a streaming response may have queued but not yet written before the stream fails.
  std::size_t max_stream_queue_bytes = 4 * 1024 * 1024;
  // Access-Control-Allow-Origin on every response and OPTIONS preflight answered with 204;
  // empty disables CORS.
  std::string cors_allow_origin = "*";
  bool access_log = true;
  // When set (not owned; must outlive the server): kiln_http_requests_total{method,route,status},
  // kiln_http_request_duration_seconds{route}, kiln_http_open_connections.
  MetricsRegistry* metrics = nullptr;
  // How long Stop waits, after calling the shutdown hook, for cancelled requests to wind down.
  std::chrono::milliseconds shutdown_drain{1'000};
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, Router router);
  ~HttpServer();  // Stop(0) if still running
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens, then starts the I/O threads. Throws kiln::Error when the address cannot be
  // bound.
  void Start();
  // The bound port (useful with port 0); valid after Start.
  uint16_t port() const;

  // Called by Stop when requests are still in flight after the grace period, so their owners can
  // cancel them (e.g. cancel engine requests). Runs on the thread calling Stop. Set before Start.
  void SetShutdownHook(std::function<void()> hook);

  // Graceful shutdown: stops accepting, closes idle connections, lets in-flight requests and
  // streams finish for up to `grace`, calls the shutdown hook if some remain, gives them a short
  // moment to wind down, then closes every connection and joins the I/O threads. Idempotent; any
  // thread except an I/O thread of this server (there it throws kiln::Error).
  void Stop(std::chrono::milliseconds grace);
  // Blocks until Stop has completed (from any thread).
  void Wait();
  bool Stopped() const;

  std::size_t OpenConnections() const;
  std::size_t InFlightRequests() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Blocks the calling thread until SIGINT or SIGTERM arrives, then calls server.Stop(grace) and
// returns (for `kiln serve`, which then exits 0). Also returns, without a signal, when the server
// is stopped by another path. Returns the signal number, or 0 when none was received.
int StopOnSignal(HttpServer& server, std::chrono::milliseconds grace);

}  // namespace kiln::server
