// A real HttpServer on an ephemeral loopback port for tests, stopped when it goes out of scope.
#pragma once

#include <chrono>
#include <memory>

#include "kiln/server/http_server.h"
#include "server/test_client.h"

namespace kiln::server::testing {

inline HttpServerOptions TestOptions() {
  HttpServerOptions options;
  options.host = "127.0.0.1";
  options.port = 0;
  options.io_threads = 2;
  options.access_log = false;
  return options;
}

class RunningServer {
 public:
  explicit RunningServer(Router router, HttpServerOptions options = TestOptions())
      : server_(std::make_unique<HttpServer>(std::move(options), std::move(router))) {
    server_->Start();
  }
  ~RunningServer() { server_->Stop(std::chrono::milliseconds(0)); }
  uint16_t port() const { return server_->port(); }
  HttpServer& server() { return *server_; }
  TestClient Connect(int receive_buffer_bytes = 0) const {
    return TestClient(port(), receive_buffer_bytes);
  }

 private:
  std::unique_ptr<HttpServer> server_;
};

}  // namespace kiln::server::testing
