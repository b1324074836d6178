// Router: maps a method and a path to a handler. Patterns are literal segments and parameters:
// "/v1/models/{id}" matches one segment; a final "{id...}" matches the rest of the path (one or
// more segments, slashes included), as OpenAI model ids like "org/name" need. Routes are added
// before the server starts and never change afterwards, so lookups take no lock.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kiln/server/http_request.h"
#include "kiln/server/responder.h"

namespace kiln::server {

// Runs on an I/O thread: it must not block. Answer through the responder, now or later from any
// thread. Exceptions thrown before answering become a 500.
using Handler = std::function<void(const HttpRequest&, Responder)>;

class Router {
 public:
  // Throws kiln::Error on a malformed pattern or a duplicate method + pattern.
  void Add(std::string_view method, std::string_view pattern, Handler handler);
  void Get(std::string_view pattern, Handler handler) { Add("GET", pattern, std::move(handler)); }
  void Post(std::string_view pattern, Handler handler) { Add("POST", pattern, std::move(handler)); }
  void Delete(std::string_view pattern, Handler handler) {
    Add("DELETE", pattern, std::move(handler));
  }

  struct Match {
    enum class Kind { kFound, kMethodNotAllowed, kNotFound, kBadPath };
    Kind kind = Kind::kNotFound;
    const Handler* handler = nullptr;  // set when kFound
    std::string_view pattern;          // the matched pattern, when the path is known
    std::vector<std::pair<std::string, std::string>> params;  // decoded, when kFound
    std::vector<std::string> allowed_methods;                 // when the path is known
  };
  // `path` is still percent-encoded (parameters are decoded; a bad escape gives kBadPath).
  Match Find(std::string_view method, std::string_view path) const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;  // "{name}" / "{name...}" for parameters
    Handler handler;
  };
  bool MatchRoute(const Route& route, const std::vector<std::string_view>& parts,
                  std::vector<std::pair<std::string, std::string>>* params) const;
  std::vector<Route> routes_;
};

}  // namespace kiln::server
