// Exchange: the state of one request's response, shared between the handler side (any thread:
// Responder, ResponseStream) and the connection that writes it (its strand). Handlers only queue
// bytes and wake the connection; nothing here blocks on the network.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/server/http_request.h"

namespace kiln::server::detail {

// Implemented by a connection so an exchange can ask it, from any thread, to write what is queued.
class ExchangeSink {
 public:
  virtual ~ExchangeSink() = default;
  virtual void Wake() = 0;  // posts to the connection's strand; never blocks
};

// Shared by a server and every exchange: once `closed` (the server is being destroyed) exchanges
// stop touching connections, whose I/O context may be gone. `stopping` turns keep-alive off.
struct ServerGate {
  std::shared_mutex mutex;  // shared by notifiers, exclusive to close
  bool closed = false;
  std::atomic<bool> stopping{false};
};

struct ExchangeConfig {
  std::string cors_allow_origin;
  std::size_t max_queue_bytes = 4 * 1024 * 1024;
  bool request_keep_alive = true;
  int request_version = 11;
};

class Exchange {
 public:
  Exchange(std::shared_ptr<ServerGate> gate, std::weak_ptr<ExchangeSink> sink,
           ExchangeConfig config);

  // Handler side (any thread). Each returns false when it had no effect.
  bool Send(int status, std::string_view content_type, std::string_view body,
            const std::vector<HttpHeader>& extra);
  bool StartStream(int status, std::string_view content_type, const std::vector<HttpHeader>& extra);
  bool Write(std::string_view chunk);
  bool WriteEvent(std::string_view data);
  void CloseStream();
  // Drops the connection without completing the response (a stream abandoned without Close).
  void Abort();
  void OnClientGone(std::function<void()> callback);
  bool ClientGone() const;
  bool Responded() const;
  bool StreamOpen() const;

  // Connection side (its strand).
  struct Output {
    std::string bytes;
    bool finished = false;  // nothing will follow these bytes
    bool abort = false;     // close the connection now, without writing
  };
  Output TakeOutput();
  void Written(std::size_t bytes);
  // The client is gone or the connection closed: fires the OnClientGone callbacks, once.
  void MarkGone();
  int status() const;
  std::size_t body_bytes() const;
  bool keep_alive() const;

 private:
  enum class State { kAwaiting, kStreaming, kFinal, kAborted, kGone };
  std::string Head(int status, std::string_view content_type, const std::vector<HttpHeader>& extra,
                   const std::string* length) const;
  void AppendLocked(std::string_view bytes);
  bool NeedsWakeLocked();
  void Notify();

  const std::shared_ptr<ServerGate> gate_;
  const std::weak_ptr<ExchangeSink> sink_;
  const ExchangeConfig config_;

  mutable std::mutex mutex_;
  State state_ = State::kAwaiting;
  std::string pending_;
  std::size_t unsent_bytes_ = 0;  // queued or being written
  bool wake_pending_ = false;
  bool chunked_ = true;
  bool keep_alive_ = true;
  bool gone_ = false;
  int status_ = 0;
  std::size_t body_bytes_ = 0;
  std::vector<std::function<void()>> gone_callbacks_;
};

}  // namespace kiln::server::detail
