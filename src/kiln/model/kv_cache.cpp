#include "kiln/model/kv_cache.h"

#include <cstring>
#include <limits>
#include <new>

#include "kiln/base/error.h"

namespace kiln::model {

KvCache::KvCache(const ModelConfig& config, const KvCacheOptions& options)
    : num_layers_(config.block_count),
      num_blocks_(options.num_blocks),
      block_size_(options.block_size),
      type_(options.type),
      kv_heads_(config.head_count_kv),
      key_length_(config.key_length),
      value_length_(config.value_length) {
  if (type_ == gguf::TensorType::kF32) {
    element_bytes_ = 4;
  } else if (type_ == gguf::TensorType::kF16) {
    element_bytes_ = 2;
  } else {
    Fail("KV cache type {} is not supported; use F16 or F32", gguf::NameOf(type_));
  }
  if (num_blocks_ < 1 || block_size_ < 1) {
    Fail("KV cache needs at least one block of at least one slot (got {} blocks of {})",
         num_blocks_, block_size_);
  }
  const std::size_t slots = static_cast<std::size_t>(num_layers_) * num_blocks_ * block_size_;
  const std::size_t per_slot = static_cast<std::size_t>(kv_heads_) * element_bytes_;
  const std::size_t max = std::numeric_limits<std::size_t>::max() / 2;
  if (slots > max / per_slot / (key_length_ + value_length_)) {
    Fail("KV cache of {} blocks of {} slots is too large", num_blocks_, block_size_);
  }
  const std::size_t key_bytes = slots * per_slot * key_length_;
  const std::size_t value_bytes = slots * per_slot * value_length_;
  bytes_ = key_bytes + value_bytes;
  try {
    // Zeroed so that reading a slot nobody wrote is a wrong answer, never undefined behaviour.
    keys_ = std::make_unique<std::uint8_t[]>(key_bytes);
    values_ = std::make_unique<std::uint8_t[]>(value_bytes);
  } catch (const std::bad_alloc&) {
    Fail("cannot allocate {} MiB for the KV cache ({} blocks of {} slots); use fewer blocks",
         bytes_ >> 20, num_blocks_, block_size_);
  }
}

std::size_t KvCache::RowOffset(int layer, int block, int slot, std::size_t row_elements) const {
  std::size_t index = (static_cast<std::size_t>(layer) * num_blocks_ + block) * block_size_ + slot;
  return index * kv_heads_ * row_elements * element_bytes_;
}

void KvCache::Store(int layer, int block, int slot, const float* keys, const float* values) {
  const std::size_t nk = static_cast<std::size_t>(kv_heads_) * key_length_;
  const std::size_t nv = static_cast<std::size_t>(kv_heads_) * value_length_;
  std::uint8_t* k = keys_.get() + RowOffset(layer, block, slot, key_length_);
  std::uint8_t* v = values_.get() + RowOffset(layer, block, slot, value_length_);
  if (type_ == gguf::TensorType::kF16) {
    kernels::ConvertToF16(keys, nk, reinterpret_cast<std::uint16_t*>(k));
    kernels::ConvertToF16(values, nv, reinterpret_cast<std::uint16_t*>(v));
  } else {
    std::memcpy(k, keys, nk * sizeof(float));
    std::memcpy(v, values, nv * sizeof(float));
  }
}

kernels::RowsView KvCache::Keys(int layer, int block, int kv_head) const {
  const std::uint8_t* base = keys_.get() + RowOffset(layer, block, 0, key_length_) +
                             static_cast<std::size_t>(kv_head) * key_length_ * element_bytes_;
  return {base, type_, static_cast<std::size_t>(kv_heads_) * key_length_};
}

kernels::RowsView KvCache::Values(int layer, int block, int kv_head) const {
  const std::uint8_t* base = values_.get() + RowOffset(layer, block, 0, value_length_) +
                             static_cast<std::size_t>(kv_head) * value_length_ * element_bytes_;
  return {base, type_, static_cast<std::size_t>(kv_heads_) * value_length_};
}

}  // namespace kiln::model
