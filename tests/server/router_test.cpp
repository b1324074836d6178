#include "kiln/server/router.h"

#include <gtest/gtest.h>

#include "kiln/base/error.h"

namespace kiln::server {
namespace {

using Kind = Router::Match::Kind;

Handler Noop() {
  return [](const HttpRequest&, Responder) {};
}

TEST(RouterTest, MatchesLiteralsAndParameters) {
  Router router;
  router.Get("/v1/models", Noop());
  router.Get("/v1/models/{id...}", Noop());
  router.Post("/v1/chat/completions", Noop());
  router.Get("/a/{x}/b/{y}", Noop());

  auto list = router.Find("GET", "/v1/models");
  EXPECT_EQ(list.kind, Kind::kFound);
  EXPECT_EQ(list.pattern, "/v1/models");
  EXPECT_TRUE(list.params.empty());

  auto one = router.Find("GET", "/v1/models/org/name%2Bv2");
  ASSERT_EQ(one.kind, Kind::kFound);
  EXPECT_EQ(one.pattern, "/v1/models/{id...}");
  ASSERT_EQ(one.params.size(), 1u);
  EXPECT_EQ(one.params[0].first, "id");
  EXPECT_EQ(one.params[0].second, "org/name+v2");

  auto two = router.Find("GET", "/a/1/b/%7E2");
  ASSERT_EQ(two.kind, Kind::kFound);
  EXPECT_EQ(two.params,
            (std::vector<std::pair<std::string, std::string>>{{"x", "1"}, {"y", "~2"}}));

  EXPECT_EQ(router.Find("GET", "/a/1/b").kind, Kind::kNotFound);
  EXPECT_EQ(router.Find("GET", "/a//b/2").kind, Kind::kNotFound);  // empty parameter
  EXPECT_EQ(router.Find("GET", "/v1/models/").kind, Kind::kNotFound);
  EXPECT_EQ(router.Find("GET", "/v1/models/x").kind, Kind::kFound);
  EXPECT_EQ(router.Find("GET", "/v1/mod%65ls").kind, Kind::kFound);
  EXPECT_EQ(router.Find("GET", "/v1").kind, Kind::kNotFound);
  EXPECT_EQ(router.Find("GET", "/").kind, Kind::kNotFound);
  EXPECT_EQ(router.Find("GET", "/v1/models/%G0").kind, Kind::kBadPath);
  EXPECT_EQ(router.Find("GET", "/v1/models/%4").kind, Kind::kBadPath);
  EXPECT_EQ(router.Find("GET", "v1/models").kind, Kind::kBadPath);
}

TEST(RouterTest, WrongMethodListsAllowedMethods) {
  Router router;
  router.Get("/v1/models/{id}", Noop());
  router.Delete("/v1/models/{id}", Noop());
  auto match = router.Find("POST", "/v1/models/m");
  EXPECT_EQ(match.kind, Kind::kMethodNotAllowed);
  EXPECT_EQ(match.allowed_methods, (std::vector<std::string>{"GET", "DELETE"}));
  EXPECT_EQ(router.Find("get", "/v1/models/m").kind, Kind::kMethodNotAllowed);  // case matters
}

TEST(RouterTest, RejectsBadPatternsAndDuplicates) {
  Router router;
  EXPECT_THROW(router.Get("v1/models", Noop()), kiln::Error);
  EXPECT_THROW(router.Get("/v1/{", Noop()), kiln::Error);
  EXPECT_THROW(router.Get("/v1/{}", Noop()), kiln::Error);
  EXPECT_THROW(router.Get("/v1/x{id}", Noop()), kiln::Error);
  EXPECT_THROW(router.Get("/v1/{rest...}/more", Noop()), kiln::Error);
  EXPECT_THROW(router.Get("/v1/x", Handler()), kiln::Error);
  router.Get("/v1/{id}", Noop());
  EXPECT_THROW(router.Get("/v1/{id}", Noop()), kiln::Error);
  router.Post("/v1/{id}", Noop());  // other method is fine
}

TEST(HttpRequestTest, HeadersAreCaseInsensitiveAndQueryIsDecoded) {
  HttpRequest request;
  request.headers = {{"Content-Type", "application/json"}, {"authorization", "Bearer x"}};
  request.query = "a=1&b=hello+world&c=%E2%9C%93&flag&bad=%zz";
  EXPECT_EQ(request.Header("content-type"), "application/json");
  EXPECT_EQ(request.Header("AUTHORIZATION"), "Bearer x");
  EXPECT_FALSE(request.Header("X-Missing").has_value());
  EXPECT_EQ(request.HeaderOr("X-Missing", "d"), "d");
  EXPECT_EQ(request.QueryParam("a"), "1");
  EXPECT_EQ(request.QueryParam("b"), "hello world");
  EXPECT_EQ(request.QueryParam("c"), "\xE2\x9C\x93");
  EXPECT_EQ(request.QueryParam("flag"), "");
  EXPECT_FALSE(request.QueryParam("bad").has_value());
  EXPECT_FALSE(request.QueryParam("zzz").has_value());
}

}  // namespace
}  // namespace kiln::server
