#include "kiln/server/request_reader.h"

// GCC 12 with sanitizers reports a false "may be used uninitialized" inside Beast's parser
// (boost::optional returned by content_length_unchecked), inlined into this file.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <optional>

namespace kiln::server {

namespace http = boost::beast::http;

namespace {
std::string_view View(boost::beast::string_view s) {
  return {s.data(), s.size()};
}
}  // namespace

struct RequestReader::Impl {
  std::optional<http::request_parser<http::string_body>> parser;
};

RequestReader::RequestReader(RequestLimits limits)
    : limits_(limits), impl_(std::make_unique<Impl>()) {
  Reset();
}

RequestReader::~RequestReader() = default;

void RequestReader::Reset() {
  auto& parser = impl_->parser.emplace();
  parser.header_limit(
      static_cast<std::uint32_t>(std::min<std::size_t>(limits_.max_header_bytes, UINT32_MAX)));
  parser.body_limit(static_cast<std::uint64_t>(limits_.max_body_bytes));
  // Parse the body in the same put() calls as the header: the caller hands us whatever it read.
  parser.eager(true);
}

RequestReader::Result RequestReader::Feed(std::string_view data) {
  auto& parser = *impl_->parser;
  Result result;
  while (!parser.is_done()) {
    if (result.consumed == data.size()) return result;  // kNeedMore
    boost::system::error_code ec;
    std::size_t used = parser.put(
        boost::asio::const_buffer(data.data() + result.consumed, data.size() - result.consumed),
        ec);
    result.consumed += used;
    if (ec == http::error::need_more) return result;
    if (ec) {
      result.status = Status::kError;
      if (ec == http::error::header_limit) {
        result.http_status = 431;
        result.error = "Request header fields too large (limit " +
                       std::to_string(limits_.max_header_bytes) + " bytes)";
      } else if (ec == http::error::body_limit) {
        result.http_status = 413;
        result.error =
            "Request body too large (limit " + std::to_string(limits_.max_body_bytes) + " bytes)";
      } else if (ec == http::error::bad_version) {
        // Beast accepts only HTTP/1.0 and HTTP/1.1 and cannot tell "HTTP/2.0" from garbage.
        result.http_status = 400;
        result.error =
            "Malformed HTTP request: unsupported or malformed HTTP version (use HTTP/1.1)";
      } else {
        result.http_status = 400;
        result.error = "Malformed HTTP request: " + ec.message();
      }
      return result;
    }
    if (used == 0) return result;  // no progress without an error: wait for more bytes
  }
  const auto& message = parser.get();
  if (message.find(http::field::transfer_encoding) != message.end() && !message.chunked()) {
    // Without a final "chunked" the body's length is unknown; guessing would let the rest of the
    // bytes be read as another request.
    result.status = Status::kError;
    result.http_status = 400;
    result.error = "Malformed HTTP request: unsupported Transfer-Encoding (only chunked)";
    return result;
  }
  if (message.target().empty() || message.target().front() != '/') {
    result.status = Status::kError;
    result.http_status = 400;
    result.error = "Malformed HTTP request: the target must be a path starting with '/'";
    return result;
  }
  result.status = Status::kComplete;
  return result;
}

bool RequestReader::HeaderDone() const {
  return impl_->parser->is_header_done();
}

bool RequestReader::ExpectsContinue() const {
  const auto& parser = *impl_->parser;
  if (!parser.is_header_done()) return false;
  auto it = parser.get().find(http::field::expect);
  return it != parser.get().end() && EqualsIgnoreCase(View(it->value()), "100-continue");
}

HttpRequest RequestReader::TakeRequest(bool* keep_alive) {
  auto message = impl_->parser->release();
  HttpRequest request;
  request.method = std::string(View(message.method_string()));
  request.target = std::string(View(message.target()));
  std::size_t q = request.target.find('?');
  request.path = request.target.substr(0, q);
  if (q != std::string::npos) request.query = request.target.substr(q + 1);
  request.version = static_cast<int>(message.version());
  for (const auto& field : message) {
    request.headers.push_back(
        {std::string(View(field.name_string())), std::string(View(field.value()))});
  }
  if (keep_alive != nullptr) *keep_alive = message.keep_alive();
  request.body = std::move(message.body());
  Reset();
  return request;
}

}  // namespace kiln::server
