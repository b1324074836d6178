#include "kiln/gguf/gguf_file.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "kiln/base/error.h"

namespace kiln::gguf {
namespace {

// Smallest encoding of one value of each type: bounds a count before anything is reserved.
std::uint64_t MinEncodedSize(ValueType type) {
  switch (type) {
    case ValueType::kUInt8:
    case ValueType::kInt8:
    case ValueType::kBool: return 1;
    case ValueType::kUInt16:
    case ValueType::kInt16: return 2;
    case ValueType::kUInt32:
    case ValueType::kInt32:
    case ValueType::kFloat32: return 4;
    case ValueType::kUInt64:
    case ValueType::kInt64:
    case ValueType::kFloat64:
    case ValueType::kString: return 8;  // the length prefix
    case ValueType::kArray: return 12;  // element type + count
  }
  return 1;
}

// A bounds-checked little-endian cursor over the file's bytes.
class Reader {
 public:
  Reader(std::span<const std::uint8_t> bytes, const std::string& name) : bytes_(bytes), name_(name) {}

  std::uint64_t pos() const { return pos_; }
  std::uint64_t remaining() const { return bytes_.size() - pos_; }

  void Need(std::uint64_t n, std::string_view what) const {
    if (n > remaining()) {
      Fail("{}: truncated file: {} needs {} bytes at offset {} but only {} remain (file size {})",
           name_, what, n, pos_, remaining(), bytes_.size());
    }
  }

  template <typename T>
  T Read(std::string_view what) {
    Need(sizeof(T), what);
    T v;
    std::memcpy(&v, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  std::string ReadString(std::string_view what) {
    auto len = Read<std::uint64_t>(what);
    Need(len, what);
    std::string s(reinterpret_cast<const char*>(bytes_.data() + pos_), static_cast<std::size_t>(len));
    pos_ += len;
    return s;
  }

  Value ReadValue(ValueType type, std::string_view key, int depth) {
    switch (type) {
      case ValueType::kUInt8: return Read<std::uint8_t>(key);
      case ValueType::kInt8: return Read<std::int8_t>(key);
      case ValueType::kUInt16: return Read<std::uint16_t>(key);
      case ValueType::kInt16: return Read<std::int16_t>(key);
      case ValueType::kUInt32: return Read<std::uint32_t>(key);
      case ValueType::kInt32: return Read<std::int32_t>(key);
      case ValueType::kFloat32: return Read<float>(key);
      case ValueType::kUInt64: return Read<std::uint64_t>(key);
      case ValueType::kInt64: return Read<std::int64_t>(key);
      case ValueType::kFloat64: return Read<double>(key);
      case ValueType::kBool: {
        auto b = Read<std::uint8_t>(key);
        if (b > 1) Fail("{}: metadata '{}': bool value {} is neither 0 nor 1", name_, key, b);
        return b == 1;
      }
      case ValueType::kString: return ReadString(key);
      case ValueType::kArray: return ReadArray(key, depth);
    }
    Fail("{}: metadata '{}': unknown value type {}", name_, key, static_cast<std::uint32_t>(type));
  }

  ValueType ReadValueType(std::string_view key) {
    auto raw = Read<std::uint32_t>(key);
    if (raw > static_cast<std::uint32_t>(ValueType::kFloat64)) {
      Fail("{}: metadata '{}': unknown value type {} (valid types are 0..12)", name_, key, raw);
    }
    return static_cast<ValueType>(raw);
  }

 private:
  Value ReadArray(std::string_view key, int depth) {
    if (depth >= kMaxArrayNesting) {
      Fail("{}: metadata '{}': arrays nested deeper than {} levels", name_, key, kMaxArrayNesting);
    }
    Array array;
    array.element_type = ReadValueType(key);
    auto count = Read<std::uint64_t>(key);
    std::uint64_t min_size = MinEncodedSize(array.element_type);
    if (count > remaining() / min_size) {
      Fail("{}: metadata '{}': array claims {} elements of type {} but only {} bytes remain; the "
           "file is truncated or corrupt",
           name_, key, count, NameOf(array.element_type), remaining());
    }
    array.items.reserve(static_cast<std::size_t>(count));
    for (std::uint64_t i = 0; i < count; ++i) {
      array.items.push_back(ReadValue(array.element_type, key, depth + 1));
    }
    return Value(std::move(array));
  }

  std::span<const std::uint8_t> bytes_;
  const std::string& name_;
  std::uint64_t pos_ = 0;
};

std::uint64_t AlignUp(std::uint64_t v, std::uint64_t alignment) {
  return (v + alignment - 1) / alignment * alignment;
}

}  // namespace

GgufFile GgufFile::Open(const std::string& path) {
  GgufFile file;
  file.map_ = std::make_unique<MappedFile>(path);
  file.name_ = path;
  file.ParseAll(file.map_->bytes());
  return file;
}

GgufFile GgufFile::Parse(std::span<const std::uint8_t> bytes, std::string name) {
  GgufFile file;
  file.name_ = std::move(name);
  file.ParseAll(bytes);
  return file;
}

void GgufFile::ParseAll(std::span<const std::uint8_t> bytes) {
  file_size_ = bytes.size();
  Reader in(bytes, name_);

  if (bytes.size() < 4) Fail("{}: not a GGUF file: only {} bytes long", name_, bytes.size());
  auto magic = in.Read<std::uint32_t>("magic");
  if (magic != kMagic) {
    Fail("{}: not a GGUF file: bad magic 0x{:08x} (expected \"GGUF\")", name_, magic);
  }
  version_ = in.Read<std::uint32_t>("version");
  if (version_ == 1) {
    Fail("{}: GGUF version 1 is not supported; convert the model again with a current converter", name_);
  }
  if (version_ != 2 && version_ != 3) {
    // A big-endian file keeps the magic bytes in order but stores the version byte-swapped.
    std::uint32_t swapped = __builtin_bswap32(version_);
    if (swapped == 2 || swapped == 3) {
      Fail("{}: big-endian GGUF file (version {}); only little-endian files are supported", name_,
           swapped);
    }
    Fail("{}: unsupported GGUF version {} (supported: 2 and 3, little-endian)", name_, version_);
  }
  auto tensor_count = in.Read<std::uint64_t>("tensor count");
  auto kv_count = in.Read<std::uint64_t>("metadata count");
  // Each key/value takes at least 8 (key length) + 4 (type) + 1 bytes; each tensor info 8+4+8+4+8.
  if (kv_count > in.remaining() / 13) {
    Fail("{}: header claims {} metadata entries but the file has room for at most {}; the file is "
         "truncated or corrupt",
         name_, kv_count, in.remaining() / 13);
  }
  metadata_.reserve(static_cast<std::size_t>(kv_count));
  for (std::uint64_t i = 0; i < kv_count; ++i) {
    std::string key = in.ReadString(fmt::format("metadata key #{}", i));
    ValueType type = in.ReadValueType(key);
    Value value = in.ReadValue(type, key, 0);
    if (!metadata_index_.emplace(key, metadata_.size()).second) {
      Fail("{}: metadata key '{}' appears twice", name_, key);
    }
    metadata_.emplace_back(std::move(key), std::move(value));
  }

  if (const Value* a = Find("general.alignment")) {
    if (a->type() != ValueType::kUInt32) {
      Fail("{}: general.alignment must be a uint32, found a {}", name_, NameOf(a->type()));
    }
    std::uint64_t align = a->AsUInt();
    if (align == 0 || (align & (align - 1)) != 0 || align > (1u << 20)) {
      Fail("{}: general.alignment {} is not a power of two up to 1 MiB", name_, align);
    }
    alignment_ = static_cast<std::uint32_t>(align);
  }

  if (tensor_count > in.remaining() / 32) {
    Fail("{}: header claims {} tensors but the file has room for at most {}; the file is truncated "
         "or corrupt",
         name_, tensor_count, in.remaining() / 32);
  }
  tensors_.reserve(static_cast<std::size_t>(tensor_count));
  for (std::uint64_t i = 0; i < tensor_count; ++i) {
    TensorInfo t;
    t.name = in.ReadString(fmt::format("name of tensor #{}", i));
    std::string what = fmt::format("tensor '{}'", t.name);
    auto n_dims = in.Read<std::uint32_t>(what);
    if (n_dims == 0 || n_dims > kMaxDims) {
      Fail("{}: {} has {} dimensions (must be 1..{})", name_, what, n_dims, kMaxDims);
    }
    t.element_count = 1;
    for (std::uint32_t d = 0; d < n_dims; ++d) {
      auto dim = in.Read<std::uint64_t>(what);
      constexpr std::uint64_t kLimit = kMaxTensorElements;
      if (dim > kLimit || (dim != 0 && t.element_count > kLimit / dim)) {
        Fail("{}: {} has dimensions whose product overflows (dimension {} is {})", name_, what, d, dim);
      }
      t.element_count *= dim;
      t.shape.push_back(dim);
    }
    auto raw_type = in.Read<std::uint32_t>(what);
    auto traits = TraitsOf(raw_type);
    if (!traits) Fail("{}: {} has unknown tensor type {}", name_, what, raw_type);
    t.type = static_cast<TensorType>(raw_type);
    if (t.shape[0] % traits->block_elements != 0) {
      Fail("{}: {} of type {} has rows of {} elements, not a multiple of its block size {}", name_,
           what, traits->name, t.shape[0], traits->block_elements);
    }
    t.byte_size = t.element_count / traits->block_elements * traits->block_bytes;
    t.offset = in.Read<std::uint64_t>(what);
    if (t.offset % alignment_ != 0) {
      Fail("{}: {} starts at data offset {}, which is not a multiple of the alignment {}", name_,
           what, t.offset, alignment_);
    }
    if (!tensor_index_.emplace(t.name, tensors_.size()).second) {
      Fail("{}: tensor name '{}' appears twice", name_, t.name);
    }
    tensors_.push_back(std::move(t));
  }

  data_offset_ = AlignUp(in.pos(), alignment_);
  if (tensors_.empty()) {
    // Vocabulary-only files end right after the metadata, without padding to the alignment.
    data_offset_ = std::min(data_offset_, file_size_);
  } else if (data_offset_ > file_size_) {
    Fail("{}: truncated file: the tensor data section should start at offset {} but the file is {} "
         "bytes long",
         name_, data_offset_, file_size_);
  }
  std::uint64_t data_size = file_size_ - data_offset_;

  // Bounds and overlap, checked on tensors sorted by offset.
  std::vector<const TensorInfo*> by_offset;
  by_offset.reserve(tensors_.size());
  for (const TensorInfo& t : tensors_) {
    if (t.offset > data_size || t.byte_size > data_size - t.offset) {
      Fail("{}: tensor '{}' ({} bytes at data offset {}) extends past the end of the file (data "
           "section is {} bytes); the file is truncated or corrupt",
           name_, t.name, t.byte_size, t.offset, data_size);
    }
    by_offset.push_back(&t);
  }
  std::stable_sort(by_offset.begin(), by_offset.end(),
            [](const TensorInfo* a, const TensorInfo* b) { return a->offset < b->offset; });
  for (std::size_t i = 1; i < by_offset.size(); ++i) {
    const TensorInfo& prev = *by_offset[i - 1];
    if (prev.offset + prev.byte_size > by_offset[i]->offset) {
      Fail("{}: tensors '{}' and '{}' overlap in the data section", name_, prev.name,
           by_offset[i]->name);
    }
  }
  // Writers pad the data section only up to the alignment. More bytes than that after the last
  // tensor mean the header lost tensors (a lying tensor or metadata count) or the file is damaged.
  std::uint64_t data_end = 0;
  for (const TensorInfo* t : by_offset) data_end = std::max(data_end, t->offset + t->byte_size);
  if (data_size - data_end >= alignment_) {
    Fail("{}: {} unexplained bytes follow the {} (at most {} bytes of padding are expected); the "
         "header's tensor count is wrong or the file is corrupt",
         name_, data_size - data_end,
         tensors_.empty() ? "metadata in a file without tensors" : "last tensor's data",
         alignment_ - 1);
  }
  for (TensorInfo& t : tensors_) t.data = bytes.data() + data_offset_ + t.offset;
}

const Value* GgufFile::Find(std::string_view key) const {
  auto it = metadata_index_.find(key);
  return it == metadata_index_.end() ? nullptr : &metadata_[it->second].second;
}

namespace {
template <typename F>
auto Typed(const GgufFile& f, std::string_view key, F&& get) -> std::optional<decltype(get(Value{}))> {
  const Value* v = f.Find(key);
  if (v == nullptr) return std::nullopt;
  try {
    return get(*v);
  } catch (const Error& e) {
    Fail("{}: metadata '{}': {}", f.path(), key, e.what());
  }
}
}  // namespace

std::optional<std::string> GgufFile::GetString(std::string_view key) const {
  return Typed(*this, key, [](const Value& v) { return v.AsString(); });
}
std::optional<std::uint64_t> GgufFile::GetUInt(std::string_view key) const {
  return Typed(*this, key, [](const Value& v) { return v.AsUInt(); });
}
std::optional<std::int64_t> GgufFile::GetInt(std::string_view key) const {
  return Typed(*this, key, [](const Value& v) { return v.AsInt(); });
}
std::optional<double> GgufFile::GetDouble(std::string_view key) const {
  return Typed(*this, key, [](const Value& v) { return v.AsDouble(); });
}
std::optional<bool> GgufFile::GetBool(std::string_view key) const {
  return Typed(*this, key, [](const Value& v) { return v.AsBool(); });
}

const Array* GgufFile::GetArray(std::string_view key) const {
  const Value* v = Find(key);
  if (v == nullptr) return nullptr;
  if (!v->is_array()) Fail("{}: metadata '{}' should be an array, found a {}", name_, key, NameOf(v->type()));
  return &v->AsArray();
}

std::string GgufFile::RequireString(std::string_view key) const {
  auto v = GetString(key);
  if (!v) Fail("{}: required metadata '{}' is missing", name_, key);
  return *v;
}

std::uint64_t GgufFile::RequireUInt(std::string_view key) const {
  auto v = GetUInt(key);
  if (!v) Fail("{}: required metadata '{}' is missing", name_, key);
  return *v;
}

const Array& GgufFile::RequireArray(std::string_view key) const {
  const Array* a = GetArray(key);
  if (a == nullptr) Fail("{}: required metadata '{}' is missing", name_, key);
  return *a;
}

std::string GgufFile::architecture() const { return GetString("general.architecture").value_or(""); }

const TensorInfo* GgufFile::FindTensor(std::string_view name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const TensorInfo& GgufFile::RequireTensor(std::string_view name) const {
  const TensorInfo* t = FindTensor(name);
  if (t == nullptr) Fail("{}: tensor '{}' is missing from the model", name_, name);
  return *t;
}

}  // namespace kiln::gguf
