// The load generator's HTTP/1.1 client on Boost.Beast: one streamed POST as a C++20 coroutine
// that times every content chunk of an OpenAI-compatible SSE response into a RequestRecord, and
// a blocking JSON POST for side calls (/tokenize). Plain http:// only; one connection a request.
#pragma once

// clang-format off
#include <utility>  // first: Boost 1.74's awaitable.hpp uses std::exchange without including it
// clang-format on
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <string>
#include <string_view>

#include "kiln/loadgen/statistics.h"

namespace kiln::loadgen {

using Clock = std::chrono::steady_clock;

// Where the server is: host, port and a path prefix, parsed from "http://host[:port][/prefix]".
struct ServerUrl {
  std::string host;
  std::string port = "80";
  std::string prefix;  // no trailing slash; prepended to every request path
};
ServerUrl ParseServerUrl(std::string_view url);

struct StreamRequest {
  std::string path;  // e.g. "/v1/chat/completions" (the prefix is added)
  std::string body;  // the JSON request, with "stream": true
  std::string api_key;
  std::chrono::milliseconds timeout{600'000};  // for the whole request
  std::int64_t expected_output_tokens = 0;
};

// Sends one streamed request and measures it; never throws for the server's or the network's
// failures (they end up in RequestRecord::error). `origin` is the start of its load level.
boost::asio::awaitable<RequestRecord> SendStreamingRequest(
    const ServerUrl& url, const boost::asio::ip::tcp::resolver::results_type& endpoints,
    const StreamRequest& request, Clock::time_point origin);

// Resolves the server's host once, for a whole run; kiln::Error when it cannot be resolved.
boost::asio::ip::tcp::resolver::results_type ResolveServer(const ServerUrl& url);

struct HttpReply {
  int status = 0;
  std::string body;
};
// A blocking POST of a JSON body; kiln::Error when the server cannot be reached.
HttpReply PostJson(const ServerUrl& url, std::string_view path, const std::string& body,
                   const std::string& api_key, std::chrono::milliseconds timeout);

}  // namespace kiln::loadgen
