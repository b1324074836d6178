// KvBlockManager: decides which KV-cache block belongs to which sequence. It keeps a pool of block
// ids with reference counts, every sequence's block table, and the automatic prefix cache: each
// full block is named by a hash chain over its token ids (and the model), so a later sequence with
// the same prefix can take those blocks instead of recomputing them. Blocks nobody holds but that
// still carry a reusable prefix are evicted least-recently-used. Not thread-safe (engine thread).
#pragma once

#include <cstdint>
#include <list>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace kiln::engine {

using SequenceId = std::int64_t;

class KvBlockManager {
 public:
  // kiln::Error for a pool without blocks or a non-positive block size.
  KvBlockManager(int num_blocks, int block_size, std::string model_id, bool prefix_caching);

  int block_size() const { return block_size_; }
  int total_blocks() const { return static_cast<int>(blocks_.size()); }
  // Blocks a new allocation can take: never used, or cached but held by nobody.
  int free_blocks() const { return static_cast<int>(free_.size() + lru_.size()); }
  int cached_blocks() const { return static_cast<int>(lru_.size()); }
  int used_blocks() const { return total_blocks() - free_blocks(); }
  bool prefix_caching() const { return prefix_caching_; }

  int BlocksFor(int tokens) const { return (tokens + block_size_ - 1) / block_size_; }

  // For a sequence that holds no blocks yet: takes the cached blocks of the longest prefix of
  // `tokens` it can, keeping at least the last token to be computed (its output is needed).
  // Returns how many tokens those blocks hold (a multiple of block_size; 0 without caching).
  int AcquireCachedPrefix(SequenceId seq, std::span<const std::int32_t> tokens);

  // For a sequence that holds no blocks yet: shares the first `blocks` blocks of `parent` (n>1
  // choices forking after the prompt). The caller only shares full, computed blocks.
  void Share(SequenceId child, SequenceId parent, int blocks);

  // Grows the sequence's table to hold `tokens` tokens. Returns false, allocating nothing, when
  // the pool cannot provide the blocks (the scheduler then preempts someone).
  bool Reserve(SequenceId seq, int tokens);

  // The model has written the keys and values of tokens[0, computed) of `seq`: registers the
  // newly full blocks in the prefix cache.
  void MarkComputed(SequenceId seq, std::span<const std::int32_t> tokens, int computed);

  // Releases every block of `seq` (those holding a cached prefix stay reusable until evicted).
  void Free(SequenceId seq);

  // The sequence's block table (empty for an unknown sequence); valid until the next change.
  std::span<const std::int32_t> Table(SequenceId seq) const;
  int RefCount(int block) const { return blocks_.at(block).refs; }
  bool HasSequence(SequenceId seq) const { return tables_.count(seq) != 0; }

 private:
  struct Block {
    int refs = 0;
    bool hashed = false;
    std::uint64_t hash = 0;
    std::uint64_t parent_hash = 0;
    std::vector<std::int32_t> tokens;  // the block's tokens, to rule out hash collisions
    std::list<int>::iterator lru;      // position in lru_ while refs == 0 and hashed
  };
  struct SequenceBlocks {
    std::vector<std::int32_t> table;
    int hashed_blocks = 0;  // leading blocks whose hash is known (registered or reused)
    std::uint64_t last_hash = 0;
  };

  std::uint64_t HashBlock(std::uint64_t parent, std::span<const std::int32_t> tokens) const;
  int Lookup(std::uint64_t parent, std::uint64_t hash, std::span<const std::int32_t> tokens) const;
  int TakeFreeBlock();  // assumes free_blocks() > 0
  void Retain(int block);
  void Release(int block);

  int block_size_;
  std::uint64_t model_seed_;
  bool prefix_caching_;
  std::vector<Block> blocks_;
  std::vector<int> free_;  // unhashed, unreferenced
  std::list<int> lru_;     // hashed, unreferenced; front = least recently used
  std::unordered_map<std::uint64_t, int> cached_;  // hash -> block
  std::unordered_map<SequenceId, SequenceBlocks> tables_;
};

}  // namespace kiln::engine
