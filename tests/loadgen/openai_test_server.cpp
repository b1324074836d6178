// TEST FIXTURE: see openai_test_server.h.
// clang-format off
#include <utility>  // first: Boost 1.74's awaitable.hpp uses std::exchange without including it
// clang-format on
#include "openai_test_server.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

namespace kiln::loadgen::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

struct OpenAiTestServer::Impl {
  TestServerOptions options;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::thread thread;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  mutable std::mutex mu;
  TestServerStats stats;
  int in_flight = 0;

  static long Words(const std::string& s) {
    std::istringstream in(s);
    std::string w;
    long n = 0;
    while (in >> w) ++n;
    return n;
  }

  asio::awaitable<void> Sleep(std::chrono::milliseconds d) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::use_awaitable);
  }

  asio::awaitable<void> WriteChunk(tcp::socket& s, const std::string& data) {
    co_await asio::async_write(s, http::make_chunk(asio::buffer(data)), asio::use_awaitable);
  }

  asio::awaitable<void> Reply(tcp::socket& s, http::status status, std::string body) {
    http::response<http::string_body> res{status, 11};
    res.set(http::field::content_type, "application/json");
    res.body() = std::move(body);
    res.prepare_payload();
    co_await http::async_write(s, res, asio::use_awaitable);
  }

  asio::awaitable<void> Stream(tcp::socket& s, const nlohmann::json& req, int number) {
    const bool chat = req.contains("messages");
    const long max_tokens = req.value("max_tokens", 16);
    const bool usage = options.send_usage && req.contains("stream_options") &&
                       req["stream_options"].value("include_usage", false);
    long prompt_tokens = 0;
    if (chat) {
      for (const auto& m : req["messages"]) prompt_tokens += Words(m.value("content", ""));
    } else {
      prompt_tokens = Words(req.value("prompt", ""));
    }
    http::response<http::empty_body> res{http::status::ok, 11};
    res.set(http::field::content_type, "text/event-stream");
    res.chunked(true);
    http::response_serializer<http::empty_body> sr{res};
    co_await http::async_write_header(s, sr, asio::use_awaitable);
    co_await WriteChunk(s, std::string(": keep-alive comment\n\n"));
    co_await Sleep(options.first_token_delay);
    for (long i = 0; i < max_tokens; ++i) {
      if (i > 0) co_await Sleep(options.token_delay);
      if (options.error_event_every > 0 && number % options.error_event_every == 0 && i == 1) {
        co_await WriteChunk(
            s, std::string("data: {\"error\": {\"message\": \"fixture failure\"}}\n\n"));
        break;
      }
      nlohmann::json chunk = {{"id", "x"}, {"object", "chunk"}};
      if (chat) {
        chunk["choices"] = {{{"index", 0}, {"delta", {{"content", "tok "}}}}};
      } else {
        chunk["choices"] = {{{"index", 0}, {"text", "tok "}}};
      }
      // (String literals are wrapped in std::string: GCC 12 rejects arrays as coroutine arguments.)
      // Each event goes out in two TCP writes split inside the line, and "\r\n" endings, so
      // the client's parser meets chunk boundaries in awkward places.
      const std::string event = "data: " + chunk.dump() + "\r\n\r\n";
      co_await WriteChunk(s, event.substr(0, 9));
      co_await WriteChunk(s, event.substr(9));
      {
        std::lock_guard lock(mu);
        ++stats.completion_tokens;
      }
      if (options.stall_after_first) co_await Sleep(std::chrono::hours(1));
    }
    if (usage) {
      nlohmann::json u = {{"choices", nlohmann::json::array()},
                          {"usage",
                           {{"prompt_tokens", prompt_tokens},
                            {"completion_tokens", max_tokens},
                            {"total_tokens", prompt_tokens + max_tokens}}}};
      co_await WriteChunk(s, "data: " + u.dump() + "\n\n");
      std::lock_guard lock(mu);
      stats.prompt_tokens += prompt_tokens;
    }
    if (!options.omit_done) co_await WriteChunk(s, std::string("data: [DONE]\n\n"));
    co_await asio::async_write(s, http::make_chunk_last(), asio::use_awaitable);
  }

  asio::awaitable<void> Serve(tcp::socket s) {
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    beast::error_code ec;
    co_await http::async_read(s, buffer, req, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    try {
      if (!options.required_api_key.empty() &&
          req[http::field::authorization] != "Bearer " + options.required_api_key) {
        co_await Reply(s, http::status::unauthorized,
                       std::string(R"({"error":{"message":"bad key"}})"));
      } else if (req.target() == "/tokenize") {
        {
          std::lock_guard lock(mu);
          ++stats.tokenize_calls;
        }
        if (!options.offer_tokenize) {
          co_await Reply(s, http::status::not_found, std::string(R"({"error":"no such route"})"));
        } else {
          // Built outside the co_await: GCC 12 cannot keep an initializer list in a frame.
          const auto j = nlohmann::json::parse(req.body());
          nlohmann::json reply = nlohmann::json::object();
          reply["tokens"] = std::vector<int>(Words(j.value("prompt", "")), 7);
          std::string body = reply.dump();
          co_await Reply(s, http::status::ok, std::move(body));
        }
      } else {
        int number = 0;
        {
          std::lock_guard lock(mu);
          number = ++stats.requests;
          stats.arrival_s.push_back(
              std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
          stats.bodies.push_back(req.body());
          stats.max_in_flight = std::max(stats.max_in_flight, ++in_flight);
        }
        if (options.http_error_every > 0 && number % options.http_error_every == 0) {
          co_await Reply(s, http::status::internal_server_error,
                         std::string(R"({"error":{"message":"fixture says no"}})"));
        } else {
          co_await Stream(s, nlohmann::json::parse(req.body()), number);
        }
        std::lock_guard lock(mu);
        --in_flight;
      }
    } catch (const std::exception&) {
      // the client went away (a timeout test); nothing to clean up beyond the socket
      std::lock_guard lock(mu);
      if (req.target() != "/tokenize") --in_flight;
    }
    s.shutdown(tcp::socket::shutdown_send, ec);
  }

  asio::awaitable<void> Accept() {
    while (true) {
      beast::error_code ec;
      tcp::socket s = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      asio::co_spawn(io, Serve(std::move(s)), asio::detached);
    }
  }
};

OpenAiTestServer::OpenAiTestServer(TestServerOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen();
  asio::co_spawn(impl_->io, impl_->Accept(), asio::detached);
  impl_->thread = std::thread([this] { impl_->io.run(); });
}

OpenAiTestServer::~OpenAiTestServer() {
  impl_->io.stop();
  impl_->thread.join();
}

int OpenAiTestServer::port() const {
  return impl_->acceptor.local_endpoint().port();
}

TestServerStats OpenAiTestServer::stats() const {
  std::lock_guard lock(impl_->mu);
  return impl_->stats;
}

}  // namespace kiln::loadgen::testing
