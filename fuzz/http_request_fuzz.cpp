// libFuzzer target `fuzz_http_request`: feeds arbitrary bytes through the server's request path:
// RequestReader (Beast's parser with Kiln's limits), split into reads at fuzzer-chosen points as a
// socket would deliver them, then router dispatch, header and query lookups, and the error body a
// rejected request gets. Rejections are the expected outcome; crashes, hangs, leaks and sanitizer
// reports are bugs.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "kiln/server/openai_error.h"
#include "kiln/server/request_reader.h"
#include "kiln/server/router.h"

namespace {

const kiln::server::Router& TestRouter() {
  static const kiln::server::Router kRouter = [] {
    kiln::server::Router router;
    auto noop = [](const kiln::server::HttpRequest&, kiln::server::Responder) {};
    router.Get("/v1/models", noop);
    router.Get("/v1/models/{id...}", noop);
    router.Post("/v1/chat/completions", noop);
    router.Post("/v1/completions", noop);
    router.Get("/users/{user}/items/{item}", noop);
    return router;
  }();
  return kRouter;
}

// Small limits so the 413/431 paths are reachable with short inputs.
constexpr kiln::server::RequestLimits kLimits{512, 1024};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  // The first byte picks the read size, as if the socket delivered the input in pieces.
  std::size_t step = 1 + data[0] % 64;
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  kiln::server::RequestReader reader(kLimits);
  std::string buffer;
  std::size_t offset = 0;
  int requests = 0;
  while (requests < 64) {
    if (offset < input.size()) {
      std::size_t n = std::min(step, input.size() - offset);
      buffer.append(input.substr(offset, n));
      offset += n;
    } else if (buffer.empty()) {
      break;
    }
    auto result = reader.Feed(buffer);
    if (result.consumed > buffer.size()) __builtin_trap();
    buffer.erase(0, result.consumed);
    if (result.status == kiln::server::RequestReader::Status::kError) {
      if (result.http_status != 400 && result.http_status != 413 && result.http_status != 431) {
        __builtin_trap();
      }
      std::string body = kiln::server::OpenAiErrorBody(
          result.error, kiln::server::ErrorTypeForStatus(result.http_status));
      if (body.empty()) __builtin_trap();
      break;
    }
    if (result.status == kiln::server::RequestReader::Status::kNeedMore) {
      (void)reader.ExpectsContinue();
      if (offset >= input.size()) break;  // the client sent no more
      continue;
    }
    bool keep_alive = false;
    kiln::server::HttpRequest request = reader.TakeRequest(&keep_alive);
    ++requests;
    if (request.body.size() > kLimits.max_body_bytes) __builtin_trap();
    auto match = TestRouter().Find(request.method, request.path);
    if (match.kind == kiln::server::Router::Match::Kind::kFound && match.handler == nullptr) {
      __builtin_trap();
    }
    (void)request.Header("content-type");
    (void)request.QueryParam("q");
    std::string message = "Invalid URL (" + request.method + " " + request.path + ")";
    (void)kiln::server::OpenAiErrorBody(message, "invalid_request_error");
    if (!keep_alive) break;
  }
  return 0;
}
