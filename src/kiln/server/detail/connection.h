// Connection: one accepted TCP connection and the request/response exchanges on it, driven on
// its own strand; ServerContext: what every connection shares with the server that accepted it
// (options, routes, shutdown state, accounting).
#pragma once

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kiln/server/detail/exchange.h"
#include "kiln/server/http_server.h"
#include "kiln/server/metrics.h"
#include "kiln/server/request_reader.h"
#include "kiln/server/router.h"

namespace kiln::server::detail {

class Connection;

struct ServerContext {
  ServerContext(HttpServerOptions opts, Router r);

  const HttpServerOptions options;
  const Router router;
  const std::shared_ptr<ServerGate> gate = std::make_shared<ServerGate>();

  // Optional metrics (null when options.metrics is null).
  CounterFamily* requests_total = nullptr;
  HistogramFamily* request_duration = nullptr;
  Gauge* open_connections = nullptr;

  void Register(const std::shared_ptr<Connection>& connection);
  void Unregister(const Connection* connection);
  std::vector<std::shared_ptr<Connection>> Connections() const;
  void ExchangeStarted();
  void ExchangeEnded();
  // Waits until no exchange is in flight (or no connection is open); false on timeout.
  bool WaitForNoExchanges(std::chrono::milliseconds timeout);
  bool WaitForNoConnections(std::chrono::milliseconds timeout);
  std::size_t InFlight() const;
  std::size_t OpenConnections() const;

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::size_t in_flight_ = 0;
  std::map<const Connection*, std::weak_ptr<Connection>> connections_;
};

class Connection : public ExchangeSink, public std::enable_shared_from_this<Connection> {
 public:
  Connection(ServerContext& context, boost::asio::ip::tcp::socket socket);
  ~Connection() override;

  void Start();          // any thread
  void Wake() override;  // any thread
  // Any thread: no new requests on this connection; one in flight may finish.
  void BeginShutdown();
  void ForceClose();  // any thread

 private:
  enum class Phase { kReading, kResponding, kLingering, kClosed };

  void StartRead();
  void OnRead(const boost::system::error_code& ec, std::size_t bytes);
  void ProcessInput();
  void SendContinue();
  void BeginExchange(bool keep_alive, int version);
  void Dispatch(HttpRequest request);
  void Pump();
  void OnWritten(const boost::system::error_code& ec, std::size_t bytes);
  void FinishExchange(bool completed);
  void Linger();
  void Close();
  void ArmReadTimer(std::chrono::steady_clock::duration timeout);
  void ArmWriteTimer();

  ServerContext& context_;
  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer read_timer_;
  boost::asio::steady_timer write_timer_;
  std::uint64_t read_timer_generation_ = 0;
  std::uint64_t write_timer_generation_ = 0;
  RequestReader reader_;
  std::string input_;  // bytes read but not parsed yet
  std::array<char, 16 * 1024> read_chunk_;
  std::string write_buffer_;
  Phase phase_ = Phase::kReading;
  bool read_in_flight_ = false;
  bool write_in_flight_ = false;
  bool shutting_down_ = false;
  bool request_started_ = false;
  bool continue_sent_ = false;
  std::string remote_address_;

  std::shared_ptr<Exchange> exchange_;
  std::string method_;  // of the exchange in flight, for the access log
  std::string path_;
  std::string route_;
  std::chrono::steady_clock::time_point started_at_;
};

}  // namespace kiln::server::detail
