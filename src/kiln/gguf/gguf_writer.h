// GgufWriter: builds a GGUF v3 file (little-endian) from metadata and tensors and writes it
// atomically (a temporary file renamed over the target). Tensor data is never copied by the
// writer: it is borrowed from the caller, moved in, or produced by a callback while the file is
// written, so a quantizer can stream a model far larger than memory.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "kiln/gguf/tensor_type.h"
#include "kiln/gguf/value.h"

namespace kiln::gguf {
namespace detail {
class ByteOutput;
}  // namespace detail

// Receives the bytes of one streamed tensor, in order, in pieces of any size.
class TensorDataSink {
 public:
  virtual ~TensorDataSink() = default;
  virtual void Write(std::span<const std::uint8_t> bytes) = 0;
};

// Produces one tensor's bytes into the sink when the file is written; it must write exactly the
// tensor's byte size. Called once per Write/Serialize, so it must be repeatable if the writer is
// written more than once.
using TensorDataSource = std::function<void(TensorDataSink& out)>;

class GgufWriter {
 public:
  // Sets metadata `key`. Keys keep the order in which they were first set; setting a key again
  // replaces its value in place. Arrays must hold items of their element type only, nested at
  // most kMaxArrayNesting deep. "general.alignment" must be a uint32 power of two up to 1 MiB
  // and sets the alignment of the tensor data. Throws kiln::Error on invalid input.
  void Set(std::string key, Value value);
  // Removes `key`; returns whether it was there.
  bool Remove(std::string_view key);
  const Value* Find(std::string_view key) const;
  const std::vector<std::pair<std::string, Value>>& metadata() const { return metadata_; }

  // Adds a tensor. `shape` is in ggml order (shape[0] is the row length, a multiple of the type's
  // block size), 1 to 4 dimensions; names are unique, 1 to 63 bytes (llama.cpp's limit). The
  // data's size must be exactly what type and shape require. Tensors are written in the order
  // they were added. Throws kiln::Error naming the tensor on invalid input.
  //
  // Borrowed: `data` must stay valid until the last Write/Serialize call.
  void AddTensor(std::string name, TensorType type, std::vector<std::uint64_t> shape,
                 std::span<const std::uint8_t> data);
  // Owned: the bytes move into the writer.
  void AddOwnedTensor(std::string name, TensorType type, std::vector<std::uint64_t> shape,
                      std::vector<std::uint8_t>&& data);
  // Streamed: `source` writes the bytes when the file is written.
  void AddStreamedTensor(std::string name, TensorType type, std::vector<std::uint64_t> shape,
                         TensorDataSource source);

  std::size_t tensor_count() const { return tensors_.size(); }
  // The data alignment: general.alignment when set, else 32.
  std::uint32_t alignment() const;
  // Exactly how many bytes Write/Serialize will produce.
  std::uint64_t file_size() const;

  // Writes the file to `path` through a temporary file in the same directory that is renamed
  // over `path` once complete and flushed; on any error the temporary file is removed and `path`
  // is untouched. Throws kiln::Error naming the path.
  void Write(const std::string& path) const;
  // The same bytes, in memory (tests, fuzzing seeds, small files).
  std::vector<std::uint8_t> Serialize() const;

 private:
  struct PendingTensor {
    std::string name;
    TensorType type;
    std::vector<std::uint64_t> shape;
    std::uint64_t byte_size = 0;
    std::variant<std::span<const std::uint8_t>, std::vector<std::uint8_t>, TensorDataSource> data;
  };
  PendingTensor& Declare(std::string name, TensorType type, std::vector<std::uint64_t> shape);
  void CheckDataSize(const PendingTensor& t, std::uint64_t size) const;
  void WriteTo(detail::ByteOutput& out) const;

  std::vector<std::pair<std::string, Value>> metadata_;
  std::vector<PendingTensor> tensors_;
};

}  // namespace kiln::gguf
