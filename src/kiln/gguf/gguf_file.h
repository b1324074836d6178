// GgufFile: a parsed, validated GGUF file (v2 or v3). Owns the memory map; metadata is parsed
// into Values, tensor data stays in the map and is exposed as views. Every structural problem
// (bad magic, truncation, lying counts, out-of-bounds or overlapping tensors, unknown types,
// overflowing shapes) is a kiln::Error naming the file and the problem.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/base/mapped_file.h"
#include "kiln/gguf/tensor_type.h"
#include "kiln/gguf/value.h"

namespace kiln::gguf {

inline constexpr std::uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian uint32
inline constexpr std::uint32_t kDefaultAlignment = 32;
inline constexpr std::size_t kMaxDims = 4;
// Largest element count of one tensor. At most 8 bytes per element (F64, I64) keeps byte sizes
// below 2^63, so sizes and offsets computed from a shape cannot wrap.
inline constexpr std::uint64_t kMaxTensorElements = std::uint64_t{1} << 60;

struct TensorInfo {
  std::string name;
  std::vector<std::uint64_t> shape;  // ggml order: shape[0] is the contiguous (row) dimension
  TensorType type = TensorType::kF32;
  std::uint64_t offset = 0;  // from the start of the tensor data section
  std::uint64_t element_count = 0;
  std::uint64_t byte_size = 0;
  const std::uint8_t* data = nullptr;  // into the file's memory map

  std::span<const std::uint8_t> bytes() const { return {data, static_cast<std::size_t>(byte_size)}; }
  std::uint64_t rows() const { return shape.empty() ? 0 : element_count / shape[0]; }
};

class GgufFile {
 public:
  // Maps and parses a file.
  static GgufFile Open(const std::string& path);
  // Parses bytes the caller keeps alive for the lifetime of the result (tests, fuzzing).
  // `name` stands for the file in error messages.
  static GgufFile Parse(std::span<const std::uint8_t> bytes, std::string name);

  GgufFile(GgufFile&&) noexcept = default;
  GgufFile& operator=(GgufFile&&) noexcept = default;

  const std::string& path() const { return name_; }
  std::uint32_t version() const { return version_; }
  std::uint32_t alignment() const { return alignment_; }
  std::uint64_t file_size() const { return file_size_; }
  std::uint64_t data_offset() const { return data_offset_; }

  // Metadata in file order, and by key.
  const std::vector<std::pair<std::string, Value>>& metadata() const { return metadata_; }
  const Value* Find(std::string_view key) const;
  bool Has(std::string_view key) const { return Find(key) != nullptr; }

  // Typed lookups: nullopt when absent; kiln::Error naming the key when present with the wrong type.
  std::optional<std::string> GetString(std::string_view key) const;
  std::optional<std::uint64_t> GetUInt(std::string_view key) const;
  std::optional<std::int64_t> GetInt(std::string_view key) const;
  std::optional<double> GetDouble(std::string_view key) const;
  std::optional<bool> GetBool(std::string_view key) const;
  const Array* GetArray(std::string_view key) const;
  // As above but a missing key is a kiln::Error too.
  std::string RequireString(std::string_view key) const;
  std::uint64_t RequireUInt(std::string_view key) const;
  const Array& RequireArray(std::string_view key) const;

  // "general.architecture", or an empty string when the file does not say.
  std::string architecture() const;

  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* FindTensor(std::string_view name) const;
  const TensorInfo& RequireTensor(std::string_view name) const;

 private:
  GgufFile() = default;
  void ParseAll(std::span<const std::uint8_t> bytes);

  std::unique_ptr<MappedFile> map_;  // null when parsed from caller-owned bytes
  std::string name_;
  std::uint32_t version_ = 0;
  std::uint32_t alignment_ = kDefaultAlignment;
  std::uint64_t file_size_ = 0;
  std::uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, Value>> metadata_;
  std::map<std::string, std::size_t, std::less<>> metadata_index_;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, std::size_t, std::less<>> tensor_index_;
};

}  // namespace kiln::gguf
