// HttpRequest: one parsed HTTP request as a handler sees it (method, path, path parameters, query,
// case-insensitive headers, body), plus the percent-decoding helpers the router and handlers share.
// Plain data: the server fills it in on an I/O thread; handlers only read it.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kiln::server {

struct HttpHeader {
  std::string name;
  std::string value;
};

struct HttpRequest {
  std::string method;  // as sent, e.g. "GET"
  std::string target;  // raw request target, e.g. "/v1/models?limit=2"
  std::string path;    // target before '?', still percent-encoded
  std::string query;   // target after '?', raw
  int version = 11;    // 10 for HTTP/1.0, 11 for HTTP/1.1
  std::vector<HttpHeader> headers;
  std::string body;
  // Filled by the router: the matched pattern (e.g. "/v1/models/{id}") and decoded parameters.
  std::string route;
  std::vector<std::pair<std::string, std::string>> path_params;
  std::string remote_address;

  // First header with this name, compared case-insensitively.
  std::optional<std::string_view> Header(std::string_view name) const;
  std::string_view HeaderOr(std::string_view name, std::string_view fallback) const;
  std::optional<std::string_view> PathParam(std::string_view name) const;
  // First query parameter with this name, decoded ('+' is a space); nullopt when absent or
  // when its encoding is invalid.
  std::optional<std::string> QueryParam(std::string_view name) const;
};

// Decodes %XX escapes (and '+' as space when asked). False on a malformed escape.
bool PercentDecode(std::string_view in, bool plus_as_space, std::string& out);

bool EqualsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace kiln::server
