// Responder and ResponseStream: how a handler answers a request. Both are cheap, copyable handles
// that may be used from ANY thread and never block: output is queued and written by the
// connection's I/O thread. A responder answers once, either with a complete response or by
// starting a chunked stream (optionally Server-Sent Events).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/server/http_request.h"

namespace kiln::server {

namespace detail {
class Exchange;
class StreamOwner;
class ResponderOwner;
}  // namespace detail

// The body of a streaming (chunked) response. Write and Close never block on the client: bytes
// are queued for the connection. When the client disconnects, or reads so slowly that the queue
// exceeds its bound, the stream fails: OnClientGone callbacks fire (on an I/O thread, so they must
// be quick and must not block) and later writes are harmless no-ops that return false.
// When the last copy of an unclosed stream is dropped, the connection is aborted so the client
// sees a truncated response rather than a falsely complete one.
class ResponseStream {
 public:
  ResponseStream() = default;  // a stream that is already closed

  // Queues one chunk of the body; false when the stream is no longer open.
  bool Write(std::string_view chunk);
  // Queues one Server-Sent Event: "data: <line>\n" for each line of `data`, then "\n".
  bool WriteEvent(std::string_view data);
  // Ends the body (the terminal chunk). Idempotent.
  void Close();
  // Calls `callback` once when the client is gone (disconnect, too slow, server shutdown closing
  // the connection); immediately, on the calling thread, if it already is.
  void OnClientGone(std::function<void()> callback);
  // False after Close, or once the client is gone.
  bool IsOpen() const;

 private:
  friend class Responder;
  explicit ResponseStream(std::shared_ptr<detail::StreamOwner> owner) : owner_(std::move(owner)) {}
  std::shared_ptr<detail::StreamOwner> owner_;
};

// Answers one request. The first Send/SendError/StartStream wins; later calls return false (or a
// closed stream). If every copy is dropped without an answer, the server answers 500.
class Responder {
 public:
  explicit Responder(std::shared_ptr<detail::Exchange> exchange);

  bool Send(int status, std::string_view content_type, std::string body,
            std::vector<HttpHeader> extra_headers = {});
  bool SendJson(int status, std::string body, std::vector<HttpHeader> extra_headers = {});
  // An error in OpenAI's schema; `type` defaults to ErrorTypeForStatus(status).
  bool SendError(int status, std::string_view message, std::string_view type = {},
                 std::optional<std::string_view> param = std::nullopt,
                 std::optional<std::string_view> code = std::nullopt,
                 std::vector<HttpHeader> extra_headers = {});
  // Sends the status line and headers with chunked transfer encoding; the body follows through
  // the returned stream.
  ResponseStream StartStream(int status, std::string_view content_type,
                             std::vector<HttpHeader> extra_headers = {});
  // A 200 text/event-stream response (Cache-Control: no-cache) for ResponseStream::WriteEvent.
  ResponseStream StartEventStream(std::vector<HttpHeader> extra_headers = {});

  // As ResponseStream::OnClientGone; lets a non-streaming handler that answers later (from
  // another thread) cancel its work when the client goes away.
  void OnClientGone(std::function<void()> callback);
  bool ClientGone() const;
  bool Responded() const;

 private:
  std::shared_ptr<detail::ResponderOwner> owner_;
};

}  // namespace kiln::server
