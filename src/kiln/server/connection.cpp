#include "kiln/server/detail/connection.h"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "kiln/base/log.h"
#include "kiln/server/openai_error.h"

namespace kiln::server::detail {

namespace net = boost::asio;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

namespace {

// While a response is being written we keep reading (to notice a client that disconnects), but
// buffer at most this much of a pipelined next request.
constexpr std::size_t kMaxPipelinedBytes = 64 * 1024;
// After an error response that closes the connection, keep draining the client's input for this
// long so the kernel does not reset the connection before the client has read the response.
constexpr std::chrono::milliseconds kLingerTime{2'000};

std::string JoinMethods(const std::vector<std::string>& methods, bool with_options) {
  std::string out;
  for (const std::string& m : methods) {
    if (!out.empty()) out += ", ";
    out += m;
  }
  if (with_options) out += out.empty() ? "OPTIONS" : ", OPTIONS";
  return out;
}

// Label values come from clients; keep the set of series bounded.
std::string MethodLabel(const std::string& method) {
  for (std::string_view known : {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"}) {
    if (method == known) return method;
  }
  return "other";
}

}  // namespace

// ---- ServerContext ----

ServerContext::ServerContext(HttpServerOptions opts, Router r)
    : options(std::move(opts)), router(std::move(r)) {
  if (options.metrics != nullptr) {
    requests_total = &options.metrics->AddCounter(
        "kiln_http_requests_total", "HTTP requests answered, by method, route and status.",
        {"method", "route", "status"});
    request_duration = &options.metrics->AddHistogram(
        "kiln_http_request_duration_seconds",
        "Time from a request's last byte to its response's last byte.", DefaultLatencyBuckets(),
        {"route"});
    open_connections =
        &options.metrics->AddGauge("kiln_http_open_connections", "Open HTTP connections.").Get();
  }
}

void ServerContext::Register(const std::shared_ptr<Connection>& connection) {
  std::lock_guard lock(mutex_);
  connections_[connection.get()] = connection;
  if (open_connections != nullptr) open_connections->Inc();
}

void ServerContext::Unregister(const Connection* connection) {
  std::lock_guard lock(mutex_);
  if (connections_.erase(connection) > 0 && open_connections != nullptr) open_connections->Dec();
  changed_.notify_all();
}

std::vector<std::shared_ptr<Connection>> ServerContext::Connections() const {
  std::lock_guard lock(mutex_);
  std::vector<std::shared_ptr<Connection>> out;
  for (const auto& [key, weak] : connections_) {
    if (auto c = weak.lock()) out.push_back(std::move(c));
  }
  return out;
}

void ServerContext::ExchangeStarted() {
  std::lock_guard lock(mutex_);
  ++in_flight_;
}

void ServerContext::ExchangeEnded() {
  std::lock_guard lock(mutex_);
  --in_flight_;
  changed_.notify_all();
}

bool ServerContext::WaitForNoExchanges(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return in_flight_ == 0; });
}

bool ServerContext::WaitForNoConnections(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return connections_.empty(); });
}

std::size_t ServerContext::InFlight() const {
  std::lock_guard lock(mutex_);
  return in_flight_;
}

std::size_t ServerContext::OpenConnections() const {
  std::lock_guard lock(mutex_);
  return connections_.size();
}

// ---- Connection ----

Connection::Connection(ServerContext& context, net::ip::tcp::socket socket)
    : context_(context),
      socket_(std::move(socket)),
      read_timer_(socket_.get_executor()),
      write_timer_(socket_.get_executor()),
      reader_(RequestLimits{context.options.max_header_bytes, context.options.max_body_bytes}) {
  error_code ec;
  auto endpoint = socket_.remote_endpoint(ec);
  if (!ec) remote_address_ = endpoint.address().to_string();
}

Connection::~Connection() {
  // Normally Close() ran already; this covers a connection dropped by a stopped I/O context.
  if (phase_ != Phase::kClosed) {
    if (exchange_ != nullptr) {
      exchange_->MarkGone();
      context_.ExchangeEnded();
    }
    context_.Unregister(this);
  }
}

void Connection::Start() {
  net::post(socket_.get_executor(), [self = shared_from_this()] {
    if (self->context_.gate->stopping.load()) {
      self->Close();
      return;
    }
    self->ProcessInput();
  });
}

void Connection::Wake() {
  net::post(socket_.get_executor(), [self = shared_from_this()] { self->Pump(); });
}

void Connection::BeginShutdown() {
  net::post(socket_.get_executor(), [self = shared_from_this()] {
    self->shutting_down_ = true;
    if (self->phase_ == Phase::kReading) self->Close();
  });
}

void Connection::ForceClose() {
  net::post(socket_.get_executor(), [self = shared_from_this()] { self->Close(); });
}

void Connection::ArmReadTimer(Clock::duration timeout) {
  std::uint64_t generation = ++read_timer_generation_;
  read_timer_.expires_after(timeout);
  read_timer_.async_wait([self = shared_from_this(), generation](const error_code& ec) {
    if (ec || generation != self->read_timer_generation_ || self->phase_ == Phase::kClosed) return;
    if (self->phase_ == Phase::kReading || self->phase_ == Phase::kLingering) {
      // Idle keep-alive timeout, a request that took too long to arrive, or the end of a linger.
      self->Close();
    }
  });
}

void Connection::ArmWriteTimer() {
  std::uint64_t generation = ++write_timer_generation_;
  write_timer_.expires_after(context_.options.write_timeout);
  write_timer_.async_wait([self = shared_from_this(), generation](const error_code& ec) {
    if (ec || generation != self->write_timer_generation_ || !self->write_in_flight_) return;
    self->Close();  // the client stopped reading
  });
}

void Connection::StartRead() {
  if (read_in_flight_ || phase_ == Phase::kClosed) return;
  if (phase_ == Phase::kResponding && input_.size() >= kMaxPipelinedBytes) return;
  read_in_flight_ = true;
  socket_.async_read_some(net::buffer(read_chunk_),
                          [self = shared_from_this()](const error_code& ec, std::size_t bytes) {
                            self->OnRead(ec, bytes);
                          });
}

void Connection::OnRead(const error_code& ec, std::size_t bytes) {
  read_in_flight_ = false;
  if (phase_ == Phase::kClosed) return;
  if (ec) {
    // End of stream or a reset: between requests that is a normal close; during a response it
    // means the client is gone (Close marks the exchange so its owner can cancel).
    Close();
    return;
  }
  if (phase_ == Phase::kLingering) {
    StartRead();  // discard
    return;
  }
  input_.append(read_chunk_.data(), bytes);
  if (phase_ == Phase::kReading) {
    ProcessInput();
  } else {
    StartRead();
  }
}

void Connection::ProcessInput() {
  if (phase_ != Phase::kReading) return;
  if (input_.empty()) {
    if (!request_started_) ArmReadTimer(context_.options.idle_timeout);
    StartRead();
    return;
  }
  if (!request_started_) {
    // The read timeout runs from a request's first byte to its last: a client trickling bytes
    // cannot hold the connection longer than that.
    request_started_ = true;
    ArmReadTimer(context_.options.read_timeout);
  }
  RequestReader::Result result = reader_.Feed(input_);
  input_.erase(0, result.consumed);
  switch (result.status) {
    case RequestReader::Status::kNeedMore:
      if (reader_.ExpectsContinue() && !continue_sent_) SendContinue();
      StartRead();
      return;
    case RequestReader::Status::kError: {
      method_ = "-";
      path_ = "-";
      route_ = "-";
      reader_.Reset();
      BeginExchange(/*keep_alive=*/false, 11);
      exchange_->Send(result.http_status, "application/json",
                      OpenAiErrorBody(result.error, ErrorTypeForStatus(result.http_status)), {});
      return;
    }
    case RequestReader::Status::kComplete: {
      bool keep_alive = false;
      HttpRequest request = reader_.TakeRequest(&keep_alive);
      continue_sent_ = false;
      method_ = request.method;
      path_ = request.path;
      route_.clear();
      BeginExchange(keep_alive, request.version);
      Dispatch(std::move(request));
      return;
    }
  }
}

void Connection::SendContinue() {
  static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
  continue_sent_ = true;
  if (write_in_flight_) return;
  write_in_flight_ = true;
  ArmWriteTimer();
  net::async_write(socket_, net::buffer(kContinue.data(), kContinue.size()),
                   [self = shared_from_this()](const error_code& ec, std::size_t) {
                     self->write_in_flight_ = false;
                     ++self->write_timer_generation_;
                     self->write_timer_.cancel();
                     if (self->phase_ == Phase::kClosed) return;
                     if (ec) {
                       self->Close();
                       return;
                     }
                     self->Pump();
                   });
}

void Connection::BeginExchange(bool keep_alive, int version) {
  phase_ = Phase::kResponding;
  request_started_ = false;
  ++read_timer_generation_;
  read_timer_.cancel();
  ExchangeConfig config;
  config.cors_allow_origin = context_.options.cors_allow_origin;
  config.max_queue_bytes = context_.options.max_stream_queue_bytes;
  config.request_keep_alive = keep_alive && !shutting_down_;
  config.request_version = version;
  exchange_ = std::make_shared<Exchange>(context_.gate, weak_from_this(), std::move(config));
  started_at_ = Clock::now();
  context_.ExchangeStarted();
  StartRead();  // notices a client that disconnects while we work on its request
}

void Connection::Dispatch(HttpRequest request) {
  request.remote_address = remote_address_;
  Responder responder(exchange_);
  Router::Match match = context_.router.Find(request.method, request.path);
  const bool cors = !context_.options.cors_allow_origin.empty();
  if (match.kind != Router::Match::Kind::kFound) route_ = std::string(match.pattern);
  if (cors && request.method == "OPTIONS" && match.kind == Router::Match::Kind::kMethodNotAllowed) {
    // A CORS preflight: say which methods and headers the browser may use.
    std::string allow_headers(
        request.HeaderOr("Access-Control-Request-Headers", "Authorization, Content-Type"));
    responder.Send(204, "", "",
                   {{"Access-Control-Allow-Methods", JoinMethods(match.allowed_methods, true)},
                    {"Access-Control-Allow-Headers", allow_headers},
                    {"Access-Control-Max-Age", "86400"}});
    return;
  }
  switch (match.kind) {
    case Router::Match::Kind::kBadPath:
      responder.SendError(400, "Invalid URL: malformed percent-encoding in the path");
      return;
    case Router::Match::Kind::kNotFound:
      responder.SendError(404, "Invalid URL (" + request.method + " " + request.path + ")");
      return;
    case Router::Match::Kind::kMethodNotAllowed:
      responder.SendError(405, "Method " + request.method + " is not allowed for " + request.path,
                          "invalid_request_error", std::nullopt, std::nullopt,
                          {{"Allow", JoinMethods(match.allowed_methods, cors)}});
      return;
    case Router::Match::Kind::kFound:
      break;
  }
  route_ = std::string(match.pattern);
  request.route = route_;
  request.path_params = std::move(match.params);
  try {
    (*match.handler)(request, responder);
  } catch (const std::exception& e) {
    log::Error("http handler failed",
               {{"method", method_}, {"route", route_}, {"error", e.what()}});
    if (!responder.Responded()) responder.SendError(500, "Internal server error");
  }
}

void Connection::Pump() {
  if (phase_ == Phase::kClosed || exchange_ == nullptr || write_in_flight_) return;
  Exchange::Output out = exchange_->TakeOutput();
  if (out.abort) {
    Close();
    return;
  }
  if (out.bytes.empty()) {
    if (out.finished) FinishExchange(true);
    return;
  }
  write_buffer_ = std::move(out.bytes);
  write_in_flight_ = true;
  ArmWriteTimer();
  net::async_write(socket_, net::buffer(write_buffer_),
                   [self = shared_from_this()](const error_code& ec, std::size_t bytes) {
                     self->OnWritten(ec, bytes);
                   });
}

void Connection::OnWritten(const error_code& ec, std::size_t bytes) {
  write_in_flight_ = false;
  ++write_timer_generation_;
  write_timer_.cancel();
  if (phase_ == Phase::kClosed) return;
  if (ec) {
    Close();
    return;
  }
  if (exchange_ != nullptr) exchange_->Written(bytes);
  Pump();
}

void Connection::FinishExchange(bool completed) {
  auto seconds = std::chrono::duration<double>(Clock::now() - started_at_).count();
  int status = exchange_->status();
  if (context_.options.access_log) {
    log::Info("http request", {{"method", method_},
                               {"path", path_},
                               {"status", status},
                               {"bytes", exchange_->body_bytes()},
                               {"ms", fmt::format("{:.1f}", seconds * 1000)},
                               {"remote", remote_address_},
                               {"outcome", completed ? "complete" : "client_gone"}});
  }
  if (context_.requests_total != nullptr) {
    std::string route = route_.empty() ? "unmatched" : route_;
    context_.requests_total->Labels({MethodLabel(method_), route, std::to_string(status)}).Inc();
    context_.request_duration->Labels({route}).Observe(seconds);
  }
  bool keep_alive =
      completed && exchange_->keep_alive() && !shutting_down_ && !context_.gate->stopping.load();
  exchange_.reset();
  context_.ExchangeEnded();
  if (!completed) return;
  if (!keep_alive) {
    Linger();
    return;
  }
  phase_ = Phase::kReading;
  ProcessInput();
}

void Connection::Linger() {
  phase_ = Phase::kLingering;
  error_code ignored;
  socket_.shutdown(net::ip::tcp::socket::shutdown_send, ignored);
  input_.clear();
  ArmReadTimer(std::min<Clock::duration>(kLingerTime, context_.options.read_timeout));
  StartRead();
}

void Connection::Close() {
  if (phase_ == Phase::kClosed) return;
  if (exchange_ != nullptr) {
    exchange_->MarkGone();
    FinishExchange(false);
  }
  phase_ = Phase::kClosed;
  error_code ignored;
  socket_.shutdown(net::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  read_timer_.cancel();
  write_timer_.cancel();
  context_.Unregister(this);
}

}  // namespace kiln::server::detail
