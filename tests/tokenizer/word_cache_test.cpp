#include "kiln/tokenizer/word_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>

namespace kiln::tokenizer::detail {
namespace {

TEST(WordCacheTest, RemembersTheTokensOfAWord) {
  WordCache cache;
  std::vector<TokenId> out = {7};
  EXPECT_FALSE(cache.Lookup(" hello", out));
  const std::vector<TokenId> tokens = {31, 41};
  cache.Insert(" hello", tokens);
  EXPECT_TRUE(cache.Lookup(" hello", out));
  EXPECT_EQ(out, (std::vector<TokenId>{7, 31, 41}));  // appended
  EXPECT_FALSE(cache.Lookup(" hell", out));
}

TEST(WordCacheTest, WordsOverTheLimitsAreNotCached) {
  WordCache cache;
  const std::string word(WordCache::kMaxWordBytes + 1, 'a');
  const std::vector<TokenId> one = {1};
  cache.Insert(word, one);
  std::vector<TokenId> out;
  EXPECT_FALSE(cache.Lookup(word, out));
  const std::vector<TokenId> many(WordCache::kMaxTokens + 1, 3);
  cache.Insert("short", many);
  EXPECT_FALSE(cache.Lookup("short", out));
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_TRUE(out.empty());
}

TEST(WordCacheTest, StaysWithinItsCapacityAndKeepsTheNewestWord) {
  WordCache cache(256);
  EXPECT_EQ(cache.capacity(), 256u);
  for (int i = 0; i < 10000; ++i) {
    const std::string word = "w" + std::to_string(i);
    const std::vector<TokenId> tokens = {i};
    cache.Insert(word, tokens);
    std::vector<TokenId> out;
    ASSERT_TRUE(cache.Lookup(word, out));
    ASSERT_EQ(out, tokens);
  }
  EXPECT_LE(cache.size(), cache.capacity());
  EXPECT_GT(cache.size(), 100u);
}

TEST(WordCacheTest, ConcurrentUseGivesConsistentAnswers) {
  WordCache cache(512);
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&cache, &wrong, t] {
      for (int i = 0; i < 20000; ++i) {
        const int n = (i * 7 + t) % 3000;
        const std::string word = "w" + std::to_string(n);
        std::vector<TokenId> out;
        if (cache.Lookup(word, out)) {
          if (out != std::vector<TokenId>{n, n + 1}) ++wrong;
        } else {
          const std::vector<TokenId> tokens = {n, n + 1};
          cache.Insert(word, tokens);
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace kiln::tokenizer::detail
