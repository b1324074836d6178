#include "kiln/model/kv_cache.h"

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
  if (!kernels::IsRowType(type_)) {
    Fail("KV cache type {} is not supported; use one of {}", gguf::NameOf(type_),
         kernels::kRowTypes);
  }
  const std::uint32_t block_elements = gguf::TraitsOf(type_).block_elements;
  if (key_length_ % block_elements != 0 || value_length_ % block_elements != 0) {
    Fail("a {} KV cache needs head sizes divisible by {}, but keys have {} and values {}; use F16",
         gguf::NameOf(type_), block_elements, key_length_, value_length_);
  }
  key_head_bytes_ = gguf::RowBytes(type_, key_length_);
  value_head_bytes_ = gguf::RowBytes(type_, value_length_);
  if (num_blocks_ < 1 || block_size_ < 1) {
    Fail("KV cache needs at least one block of at least one slot (got {} blocks of {})",
         num_blocks_, block_size_);
  }
  const std::size_t slots = static_cast<std::size_t>(num_layers_) * num_blocks_ * block_size_;
  const std::size_t per_slot =
      static_cast<std::size_t>(kv_heads_) * (key_head_bytes_ + value_head_bytes_);
  if (slots > std::numeric_limits<std::size_t>::max() / 2 / per_slot) {
    Fail("KV cache of {} blocks of {} slots is too large", num_blocks_, block_size_);
  }
  const std::size_t key_bytes = slots * kv_heads_ * key_head_bytes_;
  const std::size_t value_bytes = slots * kv_heads_ * value_head_bytes_;
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

std::size_t KvCache::SlotOffset(int layer, int block, int slot, std::size_t slot_bytes) const {
  const std::size_t index =
      (static_cast<std::size_t>(layer) * num_blocks_ + block) * block_size_ + slot;
  return index * slot_bytes;
}

void KvCache::Store(int layer, int block, int slot, const float* keys, const float* values) {
  // Head by head: a quantization block never spans two heads.
  std::uint8_t* k = keys_.get() + SlotOffset(layer, block, slot, kv_heads_ * key_head_bytes_);
  std::uint8_t* v = values_.get() + SlotOffset(layer, block, slot, kv_heads_ * value_head_bytes_);
  for (int h = 0; h < kv_heads_; ++h) {
    kernels::ConvertRow(keys + h * key_length_, key_length_, type_, k + h * key_head_bytes_);
    kernels::ConvertRow(values + h * value_length_, value_length_, type_,
                        v + h * value_head_bytes_);
  }
}

kernels::RowsView KvCache::Keys(int layer, int block, int kv_head) const {
  const std::uint8_t* base = keys_.get() +
                             SlotOffset(layer, block, 0, kv_heads_ * key_head_bytes_) +
                             kv_head * key_head_bytes_;
  return {base, type_, static_cast<std::size_t>(kv_heads_) * key_length_};
}

kernels::RowsView KvCache::Values(int layer, int block, int kv_head) const {
  const std::uint8_t* base = values_.get() +
                             SlotOffset(layer, block, 0, kv_heads_ * value_head_bytes_) +
                             kv_head * value_head_bytes_;
  return {base, type_, static_cast<std::size_t>(kv_heads_) * value_length_};
}

}  // namespace kiln::model
