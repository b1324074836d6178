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
  int block_size = 16;                             // token slots per block
  gguf::TensorType type = gguf::TensorType::kF16;  // kF16 or kF32
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
  std::size_t RowOffset(int layer, int block, int slot, std::size_t row_elements) const;

  int num_layers_;
  int num_blocks_;
  int block_size_;
  gguf::TensorType type_;
  int kv_heads_;
  int key_length_;
  int value_length_;
  std::size_t element_bytes_;
  std::size_t bytes_ = 0;
  std::unique_ptr<std::uint8_t[]> keys_;    // [layer][block][slot][kv_head][key_length]
  std::unique_ptr<std::uint8_t[]> values_;  // [layer][block][slot][kv_head][value_length]
};

}  // namespace kiln::model
