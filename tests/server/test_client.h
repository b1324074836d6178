// TestClient: a small synchronous HTTP/1.1 client (Boost.Beast) for driving a real HttpServer
// over loopback in tests: whole requests, raw bytes, incremental reading of streamed bodies, and
// detecting when the server closes the connection.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kiln::server::testing {

struct TestResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool keep_alive = false;
  bool chunked = false;
  // First header with this name (case-insensitive), "" when absent.
  std::string Header(std::string_view name) const;
  bool HasHeader(std::string_view name) const;
};

class TestClient {
 public:
  // Connects to 127.0.0.1:port. A receive buffer size > 0 is set before connecting (slow-reader
  // tests). Reads time out after 10 s by default so a broken server fails a test, not hangs it.
  explicit TestClient(uint16_t port, int receive_buffer_bytes = 0);
  ~TestClient();

  void SendRaw(std::string_view bytes);
  void SendRequest(std::string_view method, std::string_view target,
                   std::vector<std::pair<std::string, std::string>> headers = {},
                   std::string body = {});
  TestResponse ReadResponse();  // a whole response, body de-chunked; throws on errors
  TestResponse Request(std::string_view method, std::string_view target,
                       std::vector<std::pair<std::string, std::string>> headers = {},
                       std::string body = {});

  // Streaming: the header first, then body pieces as they arrive (nullopt at the end of the
  // body). Throws when the connection breaks before the body is complete.
  TestResponse ReadHeader();
  std::optional<std::string> ReadBodyPiece();
  std::string ReadRestOfBody();

  // True when the server closes the connection (EOF or reset) within `timeout`; data that
  // arrives meanwhile is discarded.
  bool WaitForClose(std::chrono::milliseconds timeout);
  void SetReadTimeout(std::chrono::milliseconds timeout);
  void Close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kiln::server::testing
