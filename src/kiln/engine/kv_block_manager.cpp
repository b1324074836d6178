#include "kiln/engine/kv_block_manager.h"

#include <algorithm>

#include "kiln/base/error.h"

namespace kiln::engine {
namespace {

std::uint64_t Mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

KvBlockManager::KvBlockManager(int num_blocks, int block_size, std::string model_id,
                               bool prefix_caching)
    : block_size_(block_size), prefix_caching_(prefix_caching) {
  if (num_blocks < 1) Fail("the KV cache pool has no blocks (raise --kv-memory)");
  if (block_size < 1) Fail("KV block size must be positive, got {}", block_size);
  // The model id seeds the chain, so two models never share a block's name.
  model_seed_ = Mix(0x4b494c4eULL);
  for (unsigned char c : model_id) model_seed_ = Mix(model_seed_ ^ c);
  blocks_.resize(num_blocks);
  free_.reserve(num_blocks);
  for (int b = num_blocks - 1; b >= 0; --b) free_.push_back(b);
}

std::uint64_t KvBlockManager::HashBlock(std::uint64_t parent,
                                        std::span<const std::int32_t> tokens) const {
  std::uint64_t h = Mix(parent ^ model_seed_);
  for (std::int32_t t : tokens) h = Mix(h ^ static_cast<std::uint32_t>(t));
  return h;
}

int KvBlockManager::Lookup(std::uint64_t parent, std::uint64_t hash,
                           std::span<const std::int32_t> tokens) const {
  const auto it = cached_.find(hash);
  if (it == cached_.end()) return -1;
  const Block& b = blocks_[it->second];
  if (b.parent_hash != parent ||
      !std::equal(tokens.begin(), tokens.end(), b.tokens.begin(), b.tokens.end())) {
    return -1;
  }
  return it->second;
}

void KvBlockManager::Retain(int block) {
  Block& b = blocks_[block];
  if (b.refs == 0 && b.hashed) lru_.erase(b.lru);
  ++b.refs;
}

void KvBlockManager::Release(int block) {
  Block& b = blocks_[block];
  if (--b.refs > 0) return;
  if (b.hashed) {
    b.lru = lru_.insert(lru_.end(), block);
  } else {
    free_.push_back(block);
  }
}

int KvBlockManager::TakeFreeBlock() {
  int block;
  if (!free_.empty()) {
    block = free_.back();
    free_.pop_back();
  } else {
    block = lru_.front();
    lru_.pop_front();
    Block& evicted = blocks_[block];
    cached_.erase(evicted.hash);
    evicted.hashed = false;
    evicted.tokens.clear();
  }
  blocks_[block].refs = 1;
  return block;
}

int KvBlockManager::AcquireCachedPrefix(SequenceId seq, std::span<const std::int32_t> tokens) {
  SequenceBlocks& s = tables_[seq];
  if (!prefix_caching_ || !s.table.empty() || tokens.empty()) return 0;
  // The last token is always computed: its logits (or hidden state) are the point.
  const int most = static_cast<int>(tokens.size() - 1) / block_size_;
  std::uint64_t parent = 0;
  for (int i = 0; i < most; ++i) {
    const auto chunk = tokens.subspan(static_cast<std::size_t>(i) * block_size_, block_size_);
    const std::uint64_t hash = HashBlock(parent, chunk);
    const int block = Lookup(parent, hash, chunk);
    if (block < 0) break;
    Retain(block);
    s.table.push_back(block);
    parent = hash;
  }
  s.hashed_blocks = static_cast<int>(s.table.size());
  s.last_hash = parent;
  return static_cast<int>(s.table.size()) * block_size_;
}

void KvBlockManager::Share(SequenceId child, SequenceId parent, int blocks) {
  const SequenceBlocks& p = tables_.at(parent);
  SequenceBlocks& c = tables_[child];
  if (!c.table.empty()) Fail("KvBlockManager::Share: sequence {} already holds blocks", child);
  if (blocks > static_cast<int>(p.table.size())) {
    Fail("KvBlockManager::Share: {} blocks asked, parent holds {}", blocks, p.table.size());
  }
  for (int i = 0; i < blocks; ++i) {
    Retain(p.table[i]);
    c.table.push_back(p.table[i]);
  }
  // The child registers (or finds) the hashes of its blocks itself in MarkComputed.
  c.hashed_blocks = 0;
  c.last_hash = 0;
}

bool KvBlockManager::Reserve(SequenceId seq, int tokens) {
  SequenceBlocks& s = tables_[seq];
  const int need = BlocksFor(tokens) - static_cast<int>(s.table.size());
  if (need <= 0) return true;
  if (need > free_blocks()) return false;
  for (int i = 0; i < need; ++i) s.table.push_back(TakeFreeBlock());
  return true;
}

void KvBlockManager::MarkComputed(SequenceId seq, std::span<const std::int32_t> tokens,
                                  int computed) {
  if (!prefix_caching_) return;
  const auto it = tables_.find(seq);
  if (it == tables_.end()) return;
  SequenceBlocks& s = it->second;
  const int full = std::min<int>(computed / block_size_, static_cast<int>(s.table.size()));
  for (int i = s.hashed_blocks; i < full; ++i) {
    const auto chunk = tokens.subspan(static_cast<std::size_t>(i) * block_size_, block_size_);
    const std::uint64_t hash = HashBlock(s.last_hash, chunk);
    Block& b = blocks_[s.table[i]];
    if (!b.hashed && cached_.count(hash) == 0) {
      b.hashed = true;
      b.hash = hash;
      b.parent_hash = s.last_hash;
      b.tokens.assign(chunk.begin(), chunk.end());
      cached_.emplace(hash, s.table[i]);
    }
    // Otherwise another block already caches this content (computed twice concurrently) or
    // this one is shared and already registered: the chain goes on either way.
    s.last_hash = hash;
    s.hashed_blocks = i + 1;
  }
}

void KvBlockManager::Free(SequenceId seq) {
  const auto it = tables_.find(seq);
  if (it == tables_.end()) return;
  // Release the tail first so that, evicted least-recently-used, a prefix's later blocks go
  // before its earlier ones (which more requests share).
  for (auto b = it->second.table.rbegin(); b != it->second.table.rend(); ++b) Release(*b);
  tables_.erase(it);
}

std::span<const std::int32_t> KvBlockManager::Table(SequenceId seq) const {
  const auto it = tables_.find(seq);
  if (it == tables_.end()) return {};
  return it->second.table;
}

}  // namespace kiln::engine
