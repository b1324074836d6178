#include "kiln/server/http_server.h"

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <csignal>
#include <thread>

#include "kiln/base/error.h"
#include "kiln/base/log.h"
#include "kiln/server/detail/connection.h"

namespace kiln::server {

namespace net = boost::asio;
using boost::system::error_code;
using tcp = net::ip::tcp;

class HttpServer::Impl {
 public:
  Impl(HttpServerOptions options, Router router)
      : context_(std::move(options), std::move(router)),
        acceptor_(net::make_strand(io_)),
        accept_retry_(acceptor_.get_executor()) {}

  ~Impl() { Stop(std::chrono::milliseconds(0)); }

  void Start() {
    std::lock_guard lock(state_mutex_);
    if (started_) Fail("the HTTP server was already started");
    const HttpServerOptions& o = context_.options;
    if (o.io_threads < 1) Fail("the HTTP server needs at least one I/O thread");
    tcp::resolver resolver(io_);
    error_code ec;
    auto endpoints =
        resolver.resolve(o.host, std::to_string(o.port), tcp::resolver::numeric_service, ec);
    if (ec || endpoints.empty()) Fail("cannot resolve '{}': {}", o.host, ec.message());
    tcp::endpoint endpoint = endpoints.begin()->endpoint();
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      Fail("cannot listen on {}:{}: {} (is another server using the port?)", o.host, o.port,
           ec.message());
    }
    port_ = acceptor_.local_endpoint().port();
    started_ = true;
    DoAccept();
    for (int i = 0; i < o.io_threads; ++i) {
      threads_.emplace_back([this] { RunLoop(); });
      thread_ids_.push_back(threads_.back().get_id());
    }
    log::Info("http server listening", {{"host", o.host}, {"port", port_}});
  }

  uint16_t port() const { return port_; }

  void SetShutdownHook(std::function<void()> hook) {
    std::lock_guard lock(state_mutex_);
    hook_ = std::move(hook);
  }

  void Stop(std::chrono::milliseconds grace) {
    {
      // Checked before waiting for another Stop: an I/O thread blocked here would deadlock it.
      std::lock_guard lock(state_mutex_);
      if (std::find(thread_ids_.begin(), thread_ids_.end(), std::this_thread::get_id()) !=
          thread_ids_.end()) {
        Fail("HttpServer::Stop cannot run on one of the server's own I/O threads");
      }
    }
    std::unique_lock stop_lock(stop_mutex_);  // one Stop at a time; later ones find it done
    std::function<void()> hook;
    {
      std::lock_guard lock(state_mutex_);
      if (stopped_) return;
      hook = hook_;
      if (!started_) {
        MarkStoppedLocked();
        return;
      }
    }
    auto began = std::chrono::steady_clock::now();
    context_.gate->stopping.store(true);
    net::post(acceptor_.get_executor(), [this] {
      error_code ignored;
      acceptor_.close(ignored);
      accept_retry_.cancel();
    });
    for (const auto& connection : context_.Connections()) connection->BeginShutdown();
    bool drained = context_.WaitForNoExchanges(grace);
    if (!drained) {
      log::Warn("http server: requests still running after the grace period; cancelling",
                {{"in_flight", context_.InFlight()}});
      if (hook) hook();
      drained = context_.WaitForNoExchanges(context_.options.shutdown_drain);
    }
    for (const auto& connection : context_.Connections()) connection->ForceClose();
    context_.WaitForNoConnections(std::chrono::milliseconds(2'000));
    work_.reset();
    io_.stop();
    for (std::thread& t : threads_) t.join();
    {
      // From now on exchanges held elsewhere no longer touch connections or the I/O context.
      std::unique_lock gate_lock(context_.gate->mutex);
      context_.gate->closed = true;
    }
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - began)
                  .count();
    log::Info("http server stopped", {{"ms", ms}, {"drained", drained}});
    std::lock_guard lock(state_mutex_);
    MarkStoppedLocked();
  }

  void Wait() {
    std::unique_lock lock(state_mutex_);
    stopped_cv_.wait(lock, [&] { return stopped_; });
  }

  bool Stopped() const {
    std::lock_guard lock(state_mutex_);
    return stopped_;
  }

  std::size_t OpenConnections() const { return context_.OpenConnections(); }
  std::size_t InFlight() const { return context_.InFlight(); }

 private:
  void MarkStoppedLocked() {
    stopped_ = true;
    stopped_cv_.notify_all();
  }

  void RunLoop() {
    while (true) {
      try {
        io_.run();
        return;
      } catch (const std::exception& e) {
        // A bug in a handler must not take the whole server down.
        log::Error("http server: exception on an I/O thread", {{"error", e.what()}});
      }
    }
  }

  void DoAccept() {
    acceptor_.async_accept(net::make_strand(io_), [this](const error_code& ec, tcp::socket socket) {
      if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
      if (ec) {
        // Typically out of file descriptors: back off instead of spinning.
        log::Warn("http server: accept failed", {{"error", ec.message()}});
        accept_retry_.expires_after(std::chrono::milliseconds(50));
        accept_retry_.async_wait([this](const error_code& wait_ec) {
          if (!wait_ec && acceptor_.is_open()) DoAccept();
        });
        return;
      }
      if (context_.gate->stopping.load()) return;  // the socket closes as it goes out of scope
      error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      auto connection = std::make_shared<detail::Connection>(context_, std::move(socket));
      context_.Register(connection);
      connection->Start();
      DoAccept();
    });
  }

  // Declared first so it is destroyed last: connections that die with the I/O context use it.
  detail::ServerContext context_;
  net::io_context io_;
  net::executor_work_guard<net::io_context::executor_type> work_ = net::make_work_guard(io_);
  tcp::acceptor acceptor_;
  net::steady_timer accept_retry_;
  std::vector<std::thread> threads_;
  std::vector<std::thread::id> thread_ids_;
  uint16_t port_ = 0;

  std::mutex stop_mutex_;
  mutable std::mutex state_mutex_;
  std::condition_variable stopped_cv_;
  bool started_ = false;
  bool stopped_ = false;
  std::function<void()> hook_;
};

HttpServer::HttpServer(HttpServerOptions options, Router router)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(router))) {}
HttpServer::~HttpServer() = default;
void HttpServer::Start() {
  impl_->Start();
}
uint16_t HttpServer::port() const {
  return impl_->port();
}
void HttpServer::SetShutdownHook(std::function<void()> hook) {
  impl_->SetShutdownHook(std::move(hook));
}
void HttpServer::Stop(std::chrono::milliseconds grace) {
  impl_->Stop(grace);
}
void HttpServer::Wait() {
  impl_->Wait();
}
bool HttpServer::Stopped() const {
  return impl_->Stopped();
}
std::size_t HttpServer::OpenConnections() const {
  return impl_->OpenConnections();
}
std::size_t HttpServer::InFlightRequests() const {
  return impl_->InFlight();
}

int StopOnSignal(HttpServer& server, std::chrono::milliseconds grace) {
  net::io_context io;
  net::signal_set signals(io, SIGINT, SIGTERM);
  int received = 0;
  signals.async_wait([&](const error_code& ec, int signal_number) {
    if (!ec) received = signal_number;
  });
  while (received == 0 && !server.Stopped()) io.run_for(std::chrono::milliseconds(100));
  if (received != 0) {
    log::Info("shutting down", {{"signal", received == SIGTERM ? "SIGTERM" : "SIGINT"}});
    server.Stop(grace);
  }
  return received;
}

}  // namespace kiln::server
