// KvCache: the keys and values of every layer, in a pool of fixed-size blocks of token slots.
// A sequence owns a list of blocks (its block table) and its token at position p lives in slot
// p % block_size of block table[p / block_size]. Who owns which block is the caller's business
// (the engine's block manager); the cache only stores and hands out rows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "kiln/gguf/tensor_type.h"
#include "kiln/kernels/vector_ops.h"
#include "kiln/model/model_config.h"

namespace kiln::model {

struct KvCacheOptions {
  int num_blocks = 0;
  int block_size = 16;  // token slots per block
  // kF16, kF32, or kQ8_0 (half of F16's memory; needs head sizes divisible by 32)
  gguf::TensorType type = gguf::TensorType::kF16;
};

class KvCache {
 public:
  // Storage for `options.num_blocks` blocks of every layer of `config`; kiln::Error for an
  // unsupported element type or a size that does not fit in memory.
  KvCache(const ModelConfig& config, const KvCacheOptions& options);

  int num_layers() const { return num_layers_; }
  int num_blocks() const { return num_blocks_; }
  int block_size() const { return block_size_; }
  gguf::TensorType type() const { return type_; }
  int kv_heads() const { return kv_heads_; }
  int key_length() const { return key_length_; }
  int value_length() const { return value_length_; }
  std::size_t bytes() const { return bytes_; }

  // Writes one token's keys [kv_heads][key_length] and values [kv_heads][value_length].
  void Store(int layer, int block, int slot, const float* keys, const float* values);

  // The `block_size` key (value) rows of one KV head in `block`: row r is slot r.
  kernels::RowsView Keys(int layer, int block, int kv_head) const;
  kernels::RowsView Values(int layer, int block, int kv_head) const;

 private:
  // Byte offset of a slot's row of `slot_bytes` bytes (all KV heads).
  std::size_t SlotOffset(int layer, int block, int slot, std::size_t slot_bytes) const;

  int num_layers_;
  int num_blocks_;
  int block_size_;
  gguf::TensorType type_;
  int kv_heads_;
  int key_length_;
  int value_length_;
  std::size_t key_head_bytes_;    // one head's key row
  std::size_t value_head_bytes_;  // one head's value row
  std::size_t bytes_ = 0;
  std::unique_ptr<std::uint8_t[]> keys_;    // [layer][block][slot][kv_head][key_length]
  std::unique_ptr<std::uint8_t[]> values_;  // [layer][block][slot][kv_head][value_length]
};

}  // namespace kiln::model
