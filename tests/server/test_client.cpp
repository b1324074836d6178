#include "server/test_client.h"

// GCC 12 with sanitizers reports a false "may be used uninitialized" inside Beast's parser.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <functional>
#include <stdexcept>

namespace kiln::server::testing {

namespace net = boost::asio;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;

namespace {
char Lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}
bool SameName(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}
}  // namespace

std::string TestResponse::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (SameName(k, name)) return v;
  }
  return {};
}

bool TestResponse::HasHeader(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (SameName(k, name)) return true;
  }
  return false;
}

struct TestClient::Impl {
  net::io_context io;
  tcp::socket socket{io};
  boost::beast::flat_buffer buffer;
  std::optional<http::response_parser<http::string_body>> parser;
  std::string piece;  // filled by the chunk callback
  // Beast keeps a reference to the callback, so it lives here, beside the parser.
  std::function<std::size_t(std::uint64_t, boost::beast::string_view, boost::system::error_code&)>
      on_chunk = [this](std::uint64_t, boost::beast::string_view data,
                        boost::system::error_code&) -> std::size_t {
    piece.append(data.data(), data.size());
    return data.size();
  };
};

TestClient::TestClient(uint16_t port, int receive_buffer_bytes) : impl_(std::make_unique<Impl>()) {
  impl_->socket.open(tcp::v4());
  if (receive_buffer_bytes > 0) {
    impl_->socket.set_option(net::socket_base::receive_buffer_size(receive_buffer_bytes));
  }
  impl_->socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  SetReadTimeout(std::chrono::seconds(10));
}

TestClient::~TestClient() = default;

void TestClient::SetReadTimeout(std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  setsockopt(impl_->socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

void TestClient::SendRaw(std::string_view bytes) {
  net::write(impl_->socket, net::buffer(bytes.data(), bytes.size()));
}

void TestClient::SendRequest(std::string_view method, std::string_view target,
                             std::vector<std::pair<std::string, std::string>> headers,
                             std::string body) {
  http::request<http::string_body> request;
  request.method_string(boost::beast::string_view(method.data(), method.size()));
  request.target(boost::beast::string_view(target.data(), target.size()));
  request.version(11);
  request.set(http::field::host, "127.0.0.1");
  for (const auto& [k, v] : headers) request.set(k, v);
  request.body() = std::move(body);
  if (!request.body().empty() || method == "POST") request.prepare_payload();
  http::write(impl_->socket, request);
}

TestResponse TestClient::ReadHeader() {
  impl_->parser.emplace();
  impl_->parser->body_limit(1ULL << 32);
  impl_->piece.clear();
  impl_->parser->on_chunk_body(impl_->on_chunk);
  http::read_header(impl_->socket, impl_->buffer, *impl_->parser);
  const auto& message = impl_->parser->get();
  TestResponse response;
  response.status = static_cast<int>(message.result_int());
  for (const auto& field : message) {
    response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  response.keep_alive = message.keep_alive();
  response.chunked = message.chunked();
  return response;
}

std::optional<std::string> TestClient::ReadBodyPiece() {
  auto& parser = *impl_->parser;
  while (impl_->piece.empty()) {
    if (parser.is_done()) {
      // A body that is not chunked lands in the message body instead of the callback.
      if (!parser.get().body().empty()) {
        std::string rest = std::move(parser.get().body());
        parser.get().body().clear();
        return rest;
      }
      return std::nullopt;
    }
    http::read_some(impl_->socket, impl_->buffer, parser);
  }
  std::string out = std::move(impl_->piece);
  impl_->piece.clear();
  return out;
}

std::string TestClient::ReadRestOfBody() {
  std::string body;
  while (auto piece = ReadBodyPiece()) body += *piece;
  return body;
}

TestResponse TestClient::ReadResponse() {
  TestResponse response = ReadHeader();
  response.body = ReadRestOfBody();
  return response;
}

TestResponse TestClient::Request(std::string_view method, std::string_view target,
                                 std::vector<std::pair<std::string, std::string>> headers,
                                 std::string body) {
  SendRequest(method, target, std::move(headers), std::move(body));
  return ReadResponse();
}

bool TestClient::WaitForClose(std::chrono::milliseconds timeout) {
  SetReadTimeout(timeout);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  impl_->buffer.clear();
  char data[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    boost::system::error_code ec;
    impl_->socket.read_some(net::buffer(data), ec);
    if (ec == net::error::eof || ec == net::error::connection_reset) return true;
    if (ec == net::error::would_block || ec == net::error::try_again) return false;
    if (ec) return true;
  }
  return false;
}

void TestClient::Close() {
  boost::system::error_code ignored;
  impl_->socket.shutdown(tcp::socket::shutdown_both, ignored);
  impl_->socket.close(ignored);
}

}  // namespace kiln::server::testing
