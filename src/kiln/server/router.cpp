#include "kiln/server/router.h"

#include <algorithm>

#include "kiln/base/error.h"

namespace kiln::server {
namespace {

std::vector<std::string_view> SplitPath(std::string_view path) {
  // "/a/b" -> {"a", "b"}; "/" -> {""}; a trailing slash gives a final empty segment.
  std::vector<std::string_view> parts;
  std::string_view rest = path.substr(1);
  while (true) {
    std::size_t slash = rest.find('/');
    parts.push_back(rest.substr(0, slash));
    if (slash == std::string_view::npos) break;
    rest = rest.substr(slash + 1);
  }
  return parts;
}

bool IsParam(std::string_view segment) {
  return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}
bool IsRestParam(std::string_view segment) {
  return IsParam(segment) && segment.size() > 5 && segment.substr(segment.size() - 4) == "...}";
}
std::string_view ParamName(std::string_view segment) {
  segment = segment.substr(1, segment.size() - 2);
  if (segment.size() >= 3 && segment.substr(segment.size() - 3) == "...") {
    segment.remove_suffix(3);
  }
  return segment;
}

}  // namespace

void Router::Add(std::string_view method, std::string_view pattern, Handler handler) {
  if (method.empty() || pattern.empty() || pattern.front() != '/') {
    Fail("route pattern '{}' must start with '/' and have a method", pattern);
  }
  if (!handler) Fail("route {} {} has no handler", method, pattern);
  Route route;
  route.method = std::string(method);
  route.pattern = std::string(pattern);
  for (std::string_view segment : SplitPath(pattern)) {
    route.segments.emplace_back(segment);
  }
  for (std::size_t i = 0; i < route.segments.size(); ++i) {
    const std::string& segment = route.segments[i];
    bool braces = segment.find_first_of("{}") != std::string::npos;
    if (braces && (!IsParam(segment) || ParamName(segment).empty() ||
                   ParamName(segment).find_first_of("{}") != std::string_view::npos)) {
      Fail("route pattern '{}': segment '{}' is not a parameter like {{name}}", pattern, segment);
    }
    if (IsRestParam(segment) && i + 1 != route.segments.size()) {
      Fail("route pattern '{}': '{}' must be the last segment", pattern, segment);
    }
  }
  for (const Route& existing : routes_) {
    if (existing.method == route.method && existing.segments == route.segments) {
      Fail("route {} {} is registered twice", method, pattern);
    }
  }
  route.handler = std::move(handler);
  routes_.push_back(std::move(route));
}

bool Router::MatchRoute(const Route& route, const std::vector<std::string_view>& parts,
                        std::vector<std::pair<std::string, std::string>>* params) const {
  params->clear();
  for (std::size_t i = 0; i < route.segments.size(); ++i) {
    const std::string& segment = route.segments[i];
    if (IsRestParam(segment)) {
      if (i >= parts.size()) return false;
      // The rest of the path, slashes included, as one parameter.
      std::string joined;
      for (std::size_t j = i; j < parts.size(); ++j) {
        if (j > i) joined.push_back('/');
        joined.append(parts[j]);
      }
      if (joined.empty()) return false;
      params->emplace_back(std::string(ParamName(segment)), std::move(joined));
      return true;
    }
    if (i >= parts.size()) return false;
    if (IsParam(segment)) {
      if (parts[i].empty()) return false;
      params->emplace_back(std::string(ParamName(segment)), std::string(parts[i]));
    } else if (segment != parts[i]) {
      return false;
    }
  }
  return route.segments.size() == parts.size();
}

Router::Match Router::Find(std::string_view method, std::string_view path) const {
  Match match;
  if (path.empty() || path.front() != '/') {
    match.kind = Match::Kind::kBadPath;
    return match;
  }
  // Literal segments compare against decoded path segments, so "/v1/mod%65ls" is "/v1/models".
  std::vector<std::string> decoded;
  for (std::string_view part : SplitPath(path)) {
    std::string out;
    if (!PercentDecode(part, false, out)) {
      match.kind = Match::Kind::kBadPath;
      return match;
    }
    decoded.push_back(std::move(out));
  }
  std::vector<std::string_view> parts(decoded.begin(), decoded.end());
  std::vector<std::pair<std::string, std::string>> params;
  for (const Route& route : routes_) {
    if (!MatchRoute(route, parts, &params)) continue;
    if (match.pattern.empty()) match.pattern = route.pattern;
    if (std::find(match.allowed_methods.begin(), match.allowed_methods.end(), route.method) ==
        match.allowed_methods.end()) {
      match.allowed_methods.push_back(route.method);
    }
    if (match.kind != Match::Kind::kFound && route.method == method) {
      match.kind = Match::Kind::kFound;
      match.handler = &route.handler;
      match.pattern = route.pattern;
      match.params = std::move(params);
    }
  }
  if (match.kind != Match::Kind::kFound) {
    match.kind =
        match.allowed_methods.empty() ? Match::Kind::kNotFound : Match::Kind::kMethodNotAllowed;
  }
  return match;
}

}  // namespace kiln::server
