#include "kiln/gguf/gguf_writer.h"

#include <fcntl.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <array>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

#include "kiln/base/error.h"
#include "kiln/gguf/gguf_file.h"

namespace kiln::gguf {

static_assert(std::endian::native == std::endian::little,
              "GGUF is little-endian; the writer stores values with memcpy");

namespace detail {

// Where encoded bytes go: a file or a buffer in memory.
class ByteOutput {
 public:
  virtual ~ByteOutput() = default;
  virtual void Write(std::span<const std::uint8_t> bytes) = 0;
};

}  // namespace detail

namespace {

constexpr std::size_t kMaxTensorNameBytes = 63;  // llama.cpp's GGML_MAX_NAME minus the NUL
constexpr std::uint32_t kMaxAlignment = 1u << 20;
constexpr std::uint32_t kVersion = 3;

std::uint64_t AlignUp(std::uint64_t v, std::uint64_t alignment) {
  return (v + alignment - 1) / alignment * alignment;
}

class MemoryOutput : public detail::ByteOutput {
 public:
  void Write(std::span<const std::uint8_t> bytes) override {
    bytes_.insert(bytes_.end(), bytes.begin(), bytes.end());
  }
  std::vector<std::uint8_t> Take() { return std::move(bytes_); }

 private:
  std::vector<std::uint8_t> bytes_;
};

// Buffers small writes (metadata) and passes large ones (tensor data) straight to the kernel.
class FileOutput : public detail::ByteOutput {
 public:
  explicit FileOutput(int fd) : fd_(fd) { buffer_.reserve(kBuffer); }

  void Write(std::span<const std::uint8_t> bytes) override {
    if (buffer_.size() + bytes.size() > kBuffer) Flush();
    if (bytes.size() >= kBuffer) {
      WriteAll(bytes);
    } else {
      buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
    }
  }

  void Flush() {
    WriteAll(buffer_);
    buffer_.clear();
  }

 private:
  static constexpr std::size_t kBuffer = std::size_t{1} << 20;

  void WriteAll(std::span<const std::uint8_t> bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::write(fd_, bytes.data(), bytes.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        Fail("{}", std::strerror(errno));
      }
      bytes = bytes.subspan(static_cast<std::size_t>(n));
    }
  }

  int fd_;
  std::vector<std::uint8_t> buffer_;
};

// Forwards a streamed tensor's bytes and holds its source to the size it declared.
class CheckedSink : public TensorDataSink {
 public:
  CheckedSink(detail::ByteOutput& out, const std::string& name, std::uint64_t expected)
      : out_(out), name_(name), expected_(expected) {}

  void Write(std::span<const std::uint8_t> bytes) override {
    if (bytes.size() > expected_ - written_) {
      Fail("tensor '{}': its data source wrote {} bytes, more than the {} its type and shape take",
           name_, written_ + bytes.size(), expected_);
    }
    out_.Write(bytes);
    written_ += bytes.size();
  }
  std::uint64_t written() const { return written_; }

 private:
  detail::ByteOutput& out_;
  const std::string& name_;
  std::uint64_t expected_;
  std::uint64_t written_ = 0;
};

template <typename T>
void Put(detail::ByteOutput& out, T v) {
  std::array<std::uint8_t, sizeof(T)> raw;
  std::memcpy(raw.data(), &v, sizeof(T));
  out.Write(raw);
}

void PutString(detail::ByteOutput& out, std::string_view s) {
  Put<std::uint64_t>(out, s.size());
  out.Write({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()});
}

void PutZeros(detail::ByteOutput& out, std::uint64_t n) {
  static constexpr std::array<std::uint8_t, 4096> kZeros{};
  while (n > 0) {
    std::size_t chunk = static_cast<std::size_t>(std::min<std::uint64_t>(n, kZeros.size()));
    out.Write({kZeros.data(), chunk});
    n -= chunk;
  }
}

// The value's payload, without its type tag.
void PutValue(detail::ByteOutput& out, const Value& value) {
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          PutString(out, v);
        } else if constexpr (std::is_same_v<T, Array>) {
          Put<std::uint32_t>(out, static_cast<std::uint32_t>(v.element_type));
          Put<std::uint64_t>(out, v.items.size());
          for (const Value& item : v.items) PutValue(out, item);
        } else if constexpr (std::is_same_v<T, bool>) {
          Put<std::uint8_t>(out, v ? 1 : 0);
        } else {
          Put<T>(out, v);
        }
      },
      value.storage());
}

std::uint64_t EncodedSize(const Value& value) {
  return std::visit(
      [](const auto& v) -> std::uint64_t {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return 8 + v.size();
        } else if constexpr (std::is_same_v<T, Array>) {
          std::uint64_t size = 4 + 8;
          for (const Value& item : v.items) size += EncodedSize(item);
          return size;
        } else if constexpr (std::is_same_v<T, bool>) {
          return 1;
        } else {
          return sizeof(T);
        }
      },
      value.storage());
}

void ValidateValue(std::string_view key, const Value& value, int depth) {
  if (!value.is_array()) return;
  if (depth >= kMaxArrayNesting) {
    Fail("metadata '{}': arrays nested deeper than {} levels cannot be read back", key,
         kMaxArrayNesting);
  }
  const Array& array = value.AsArray();
  if (static_cast<std::uint32_t>(array.element_type) >
      static_cast<std::uint32_t>(ValueType::kFloat64)) {
    Fail("metadata '{}': array element type {} is not a GGUF value type", key,
         static_cast<std::uint32_t>(array.element_type));
  }
  for (std::size_t i = 0; i < array.items.size(); ++i) {
    if (array.items[i].type() != array.element_type) {
      Fail("metadata '{}': item {} of an array of {} is a {}", key, i, NameOf(array.element_type),
           NameOf(array.items[i].type()));
    }
    ValidateValue(key, array.items[i], depth + 1);
  }
}

// Removes the temporary file unless the write completed and renamed it.
class TempFile {
 public:
  explicit TempFile(const std::string& target) {
    std::random_device random;
    for (int attempt = 0; attempt < 16; ++attempt) {
      path_ = fmt::format("{}.tmp-{}-{:08x}", target, ::getpid(), random());
      fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (fd_ >= 0) return;
      if (errno != EEXIST) break;
    }
    Fail("cannot create '{}' (temporary file for writing '{}'): {}", path_, target,
         std::strerror(errno));
  }
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  int fd() const { return fd_; }

  // Flushes to disk and renames over `target`.
  void Commit(const std::string& target) {
    if (::fsync(fd_) != 0) Fail("cannot write '{}': fsync: {}", target, std::strerror(errno));
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) Fail("cannot write '{}': close: {}", target, std::strerror(errno));
    if (::rename(path_.c_str(), target.c_str()) != 0) {
      Fail("cannot rename '{}' to '{}': {}", path_, target, std::strerror(errno));
    }
    committed_ = true;
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool committed_ = false;
};

}  // namespace

void GgufWriter::Set(std::string key, Value value) {
  if (key.empty()) Fail("metadata keys must not be empty");
  ValidateValue(key, value, 0);
  if (key == "general.alignment") {
    if (value.type() != ValueType::kUInt32) {
      Fail("general.alignment must be a uint32, not a {}", NameOf(value.type()));
    }
    std::uint64_t a = value.AsUInt();
    if (a == 0 || (a & (a - 1)) != 0 || a > kMaxAlignment) {
      Fail("general.alignment {} is not a power of two up to 1 MiB", a);
    }
  }
  for (auto& [k, v] : metadata_) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  metadata_.emplace_back(std::move(key), std::move(value));
}

bool GgufWriter::Remove(std::string_view key) {
  for (auto it = metadata_.begin(); it != metadata_.end(); ++it) {
    if (it->first == key) {
      metadata_.erase(it);
      return true;
    }
  }
  return false;
}

const Value* GgufWriter::Find(std::string_view key) const {
  for (const auto& [k, v] : metadata_) {
    if (k == key) return &v;
  }
  return nullptr;
}

std::uint32_t GgufWriter::alignment() const {
  const Value* a = Find("general.alignment");
  return a == nullptr ? kDefaultAlignment : static_cast<std::uint32_t>(a->AsUInt());
}

GgufWriter::PendingTensor& GgufWriter::Declare(std::string name, TensorType type,
                                               std::vector<std::uint64_t> shape) {
  if (name.empty() || name.size() > kMaxTensorNameBytes) {
    Fail("tensor name '{}' must be 1 to {} bytes long", name, kMaxTensorNameBytes);
  }
  for (const PendingTensor& t : tensors_) {
    if (t.name == name) Fail("tensor '{}' is added twice", name);
  }
  if (shape.empty() || shape.size() > kMaxDims) {
    Fail("tensor '{}' has {} dimensions (must be 1..{})", name, shape.size(), kMaxDims);
  }
  if (!TraitsOf(static_cast<std::uint32_t>(type))) {
    Fail("tensor '{}' has unknown tensor type {}", name, static_cast<std::uint32_t>(type));
  }
  std::uint64_t elements = 1;
  for (std::uint64_t dim : shape) {
    if (dim > kMaxTensorElements || (dim != 0 && elements > kMaxTensorElements / dim)) {
      Fail("tensor '{}' has more than 2^60 elements", name);
    }
    elements *= dim;
  }
  TensorTypeTraits traits = TraitsOf(type);
  if (shape[0] % traits.block_elements != 0) {
    Fail("tensor '{}' of type {} has rows of {} elements, not a multiple of its block size {}",
         name, traits.name, shape[0], traits.block_elements);
  }
  PendingTensor& t = tensors_.emplace_back();
  t.name = std::move(name);
  t.type = type;
  t.shape = std::move(shape);
  t.byte_size = elements / traits.block_elements * traits.block_bytes;
  return t;
}

void GgufWriter::CheckDataSize(const PendingTensor& t, std::uint64_t size) const {
  if (size != t.byte_size) {
    Fail("tensor '{}' of type {} and shape [{}] takes {} bytes, but {} were given", t.name,
         NameOf(t.type), fmt::join(t.shape, ", "), t.byte_size, size);
  }
}

void GgufWriter::AddTensor(std::string name, TensorType type, std::vector<std::uint64_t> shape,
                           std::span<const std::uint8_t> data) {
  PendingTensor& t = Declare(std::move(name), type, std::move(shape));
  try {
    CheckDataSize(t, data.size());
  } catch (...) {
    tensors_.pop_back();
    throw;
  }
  t.data = data;
}

void GgufWriter::AddOwnedTensor(std::string name, TensorType type, std::vector<std::uint64_t> shape,
                                std::vector<std::uint8_t>&& data) {
  PendingTensor& t = Declare(std::move(name), type, std::move(shape));
  try {
    CheckDataSize(t, data.size());
  } catch (...) {
    tensors_.pop_back();
    throw;
  }
  t.data = std::move(data);
}

void GgufWriter::AddStreamedTensor(std::string name, TensorType type,
                                   std::vector<std::uint64_t> shape, TensorDataSource source) {
  if (!source) Fail("tensor '{}' has no data source", name);
  Declare(std::move(name), type, std::move(shape)).data = std::move(source);
}

std::uint64_t GgufWriter::file_size() const {
  std::uint64_t size = 4 + 4 + 8 + 8;
  for (const auto& [key, value] : metadata_) size += 8 + key.size() + 4 + EncodedSize(value);
  if (tensors_.empty()) return size;
  std::uint64_t align = alignment();
  std::uint64_t data = 0;
  for (const PendingTensor& t : tensors_) {
    size += 8 + t.name.size() + 4 + 8 * t.shape.size() + 4 + 8;
    data += AlignUp(t.byte_size, align);
  }
  return AlignUp(size, align) + data;
}

void GgufWriter::WriteTo(detail::ByteOutput& out) const {
  const std::uint64_t align = alignment();
  Put<std::uint32_t>(out, kMagic);
  Put<std::uint32_t>(out, kVersion);
  Put<std::uint64_t>(out, tensors_.size());
  Put<std::uint64_t>(out, metadata_.size());
  std::uint64_t pos = 24;
  for (const auto& [key, value] : metadata_) {
    PutString(out, key);
    Put<std::uint32_t>(out, static_cast<std::uint32_t>(value.type()));
    PutValue(out, value);
    pos += 8 + key.size() + 4 + EncodedSize(value);
  }
  if (tensors_.empty()) return;  // like llama.cpp's vocabulary files: no padding, no data

  std::uint64_t offset = 0;
  for (const PendingTensor& t : tensors_) {
    PutString(out, t.name);
    Put<std::uint32_t>(out, static_cast<std::uint32_t>(t.shape.size()));
    for (std::uint64_t dim : t.shape) Put<std::uint64_t>(out, dim);
    Put<std::uint32_t>(out, static_cast<std::uint32_t>(t.type));
    Put<std::uint64_t>(out, offset);
    offset += AlignUp(t.byte_size, align);
    pos += 8 + t.name.size() + 4 + 8 * t.shape.size() + 4 + 8;
  }
  PutZeros(out, AlignUp(pos, align) - pos);

  for (const PendingTensor& t : tensors_) {
    if (const auto* span = std::get_if<std::span<const std::uint8_t>>(&t.data)) {
      out.Write(*span);
    } else if (const auto* owned = std::get_if<std::vector<std::uint8_t>>(&t.data)) {
      out.Write(*owned);
    } else {
      CheckedSink sink(out, t.name, t.byte_size);
      std::get<TensorDataSource>(t.data)(sink);
      if (sink.written() != t.byte_size) {
        Fail("tensor '{}': its data source wrote {} bytes, but its type and shape take {}", t.name,
             sink.written(), t.byte_size);
      }
    }
    PutZeros(out, AlignUp(t.byte_size, align) - t.byte_size);
  }
}

std::vector<std::uint8_t> GgufWriter::Serialize() const {
  MemoryOutput out;
  WriteTo(out);
  return out.Take();
}

void GgufWriter::Write(const std::string& path) const {
  TempFile temp(path);
  FileOutput out(temp.fd());
  try {
    WriteTo(out);
    out.Flush();
  } catch (const Error& e) {
    Fail("cannot write '{}': {}", path, e.what());
  }
  temp.Commit(path);
  // Make the rename itself durable; a failure here leaves a complete file, so it is not an error.
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  int dir_fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

}  // namespace kiln::gguf
