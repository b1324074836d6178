#include "kiln/server/responder.h"

#include <fmt/format.h>

#include <shared_mutex>

#include "kiln/base/error.h"
#include "kiln/base/log.h"
#include "kiln/server/detail/exchange.h"
#include "kiln/server/openai_error.h"

namespace kiln::server {
namespace detail {
namespace {

std::string_view Reason(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Content";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Status";
  }
}

bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// Handlers build headers from request data; refuse anything that could split the response.
void CheckHeader(std::string_view name, std::string_view value) {
  bool ok = !name.empty();
  for (char c : name) ok = ok && IsTokenChar(c);
  for (char c : value) ok = ok && c != '\r' && c != '\n' && c != '\0';
  if (!ok) Fail("invalid response header '{}'", name);
}

bool NoBodyStatus(int status) {
  return status == 204 || status == 304 || status < 200;
}

}  // namespace

Exchange::Exchange(std::shared_ptr<ServerGate> gate, std::weak_ptr<ExchangeSink> sink,
                   ExchangeConfig config)
    : gate_(std::move(gate)), sink_(std::move(sink)), config_(std::move(config)) {}

std::string Exchange::Head(int status, std::string_view content_type,
                           const std::vector<HttpHeader>& extra, const std::string* length) const {
  if (status < 200 || status > 999) Fail("invalid HTTP status {}", status);
  for (const HttpHeader& h : extra) CheckHeader(h.name, h.value);
  CheckHeader("Content-Type", content_type);
  std::string head = fmt::format("HTTP/1.1 {} {}\r\n", status, Reason(status));
  if (!NoBodyStatus(status)) {
    if (!content_type.empty()) head += fmt::format("Content-Type: {}\r\n", content_type);
    if (length != nullptr) {
      head += fmt::format("Content-Length: {}\r\n", *length);
    } else if (chunked_) {
      head += "Transfer-Encoding: chunked\r\n";
    }
  }
  if (!keep_alive_) {
    head += "Connection: close\r\n";
  } else if (config_.request_version == 10) {
    head += "Connection: keep-alive\r\n";
  }
  if (!config_.cors_allow_origin.empty()) {
    head += fmt::format("Access-Control-Allow-Origin: {}\r\n", config_.cors_allow_origin);
    if (config_.cors_allow_origin != "*") head += "Vary: Origin\r\n";
  }
  for (const HttpHeader& h : extra) head += fmt::format("{}: {}\r\n", h.name, h.value);
  head += "\r\n";
  return head;
}

bool Exchange::Send(int status, std::string_view content_type, std::string_view body,
                    const std::vector<HttpHeader>& extra) {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (state_ != State::kAwaiting) return false;
    keep_alive_ = config_.request_keep_alive && !gate_->stopping.load();
    if (NoBodyStatus(status)) body = {};
    std::string length = std::to_string(body.size());
    std::string head = Head(status, content_type, extra, &length);
    status_ = status;
    body_bytes_ = body.size();
    state_ = State::kFinal;
    AppendLocked(head);
    AppendLocked(body);
    wake = NeedsWakeLocked();
  }
  if (wake) Notify();
  return true;
}

bool Exchange::StartStream(int status, std::string_view content_type,
                           const std::vector<HttpHeader>& extra) {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (state_ != State::kAwaiting) return false;
    // HTTP/1.0 has no chunked encoding: the body ends when the connection closes.
    chunked_ = config_.request_version >= 11;
    keep_alive_ = chunked_ && config_.request_keep_alive && !gate_->stopping.load();
    std::string head = Head(status, content_type, extra, nullptr);
    status_ = status;
    state_ = State::kStreaming;
    AppendLocked(head);
    wake = NeedsWakeLocked();
  }
  if (wake) Notify();
  return true;
}

void Exchange::AppendLocked(std::string_view bytes) {
  pending_.append(bytes);
  unsent_bytes_ += bytes.size();
}

bool Exchange::NeedsWakeLocked() {
  // One wake-up per batch: the connection takes everything queued when it runs.
  bool wake = !wake_pending_;
  wake_pending_ = true;
  return wake;
}

bool Exchange::Write(std::string_view chunk) {
  if (chunk.empty()) return StreamOpen();  // an empty chunk would end a chunked body
  bool wake = false;
  bool open = true;
  {
    std::lock_guard lock(mutex_);
    if (state_ != State::kStreaming) return false;
    if (unsent_bytes_ + chunk.size() > config_.max_queue_bytes) {
      // The client reads too slowly: fail the stream rather than buffer without bound.
      state_ = State::kAborted;
      open = false;
    } else {
      if (chunked_) {
        AppendLocked(fmt::format("{:x}\r\n", chunk.size()));
        AppendLocked(chunk);
        AppendLocked("\r\n");
      } else {
        AppendLocked(chunk);
      }
      body_bytes_ += chunk.size();
    }
    wake = NeedsWakeLocked();
  }
  if (wake) Notify();
  return open;
}

bool Exchange::WriteEvent(std::string_view data) {
  std::string event;
  event.reserve(data.size() + 8);
  std::size_t start = 0;
  while (true) {
    std::size_t nl = data.find('\n', start);
    event += "data: ";
    event.append(data.substr(start, nl == std::string_view::npos ? nl : nl - start));
    event += '\n';
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  event += '\n';
  return Write(event);
}

void Exchange::CloseStream() {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (state_ != State::kStreaming) return;
    state_ = State::kFinal;
    if (chunked_) AppendLocked("0\r\n\r\n");
    wake = NeedsWakeLocked();
  }
  if (wake) Notify();
}

void Exchange::Abort() {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (state_ != State::kAwaiting && state_ != State::kStreaming) return;
    state_ = State::kAborted;
    wake = NeedsWakeLocked();
  }
  if (wake) Notify();
}

void Exchange::Notify() {
  // The gate keeps the server's I/O context alive while we post to it. The sink is released
  // under the gate too, so a connection is never destroyed after its I/O context.
  std::shared_lock gate_lock(gate_->mutex);
  if (gate_->closed) return;
  if (auto sink = sink_.lock()) sink->Wake();
}

void Exchange::OnClientGone(std::function<void()> callback) {
  {
    std::lock_guard lock(mutex_);
    if (!gone_) {
      gone_callbacks_.push_back(std::move(callback));
      return;
    }
  }
  callback();
}

bool Exchange::ClientGone() const {
  std::lock_guard lock(mutex_);
  return gone_;
}

bool Exchange::Responded() const {
  std::lock_guard lock(mutex_);
  return state_ != State::kAwaiting;
}

bool Exchange::StreamOpen() const {
  std::lock_guard lock(mutex_);
  return state_ == State::kStreaming;
}

Exchange::Output Exchange::TakeOutput() {
  std::lock_guard lock(mutex_);
  Output out;
  out.bytes.swap(pending_);
  wake_pending_ = false;
  out.finished = state_ == State::kFinal;
  out.abort = state_ == State::kAborted || state_ == State::kGone;
  return out;
}

void Exchange::Written(std::size_t bytes) {
  std::lock_guard lock(mutex_);
  unsent_bytes_ -= std::min(bytes, unsent_bytes_);
}

void Exchange::MarkGone() {
  std::vector<std::function<void()>> callbacks;
  {
    std::lock_guard lock(mutex_);
    if (gone_) return;
    gone_ = true;
    if (state_ != State::kFinal) state_ = State::kGone;
    pending_.clear();
    callbacks.swap(gone_callbacks_);
  }
  for (auto& callback : callbacks) {
    try {
      callback();
    } catch (const std::exception& e) {
      log::Error("OnClientGone callback threw", {{"error", e.what()}});
    }
  }
}

int Exchange::status() const {
  std::lock_guard lock(mutex_);
  return status_;
}

std::size_t Exchange::body_bytes() const {
  std::lock_guard lock(mutex_);
  return body_bytes_;
}

bool Exchange::keep_alive() const {
  std::lock_guard lock(mutex_);
  return keep_alive_;
}

// Owned by every copy of a Responder: answers 500 when the last copy goes without an answer.
class ResponderOwner {
 public:
  explicit ResponderOwner(std::shared_ptr<Exchange> exchange) : exchange_(std::move(exchange)) {}
  ~ResponderOwner() {
    if (exchange_->Responded()) return;
    try {
      std::string body = OpenAiErrorBody("The server did not produce a response", "server_error");
      exchange_->Send(500, "application/json", body, {});
    } catch (...) {
      exchange_->Abort();
    }
  }
  Exchange& exchange() { return *exchange_; }
  const std::shared_ptr<Exchange>& shared() const { return exchange_; }

 private:
  std::shared_ptr<Exchange> exchange_;
};

// Owned by every copy of a ResponseStream: aborts the connection when the last copy goes while
// the stream is still open.
class StreamOwner {
 public:
  explicit StreamOwner(std::shared_ptr<Exchange> exchange) : exchange_(std::move(exchange)) {}
  ~StreamOwner() { exchange_->Abort(); }
  Exchange& exchange() { return *exchange_; }

 private:
  std::shared_ptr<Exchange> exchange_;
};

}  // namespace detail

bool ResponseStream::Write(std::string_view chunk) {
  return owner_ != nullptr && owner_->exchange().Write(chunk);
}
bool ResponseStream::WriteEvent(std::string_view data) {
  return owner_ != nullptr && owner_->exchange().WriteEvent(data);
}
void ResponseStream::Close() {
  if (owner_ != nullptr) owner_->exchange().CloseStream();
}
void ResponseStream::OnClientGone(std::function<void()> callback) {
  if (owner_ == nullptr) {
    callback();
    return;
  }
  owner_->exchange().OnClientGone(std::move(callback));
}
bool ResponseStream::IsOpen() const {
  return owner_ != nullptr && owner_->exchange().StreamOpen();
}

Responder::Responder(std::shared_ptr<detail::Exchange> exchange)
    : owner_(std::make_shared<detail::ResponderOwner>(std::move(exchange))) {}

bool Responder::Send(int status, std::string_view content_type, std::string body,
                     std::vector<HttpHeader> extra_headers) {
  return owner_->exchange().Send(status, content_type, body, extra_headers);
}

bool Responder::SendJson(int status, std::string body, std::vector<HttpHeader> extra_headers) {
  return Send(status, "application/json", std::move(body), std::move(extra_headers));
}

bool Responder::SendError(int status, std::string_view message, std::string_view type,
                          std::optional<std::string_view> param,
                          std::optional<std::string_view> code,
                          std::vector<HttpHeader> extra_headers) {
  if (type.empty()) type = ErrorTypeForStatus(status);
  return SendJson(status, OpenAiErrorBody(message, type, param, code), std::move(extra_headers));
}

ResponseStream Responder::StartStream(int status, std::string_view content_type,
                                      std::vector<HttpHeader> extra_headers) {
  // Shares the exchange: owner_ holds it too, so the exchange outlives both handles.
  auto& exchange = owner_->exchange();
  if (!exchange.StartStream(status, content_type, extra_headers)) return ResponseStream();
  return ResponseStream(std::make_shared<detail::StreamOwner>(owner_->shared()));
}

ResponseStream Responder::StartEventStream(std::vector<HttpHeader> extra_headers) {
  extra_headers.push_back({"Cache-Control", "no-cache"});
  extra_headers.push_back({"X-Accel-Buffering", "no"});
  return StartStream(200, "text/event-stream", std::move(extra_headers));
}

void Responder::OnClientGone(std::function<void()> callback) {
  owner_->exchange().OnClientGone(std::move(callback));
}
bool Responder::ClientGone() const {
  return owner_->exchange().ClientGone();
}
bool Responder::Responded() const {
  return owner_->exchange().Responded();
}

}  // namespace kiln::server
