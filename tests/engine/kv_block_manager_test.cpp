// KvBlockManager: reference counts, the prefix cache's hash chain, reuse and LRU eviction.
#include "kiln/engine/kv_block_manager.h"

#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "kiln/base/error.h"

namespace kiln::engine {
namespace {

std::vector<std::int32_t> Range(int first, int count) {
  std::vector<std::int32_t> v(count);
  std::iota(v.begin(), v.end(), first);
  return v;
}

std::vector<std::int32_t> TableOf(const KvBlockManager& m, SequenceId s) {
  const auto t = m.Table(s);
  return {t.begin(), t.end()};
}

TEST(KvBlockManager, ReserveGrowsTablesAndFailsWithoutPartialAllocation) {
  KvBlockManager m(4, 4, "m", true);
  EXPECT_TRUE(m.Reserve(1, 5));  // 2 blocks
  EXPECT_EQ(m.Table(1).size(), 2u);
  EXPECT_TRUE(m.Reserve(1, 8));  // still 2
  EXPECT_EQ(m.used_blocks(), 2);
  EXPECT_FALSE(m.Reserve(2, 12));  // 3 blocks, only 2 left
  EXPECT_EQ(m.Table(2).size(), 0u);
  EXPECT_EQ(m.free_blocks(), 2);
  EXPECT_TRUE(m.Reserve(2, 8));
  EXPECT_EQ(m.free_blocks(), 0);
  m.Free(1);
  EXPECT_EQ(m.free_blocks(), 2);
  EXPECT_EQ(m.cached_blocks(), 0);  // nothing was marked computed
}

TEST(KvBlockManager, ReusesTheLongestCachedPrefixOfFullBlocks) {
  KvBlockManager m(16, 4, "m", true);
  const std::vector<std::int32_t> a = Range(0, 10);
  ASSERT_TRUE(m.Reserve(1, 10));
  m.MarkComputed(1, a, 10);  // blocks 0 and 1 are full, block 2 holds 2 tokens
  const std::vector<std::int32_t> table_a = TableOf(m, 1);
  m.Free(1);
  EXPECT_EQ(m.cached_blocks(), 2);

  std::vector<std::int32_t> b = Range(0, 8);
  b.push_back(99);
  b.push_back(98);
  EXPECT_EQ(m.AcquireCachedPrefix(2, b), 8);
  EXPECT_EQ(TableOf(m, 2), std::vector<std::int32_t>(table_a.begin(), table_a.begin() + 2));
  EXPECT_EQ(m.cached_blocks(), 0);  // in use again
  EXPECT_EQ(m.RefCount(table_a[0]), 1);

  // A third sequence shares them while the second still holds them.
  EXPECT_EQ(m.AcquireCachedPrefix(3, a), 8);
  EXPECT_EQ(m.RefCount(table_a[0]), 2);
  m.Free(2);
  EXPECT_EQ(m.RefCount(table_a[0]), 1);
  EXPECT_EQ(m.cached_blocks(), 0);
  m.Free(3);
  EXPECT_EQ(m.cached_blocks(), 2);
}

TEST(KvBlockManager, HashIsAChainNotPerBlock) {
  KvBlockManager m(16, 4, "m", true);
  const std::vector<std::int32_t> a = Range(0, 9);
  ASSERT_TRUE(m.Reserve(1, 9));
  m.MarkComputed(1, a, 9);
  m.Free(1);
  // Same second block, different first block: nothing may be reused.
  std::vector<std::int32_t> b = a;
  b[0] = 77;
  EXPECT_EQ(m.AcquireCachedPrefix(2, b), 0);
  // Different second block: only the first is reused.
  std::vector<std::int32_t> c = a;
  c[5] = 77;
  EXPECT_EQ(m.AcquireCachedPrefix(3, c), 4);
}

TEST(KvBlockManager, AlwaysLeavesTheLastTokenToCompute) {
  KvBlockManager m(16, 4, "m", true);
  const std::vector<std::int32_t> a = Range(0, 8);
  ASSERT_TRUE(m.Reserve(1, 8));
  m.MarkComputed(1, a, 8);
  m.Free(1);
  EXPECT_EQ(m.cached_blocks(), 2);
  EXPECT_EQ(m.AcquireCachedPrefix(2, a), 4);  // not 8: the last token's logits are needed
  const std::vector<std::int32_t> longer = Range(0, 9);
  EXPECT_EQ(m.AcquireCachedPrefix(3, longer), 8);
}

TEST(KvBlockManager, DisabledCachingNeverHits) {
  KvBlockManager off(16, 4, "m", false);
  const std::vector<std::int32_t> a = Range(0, 9);
  ASSERT_TRUE(off.Reserve(1, 9));
  off.MarkComputed(1, a, 9);
  off.Free(1);
  EXPECT_EQ(off.cached_blocks(), 0);
  EXPECT_EQ(off.AcquireCachedPrefix(2, a), 0);
}

TEST(KvBlockManager, EvictsLeastRecentlyUsedCachedBlocksFirst) {
  // 4 blocks of 2 tokens.
  KvBlockManager m(4, 2, "m", true);
  const std::vector<std::int32_t> a = {1, 2, 3, 4, 5};
  ASSERT_TRUE(m.Reserve(1, 5));  // 3 blocks
  m.MarkComputed(1, a, 5);       // 2 full
  m.Free(1);
  const std::vector<std::int32_t> b = {7, 8, 9};
  ASSERT_TRUE(m.Reserve(2, 3));  // 2 blocks, from the never-hashed ones
  m.MarkComputed(2, b, 3);
  m.Free(2);
  EXPECT_EQ(m.cached_blocks(), 3);  // a's two, b's one
  EXPECT_EQ(m.free_blocks(), 4);

  // Two blocks needed: one free, one evicted: the least recently used is a's second block
  // (a was freed before b, and a sequence's tail is released before its head).
  ASSERT_TRUE(m.Reserve(3, 4));
  EXPECT_EQ(m.cached_blocks(), 2);
  EXPECT_EQ(m.AcquireCachedPrefix(4, a), 2);  // only a's first block survives
  EXPECT_EQ(m.AcquireCachedPrefix(5, b), 2);  // b's block survives
  m.Free(4);
  m.Free(5);
  m.Free(3);
  ASSERT_TRUE(m.Reserve(6, 8));  // all 4 blocks: evicts everything
  EXPECT_EQ(m.cached_blocks(), 0);
  m.Free(6);
  EXPECT_EQ(m.AcquireCachedPrefix(7, b), 0);
}

TEST(KvBlockManager, LruOrderFollowsUse) {
  KvBlockManager m(3, 2, "m", true);
  const std::vector<std::int32_t> a = {1, 2, 0};
  const std::vector<std::int32_t> b = {3, 4, 0};
  ASSERT_TRUE(m.Reserve(1, 2));
  m.MarkComputed(1, a, 2);
  m.Free(1);
  ASSERT_TRUE(m.Reserve(2, 2));
  m.MarkComputed(2, b, 2);
  m.Free(2);
  // a is older; touching it makes b the older one.
  EXPECT_EQ(m.AcquireCachedPrefix(3, a), 2);
  m.Free(3);
  ASSERT_TRUE(m.Reserve(4, 4));  // the free block plus one eviction: b goes
  EXPECT_EQ(m.AcquireCachedPrefix(5, b), 0);
  EXPECT_EQ(m.AcquireCachedPrefix(6, a), 2);
}

TEST(KvBlockManager, ShareCountsReferences) {
  KvBlockManager m(8, 4, "m", false);
  ASSERT_TRUE(m.Reserve(1, 10));
  const std::vector<std::int32_t> parent = TableOf(m, 1);
  m.Share(2, 1, 2);
  EXPECT_EQ(TableOf(m, 2), std::vector<std::int32_t>(parent.begin(), parent.begin() + 2));
  EXPECT_EQ(m.RefCount(parent[0]), 2);
  EXPECT_EQ(m.RefCount(parent[2]), 1);
  ASSERT_TRUE(m.Reserve(2, 10));  // its own third block
  EXPECT_NE(m.Table(2)[2], parent[2]);
  EXPECT_EQ(m.used_blocks(), 4);
  m.Free(1);
  EXPECT_EQ(m.used_blocks(), 3);
  m.Free(2);
  EXPECT_EQ(m.used_blocks(), 0);
  EXPECT_THROW(m.Share(3, 9, 1), std::exception);
}

TEST(KvBlockManager, RejectsAnEmptyPool) {
  EXPECT_THROW(KvBlockManager(0, 16, "m", true), Error);
  EXPECT_THROW(KvBlockManager(4, 0, "m", true), Error);
}

}  // namespace
}  // namespace kiln::engine
