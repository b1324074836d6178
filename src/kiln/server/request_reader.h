// RequestReader: incremental HTTP/1.1 request parsing with Kiln's limits. The server feeds it the
// bytes it reads and the fuzz target feeds it arbitrary bytes, so both exercise the same path
// (Boost.Beast's parser, hidden behind this header).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "kiln/server/http_request.h"

namespace kiln::server {

struct RequestLimits {
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 8 * 1024 * 1024;
};

class RequestReader {
 public:
  explicit RequestReader(RequestLimits limits);
  ~RequestReader();
  RequestReader(const RequestReader&) = delete;
  RequestReader& operator=(const RequestReader&) = delete;

  enum class Status { kNeedMore, kComplete, kError };
  struct Result {
    Status status = Status::kNeedMore;
    std::size_t consumed = 0;  // bytes of the input the parser used; keep the rest
    int http_status = 0;       // on kError: 400, 413 or 431
    std::string error;         // on kError: what was wrong, for the client
  };
  // Parses as much of `data` as it can. Unconsumed bytes (an incomplete header, or the start of
  // the next pipelined request) must be passed again, with more appended, on the next call.
  Result Feed(std::string_view data);

  bool HeaderDone() const;
  // True once the header is complete and asks for "Expect: 100-continue".
  bool ExpectsContinue() const;
  // After kComplete: the request (path and query split out) and whether the client wants the
  // connection kept alive. Resets the reader for the next request.
  HttpRequest TakeRequest(bool* keep_alive);
  void Reset();

 private:
  struct Impl;
  RequestLimits limits_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kiln::server
