// TEST FIXTURE (not Kiln's server, not a mock of it): a small HTTP/1.1 server on a loopback port
// that speaks the OpenAI streaming format with fake text, so the load generator can be tested
// against real sockets: it streams max_tokens chunks with a set delay, honours
// stream_options.include_usage, and can answer errors, break streams or stall on request.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace kiln::loadgen::testing {

struct TestServerOptions {
  std::chrono::milliseconds first_token_delay{5};
  std::chrono::milliseconds token_delay{2};
  bool send_usage = true;          // when the request asks for it
  bool offer_tokenize = true;      // POST /tokenize: one token per whitespace-separated word
  int http_error_every = 0;        // every k-th request answers HTTP 500 (0: never)
  int error_event_every = 0;       // every k-th request streams an error event mid-way
  bool stall_after_first = false;  // stream one chunk, then never finish
  bool omit_done = false;          // end streams without data: [DONE]
  std::string required_api_key;    // when set, anything else gets 401
};

struct TestServerStats {
  int requests = 0;            // completion requests received
  long completion_tokens = 0;  // content chunks streamed
  long prompt_tokens = 0;      // as reported in usage
  int max_in_flight = 0;
  int tokenize_calls = 0;
  std::vector<double> arrival_s;    // since the server started
  std::vector<std::string> bodies;  // request bodies as received
};

class OpenAiTestServer {
 public:
  explicit OpenAiTestServer(TestServerOptions options = {});
  ~OpenAiTestServer();
  OpenAiTestServer(const OpenAiTestServer&) = delete;
  OpenAiTestServer& operator=(const OpenAiTestServer&) = delete;

  int port() const;
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port()); }
  TestServerStats stats() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace kiln::loadgen::testing
