#include "kiln/loadgen/http_client.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <limits>
#include <optional>

#include "kiln/base/error.h"
#include "kiln/loadgen/sse_parser.h"

namespace kiln::loadgen {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

http::request<http::string_body> MakePost(const ServerUrl& url, std::string_view path,
                                          const std::string& body, const std::string& api_key,
                                          bool stream) {
  http::request<http::string_body> req{http::verb::post, url.prefix + std::string(path), 11};
  req.set(http::field::host, url.host + ":" + url.port);
  req.set(http::field::user_agent, "kiln-bench");
  req.set(http::field::content_type, "application/json");
  req.set(http::field::accept, stream ? "text/event-stream" : "application/json");
  req.set(http::field::connection, "close");
  if (!api_key.empty()) req.set(http::field::authorization, "Bearer " + api_key);
  req.body() = body;
  req.prepare_payload();
  return req;
}

double Seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

std::string Describe(const beast::error_code& ec) {
  if (ec == beast::error::timeout) return "timed out";
  return ec.message();
}

}  // namespace

ServerUrl ParseServerUrl(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    Fail(
        "server URL '{}' must start with http:// (https is not supported; put a TLS proxy in "
        "front or use plain http on a trusted network)",
        url);
  }
  std::string_view rest = url.substr(kScheme.size());
  ServerUrl out;
  const std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) out.prefix = std::string(rest.substr(slash));
  while (!out.prefix.empty() && out.prefix.back() == '/') out.prefix.pop_back();
  const std::size_t colon = authority.rfind(':');
  if (colon != std::string_view::npos && authority.find(']') == std::string_view::npos) {
    out.host = std::string(authority.substr(0, colon));
    out.port = std::string(authority.substr(colon + 1));
  } else {
    out.host = std::string(authority);
  }
  if (out.host.empty()) Fail("server URL '{}' has no host", url);
  return out;
}

asio::ip::tcp::resolver::results_type ResolveServer(const ServerUrl& url) {
  asio::io_context io;
  asio::ip::tcp::resolver resolver(io);
  beast::error_code ec;
  auto results = resolver.resolve(url.host, url.port, ec);
  if (ec) Fail("cannot resolve server {}:{}: {}", url.host, url.port, ec.message());
  return results;
}

asio::awaitable<RequestRecord> SendStreamingRequest(
    const ServerUrl& url, const asio::ip::tcp::resolver::results_type& endpoints,
    const StreamRequest& request, Clock::time_point origin) {
  RequestRecord rec;
  rec.expected_output_tokens = request.expected_output_tokens;
  const Clock::time_point sent = Clock::now();
  rec.start_s = Seconds(sent - origin);
  const Clock::time_point deadline = sent + request.timeout;
  beast::tcp_stream stream(co_await asio::this_coro::executor);
  beast::error_code ec;
  auto fail = [&](std::string what) {
    rec.ok = false;
    rec.error = std::move(what);
    rec.e2e_s = Seconds(Clock::now() - sent);
  };

  stream.expires_at(deadline);
  co_await stream.async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    fail("connect: " + Describe(ec));
    co_return rec;
  }
  auto req = MakePost(url, request.path, request.body, request.api_key, /*stream=*/true);
  stream.expires_at(deadline);
  co_await http::async_write(stream, req, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    fail("send: " + Describe(ec));
    co_return rec;
  }

  beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  stream.expires_at(deadline);
  co_await http::async_read_header(stream, buffer, parser,
                                   asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    fail("reading response header: " + Describe(ec));
    co_return rec;
  }
  rec.http_status = static_cast<int>(parser.get().result_int());

  SseParser sse;
  std::string error_body;
  bool done = false;
  std::int64_t chunks = 0;
  Clock::time_point last_content{};
  std::optional<std::string> stream_error;
  char buf[16384];
  while (!parser.is_done()) {
    parser.get().body().data = buf;
    parser.get().body().size = sizeof buf;
    stream.expires_at(deadline);
    // read_some returns as soon as some body arrived, so each SSE chunk gets its own time.
    co_await http::async_read_some(stream, buffer, parser,
                                   asio::redirect_error(asio::use_awaitable, ec));
    if (ec == http::error::need_buffer) ec = {};
    if (ec) {
      fail("reading stream: " + Describe(ec));
      co_return rec;
    }
    const Clock::time_point now = Clock::now();
    const std::string_view got(buf, sizeof buf - parser.get().body().size);
    if (rec.http_status != 200) {
      if (error_body.size() < 1000) error_body.append(got.substr(0, 1000 - error_body.size()));
      continue;
    }
    for (const SseEvent& event : sse.Feed(got)) {
      const OpenAiStreamEvent ev = InterpretStreamData(event.data);
      if (ev.done) done = true;
      if (ev.error && !stream_error) stream_error = *ev.error;
      if (event.event == "error" && !stream_error) stream_error = event.data;
      if (ev.prompt_tokens) rec.prompt_tokens = *ev.prompt_tokens;
      if (ev.completion_tokens) {
        rec.output_tokens = *ev.completion_tokens;
        rec.usage_reported = true;
      }
      for (int i = 0; i < ev.content_pieces; ++i) {
        if (chunks == 0) {
          rec.ttft_s = Seconds(now - sent);
        } else {
          rec.itl_s.push_back(Seconds(now - last_content));
        }
        last_content = now;
        ++chunks;
      }
    }
  }
  rec.e2e_s = Seconds(Clock::now() - sent);
  beast::error_code ignored;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);

  if (rec.http_status != 200) {
    rec.error = fmt::format("HTTP {}: {}", rec.http_status, error_body);
  } else if (stream_error) {
    rec.error = "error event: " + *stream_error;
  } else if (!done) {
    rec.error = "stream ended without data: [DONE]";
  } else if (chunks == 0) {
    rec.error = "stream carried no content";
  }
  rec.ok = rec.error.empty();
  if (!rec.usage_reported) rec.output_tokens = chunks;  // no usage: one token per chunk
  co_return rec;
}

HttpReply PostJson(const ServerUrl& url, std::string_view path, const std::string& body,
                   const std::string& api_key, std::chrono::milliseconds timeout) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  asio::ip::tcp::resolver resolver(io);
  beast::error_code ec;
  auto endpoints = resolver.resolve(url.host, url.port, ec);
  if (ec) Fail("cannot resolve server {}:{}: {}", url.host, url.port, ec.message());
  stream.expires_after(timeout);
  stream.connect(endpoints, ec);
  if (ec) Fail("cannot connect to {}:{}: {}", url.host, url.port, ec.message());
  auto req = MakePost(url, path, body, api_key, /*stream=*/false);
  http::write(stream, req, ec);
  if (ec) Fail("POST {} failed: {}", path, ec.message());
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res, ec);
  if (ec) Fail("POST {} failed reading the reply: {}", path, ec.message());
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  return {static_cast<int>(res.result_int()), std::move(res.body())};
}

}  // namespace kiln::loadgen
