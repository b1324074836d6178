// A corpus of damaged GGUF files, made by cutting and patching a valid one from GgufWriter: every
// one must be refused with a kiln::Error that names the file and the problem, and none may crash
// (this suite runs under ASan+UBSan, so an out-of-bounds read fails it too).
#include <gtest/gtest.h>

#include <cstring>
#include <initializer_list>
#include <random>
#include <string>
#include <vector>

#include "gguf/gguf_test_util.h"
#include "kiln/base/error.h"
#include "kiln/gguf/gguf_file.h"
#include "kiln/gguf/gguf_writer.h"
#include "kiln/gguf/model_summary.h"

namespace kiln::gguf {
namespace {

using Bytes = std::vector<std::uint8_t>;
const std::string kName = "corrupt.gguf";

// The valid file every case starts from, with the offsets of the fields the cases patch.
struct Sample {
  Bytes bytes;
  std::uint64_t data_offset = 0;
  std::uint64_t data_end = 0;                // end of the last tensor's data (the rest is padding)
  std::vector<std::uint64_t> kv_starts;      // offset of each key/value, then of the first tensor
  std::vector<std::uint64_t> tensor_starts;  // offset of each tensor info, then of the padding
};

std::uint64_t Find(const Bytes& bytes, std::string_view text) {
  auto it = std::search(bytes.begin(), bytes.end(), text.begin(), text.end());
  EXPECT_NE(it, bytes.end()) << text;
  return static_cast<std::uint64_t>(it - bytes.begin());
}
// Offset of the length prefix of the GGUF string `text`.
std::uint64_t FindString(const Bytes& bytes, std::string_view text) {
  return Find(bytes, text) - 8;
}

template <typename T>
void Patch(Bytes& bytes, std::uint64_t offset, T value) {
  ASSERT_LE(offset + sizeof(T), bytes.size());
  std::memcpy(bytes.data() + offset, &value, sizeof(T));
}
template <typename T>
T Peek(const Bytes& bytes, std::uint64_t offset) {
  T v;
  std::memcpy(&v, bytes.data() + offset, sizeof(T));
  return v;
}

Sample MakeSample() {
  GgufWriter w;
  Array nested{ValueType::kArray,
               {Value::ArrayOf(std::vector<std::uint16_t>{1, 2}),
                Value::ArrayOf(std::vector<std::string>{"x", "yz"})}};
  std::vector<std::pair<std::string, Value>> kvs = {
      {"general.architecture", Value("llama")},
      {"general.alignment", Value(std::uint32_t{32})},
      {"dup.a", Value(std::uint32_t{1})},
      {"dup.b", Value(std::uint32_t{2})},
      {"flag", Value(true)},
      {"tokenizer.ggml.tokens", Value::ArrayOf(std::vector<std::string>{"<s>", "</s>", "hi"})},
      {"nested", Value(nested)},
      {"general.alignmenx", Value(std::uint64_t{32})},
  };
  for (const auto& [k, v] : kvs) w.Set(k, v);
  // 32 bytes, 68 bytes (padded to 96), 32 bytes.
  w.AddOwnedTensor("t.a", TensorType::kF32, {8}, Bytes(32, 0x11));
  w.AddOwnedTensor("t.b", TensorType::kQ8_0, {32, 2}, Bytes(68, 0x22));
  w.AddOwnedTensor("t.c", TensorType::kF16, {16}, Bytes(32, 0x33));

  Sample s;
  s.bytes = w.Serialize();
  for (const auto& [k, v] : kvs) s.kv_starts.push_back(FindString(s.bytes, k));
  for (const char* t : {"t.a", "t.b", "t.c"}) s.tensor_starts.push_back(FindString(s.bytes, t));
  s.kv_starts.push_back(s.tensor_starts[0]);
  std::uint64_t last_info_end = s.tensor_starts.back() + 8 + 3 + 4 + 8 + 4 + 8;
  s.tensor_starts.push_back(last_info_end);
  s.data_offset = (last_info_end + 31) / 32 * 32;
  s.data_end = s.data_offset + 128 + 32;
  EXPECT_EQ(s.bytes.size(), s.data_end);  // the last tensor fills its block: no final padding
  return s;
}

// Offsets of one tensor info's fields.
struct TensorFields {
  std::uint64_t n_dims, dims, type, offset;
};
TensorFields FieldsOf(const Bytes& bytes, std::string_view name) {
  std::uint64_t at = FindString(bytes, name) + 8 + name.size();
  std::uint32_t n_dims = Peek<std::uint32_t>(bytes, at);
  return {at, at + 4, at + 4 + 8 * n_dims, at + 4 + 8 * n_dims + 4};
}
// Offset of the value (after key and type tag) of a key/value.
std::uint64_t ValueOf(const Bytes& bytes, std::string_view key) {
  return FindString(bytes, key) + 8 + key.size() + 4;
}

// Parses `bytes` (exactly sized, so ASan sees any overread) and returns the error, or "" when it
// parsed. A parsed file is also used the way kiln uses it, which must not fail either.
std::string ParseError(const Bytes& bytes, const std::string& name = kName) {
  Bytes exact(bytes.begin(), bytes.end());
  try {
    GgufFile f = GgufFile::Parse(exact, name);
    std::uint64_t sum = 0;
    for (const TensorInfo& t : f.tensors()) {
      for (std::uint8_t b : t.bytes()) sum += b;
    }
    Summarize(f);
    return sum == 0xffffffffffffffffull ? "unreachable" : "";
  } catch (const Error& e) {
    return e.what();
  }
}

// The file must be refused, naming itself first and then every one of `parts`. Checked both from
// memory and from a file on disk (whose path is then the name).
void ExpectRefused(const Bytes& bytes, std::initializer_list<std::string_view> parts) {
  std::string error = ParseError(bytes);
  ASSERT_FALSE(error.empty()) << "a corrupt file was accepted";
  EXPECT_EQ(error.rfind(kName + ": ", 0), 0u) << error;
  for (std::string_view part : parts) {
    EXPECT_NE(error.find(part), std::string::npos) << "'" << part << "' not in: " << error;
  }
  testing::ScratchDir dir;
  std::string path = dir.File("bad model.gguf");
  {
    std::FILE* out = std::fopen(path.c_str(), "wb");
    ASSERT_NE(out, nullptr);
    if (!bytes.empty()) std::fwrite(bytes.data(), 1, bytes.size(), out);
    std::fclose(out);
  }
  try {
    GgufFile::Open(path);
    ADD_FAILURE() << "accepted from disk";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path + ": ", 0), 0u) << e.what();
  }
}

class GgufCorruptTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(ParseError(s.bytes), ""); }
  Bytes Copy() const { return s.bytes; }
  Sample s = MakeSample();
};

TEST_F(GgufCorruptTest, TruncationAtEveryByte) {
  for (std::uint64_t len = 0; len < s.bytes.size(); ++len) {
    SCOPED_TRACE(len);
    Bytes cut(s.bytes.begin(), s.bytes.begin() + static_cast<std::ptrdiff_t>(len));
    std::string error = ParseError(cut);
    ASSERT_FALSE(error.empty()) << "accepted a file cut at " << len;
    EXPECT_EQ(error.rfind(kName + ": ", 0), 0u) << error;
    if (len < 4) {
      EXPECT_NE(error.find("not a GGUF file: only " + std::to_string(len) + " bytes long"),
                std::string::npos)
          << error;
    } else {
      EXPECT_NE(error.find("truncated"), std::string::npos) << error;
    }
  }
}

TEST_F(GgufCorruptTest, TruncationAtSectionBoundariesSaysWhatIsMissing) {
  auto cut = [&](std::uint64_t len) {
    return Bytes(s.bytes.begin(), s.bytes.begin() + static_cast<std::ptrdiff_t>(len));
  };
  ExpectRefused(cut(4), {"truncated file: version needs 4 bytes at offset 4"});
  ExpectRefused(cut(8), {"tensor count needs 8 bytes at offset 8"});
  ExpectRefused(cut(16), {"metadata count needs 8 bytes at offset 16"});
  ExpectRefused(cut(24), {"header claims 8 metadata entries but the file has room for at most 0"});
  // From key #4 on, enough bytes remain for the metadata count to look plausible.
  for (std::size_t k = 4; k < 8; ++k) {
    SCOPED_TRACE(k);
    ExpectRefused(cut(s.kv_starts[k]),
                  {"metadata key #" + std::to_string(k) + " needs 8 bytes at offset " +
                   std::to_string(s.kv_starts[k])});
  }
  ExpectRefused(cut(s.tensor_starts[0]), {"header claims 3 tensors but the file has room for at "
                                          "most 0"});
  ExpectRefused(cut(s.tensor_starts[2]), {"header claims 3 tensors but the file has room for at "
                                          "most 2"});
  ExpectRefused(cut(s.tensor_starts[3]), {"truncated file: the tensor data section should start"});
  ExpectRefused(cut(s.data_offset), {"tensor 't.a' (32 bytes at data offset 0) extends past the "
                                     "end of the file (data section is 0 bytes)"});
  ExpectRefused(cut(s.data_offset + 32 + 68), {"tensor 't.c'", "extends past the end"});
  ExpectRefused(cut(s.data_end - 1), {"tensor 't.c'", "extends past the end"});
}

TEST_F(GgufCorruptTest, BadMagic) {
  for (std::uint32_t magic : {0x58554747u, 0u, 0x47475546u}) {
    Bytes b = Copy();
    Patch(b, 0, magic);
    ExpectRefused(b, {"not a GGUF file: bad magic"});
  }
  ExpectRefused(Bytes{'G', 'G', 'U'}, {"not a GGUF file: only 3 bytes long"});
  ExpectRefused(Bytes{}, {"not a GGUF file: only 0 bytes long"});
}

TEST_F(GgufCorruptTest, UnsupportedVersions) {
  Bytes b = Copy();
  Patch<std::uint32_t>(b, 4, 1);
  ExpectRefused(b, {"GGUF version 1 is not supported"});
  for (std::uint32_t v : {0u, 4u, 0xffffffffu}) {
    Patch<std::uint32_t>(b, 4, v);
    ExpectRefused(b, {"unsupported GGUF version " + std::to_string(v)});
  }
  for (std::uint32_t v : {2u, 3u}) {
    Patch<std::uint32_t>(b, 4, __builtin_bswap32(v));
    ExpectRefused(b, {"big-endian GGUF file (version " + std::to_string(v) + ")"});
  }
  Patch<std::uint32_t>(b, 4, 2);  // version 2 has the same layout
  EXPECT_EQ(ParseError(b), "");
}

TEST_F(GgufCorruptTest, LyingMetadataCount) {
  for (std::uint64_t count : {std::uint64_t{1} << 63, ~std::uint64_t{0}, std::uint64_t{1000}}) {
    Bytes b = Copy();
    Patch(b, 16, count);
    ExpectRefused(b, {"header claims " + std::to_string(count) + " metadata entries", "truncated"});
  }
  for (std::uint64_t count : {0, 1, 7, 9}) {
    SCOPED_TRACE(count);
    Bytes b = Copy();
    Patch(b, 16, count);
    ExpectRefused(b, {});
  }
}

TEST_F(GgufCorruptTest, LyingTensorCount) {
  for (std::uint64_t count : {std::uint64_t{1} << 62, ~std::uint64_t{0}, std::uint64_t{100}}) {
    Bytes b = Copy();
    Patch(b, 8, count);
    ExpectRefused(b, {"header claims " + std::to_string(count) + " tensors", "truncated"});
  }
  Bytes b = Copy();
  Patch<std::uint64_t>(b, 8, 4);
  ExpectRefused(b, {});
  // Fewer tensors leave data nobody owns.
  Patch<std::uint64_t>(b, 8, 2);
  ExpectRefused(b, {"unexplained bytes follow the last tensor's data", "tensor count is wrong"});
  Patch<std::uint64_t>(b, 8, 0);
  ExpectRefused(b, {"unexplained bytes follow the metadata in a file without tensors"});
}

TEST_F(GgufCorruptTest, LyingArrayCounts) {
  const std::uint64_t tokens = ValueOf(s.bytes, "tokenizer.ggml.tokens") + 4;  // after elem type
  ASSERT_EQ(Peek<std::uint64_t>(s.bytes, tokens), 3u);
  for (std::uint64_t count : {std::uint64_t{1} << 61, ~std::uint64_t{0}, std::uint64_t{500}}) {
    Bytes b = Copy();
    Patch(b, tokens, count);
    ExpectRefused(b, {"metadata 'tokenizer.ggml.tokens': array claims " + std::to_string(count) +
                          " elements of type string",
                      "truncated or corrupt"});
  }
  for (std::uint64_t count : {0, 2, 4}) {
    Bytes b = Copy();
    Patch(b, tokens, count);
    ExpectRefused(b, {});
  }
  // The inner array of an array of arrays.
  const std::uint64_t inner = ValueOf(s.bytes, "nested") + 4 + 8 + 4;
  ASSERT_EQ(Peek<std::uint64_t>(s.bytes, inner), 2u);
  Bytes b = Copy();
  Patch(b, inner, std::uint64_t{1} << 40);
  ExpectRefused(b, {"metadata 'nested': array claims 1099511627776 elements of type uint16"});
}

TEST_F(GgufCorruptTest, LyingStringLengths) {
  const std::uint64_t key = s.kv_starts[4];  // "flag"
  for (std::uint64_t len : {~std::uint64_t{0}, std::uint64_t{1} << 63, std::uint64_t{100000}}) {
    Bytes b = Copy();
    Patch(b, key, len);
    ExpectRefused(b, {"truncated file: metadata key #4 needs " + std::to_string(len) + " bytes"});
  }
  for (std::uint64_t len : {3, 5, 0}) {
    Bytes b = Copy();
    Patch(b, key, len);
    ExpectRefused(b, {});
  }
  // A string value and a string inside an array.
  Bytes b = Copy();
  Patch(b, ValueOf(s.bytes, "general.architecture"), ~std::uint64_t{0});
  ExpectRefused(b, {"truncated file: general.architecture needs 18446744073709551615 bytes"});
  b = Copy();
  Patch(b, FindString(s.bytes, "</s>"), std::uint64_t{1} << 50);
  ExpectRefused(b, {"truncated file: tokenizer.ggml.tokens needs"});
  // A tensor name.
  b = Copy();
  Patch(b, s.tensor_starts[1], std::uint64_t{1} << 60);
  ExpectRefused(b, {"truncated file: name of tensor #1 needs 1152921504606846976 bytes"});
}

TEST_F(GgufCorruptTest, BadValueTypes) {
  for (std::uint32_t type : {13u, 100u, 0xffffffffu}) {
    Bytes b = Copy();
    Patch(b, ValueOf(s.bytes, "flag") - 4, type);
    ExpectRefused(b, {"metadata 'flag': unknown value type " + std::to_string(type)});
    b = Copy();
    Patch(b, ValueOf(s.bytes, "tokenizer.ggml.tokens"), type);  // the element type
    ExpectRefused(b, {"metadata 'tokenizer.ggml.tokens': unknown value type"});
  }
  Bytes b = Copy();
  Patch<std::uint8_t>(b, ValueOf(s.bytes, "flag"), 2);
  ExpectRefused(b, {"metadata 'flag': bool value 2 is neither 0 nor 1"});
  // A type that changes the value's size misreads what follows, which must still be caught.
  for (std::uint32_t type : {0u, 8u, 9u, 10u}) {
    b = Copy();
    Patch(b, ValueOf(s.bytes, "dup.a") - 4, type);
    ExpectRefused(b, {});
  }
}

TEST_F(GgufCorruptTest, ArraysNestedTooDeep) {
  // Built by hand: the writer refuses to make one.
  Bytes b = {'G', 'G', 'U', 'F', 3, 0, 0, 0};
  auto put64 = [&](std::uint64_t v) {
    b.resize(b.size() + 8);
    std::memcpy(&b[b.size() - 8], &v, 8);
  };
  auto put32 = [&](std::uint32_t v) {
    b.resize(b.size() + 4);
    std::memcpy(&b[b.size() - 4], &v, 4);
  };
  put64(0);
  put64(1);
  put64(4);
  b.insert(b.end(), {'d', 'e', 'e', 'p'});
  put32(9);
  for (int level = 0; level < 9; ++level) {
    put32(9);
    put64(1);
  }
  put32(0);
  put64(0);
  ExpectRefused(b, {"metadata 'deep': arrays nested deeper than 8 levels"});
}

TEST_F(GgufCorruptTest, BadAlignment) {
  for (std::uint32_t align : {0u, 3u, 48u, 1u << 21, 0x80000000u}) {
    Bytes b = Copy();
    Patch(b, ValueOf(s.bytes, "general.alignment"), align);
    ExpectRefused(
        b, {"general.alignment " + std::to_string(align) + " is not a power of two up to 1 MiB"});
  }
  // Alignment 64 moves the data section and the tensor offsets off their boundaries.
  Bytes b = Copy();
  Patch(b, ValueOf(s.bytes, "general.alignment"), 64u);
  ExpectRefused(b, {});
  // general.alignment of another type: rename the uint64 key "general.alignmenx" over a renamed
  // original.
  b = Copy();
  b[Find(b, "general.alignment") + 16] = 'q';
  b[Find(b, "general.alignmenx") + 16] = 't';
  ExpectRefused(b, {"general.alignment must be a uint32, found a uint64"});
}

TEST_F(GgufCorruptTest, TensorOffsetsOutOfBoundsMisalignedOrOverlapping) {
  const std::uint64_t data_size = s.bytes.size() - s.data_offset;
  auto with_offset = [&](std::string_view tensor, std::uint64_t offset) {
    Bytes b = Copy();
    Patch(b, FieldsOf(b, tensor).offset, offset);
    return b;
  };
  ExpectRefused(with_offset("t.b", data_size),
                {"tensor 't.b' (68 bytes at data offset " + std::to_string(data_size) +
                 ") extends past the end of the file"});
  ExpectRefused(with_offset("t.c", data_size - 0), {"tensor 't.c'", "extends past the end"});
  ExpectRefused(with_offset("t.a", std::uint64_t{1} << 63), {"tensor 't.a'", "extends past"});
  ExpectRefused(with_offset("t.a", ~std::uint64_t{31}), {"tensor 't.a'", "extends past"});
  ExpectRefused(with_offset("t.b", 33), {"tensor 't.b' starts at data offset 33, which is not a "
                                         "multiple of the alignment 32"});
  ExpectRefused(with_offset("t.b", 0), {"tensors 't.a' and 't.b' overlap in the data section"});
  ExpectRefused(with_offset("t.c", 64), {"tensors 't.b' and 't.c' overlap"});
  ExpectRefused(with_offset("t.a", 32), {"overlap"});
}

TEST_F(GgufCorruptTest, UnknownTensorTypes) {
  for (std::uint32_t type : {4u, 5u, 31u, 33u, 40u, 0xffffffffu}) {
    Bytes b = Copy();
    Patch(b, FieldsOf(b, "t.a").type, type);
    ExpectRefused(b, {"tensor 't.a' has unknown tensor type " + std::to_string(type)});
  }
  // A known type of another size no longer matches the data layout.
  Bytes b = Copy();
  Patch(b, FieldsOf(b, "t.a").type, static_cast<std::uint32_t>(TensorType::kF64));
  ExpectRefused(b, {"overlap"});
}

TEST_F(GgufCorruptTest, BadDimensions) {
  for (std::uint32_t n : {0u, 5u, 0xffffffffu}) {
    Bytes b = Copy();
    Patch(b, FieldsOf(b, "t.b").n_dims, n);
    ExpectRefused(b, {"tensor 't.b' has " + std::to_string(n) + " dimensions (must be 1..4)"});
  }
  // One more or one fewer dimension shifts every later field.
  for (std::uint32_t n : {1u, 3u}) {
    Bytes b = Copy();
    Patch(b, FieldsOf(b, "t.b").n_dims, n);
    ExpectRefused(b, {});
  }
  const std::uint64_t dims = FieldsOf(s.bytes, "t.b").dims;
  Bytes b = Copy();
  Patch(b, dims, std::uint64_t{1} << 40);
  Patch(b, dims + 8, std::uint64_t{1} << 40);
  ExpectRefused(b, {"tensor 't.b' has dimensions whose product overflows (dimension 1 is"});
  b = Copy();
  Patch(b, dims + 8, ~std::uint64_t{0});
  ExpectRefused(b, {"product overflows (dimension 1 is 18446744073709551615)"});
  b = Copy();
  Patch(b, dims, std::uint64_t{1} << 61);
  ExpectRefused(b, {"product overflows (dimension 0 is"});
  b = Copy();  // 2^35 * 2^25 = 2^60 elements fits the limit, but not the file
  Patch(b, dims, std::uint64_t{1} << 35);
  Patch(b, dims + 8, std::uint64_t{1} << 25);
  ExpectRefused(b, {"tensor 't.b'", "extends past the end of the file"});
  b = Copy();
  Patch(b, dims, std::uint64_t{48});
  ExpectRefused(b, {"tensor 't.b' of type Q8_0 has rows of 48 elements, not a multiple of its "
                    "block size 32"});
  b = Copy();
  Patch(b, FieldsOf(b, "t.a").dims, std::uint64_t{1000});
  ExpectRefused(b, {"tensor 't.a' (4000 bytes at data offset 0) extends past the end"});
  b = Copy();
  Patch(b, FieldsOf(b, "t.a").dims, std::uint64_t{16});
  ExpectRefused(b, {"tensors 't.a' and 't.b' overlap"});
  b = Copy();
  Patch(b, FieldsOf(b, "t.c").dims, std::uint64_t{1000});
  ExpectRefused(b, {"tensor 't.c' (2000 bytes at data offset 128) extends past the end"});
}

TEST_F(GgufCorruptTest, DuplicateKeysAndTensorNames) {
  Bytes b = Copy();
  b[Find(b, "dup.b") + 4] = 'a';
  ExpectRefused(b, {"metadata key 'dup.a' appears twice"});
  b = Copy();
  b[Find(b, "t.b") + 2] = 'a';
  ExpectRefused(b, {"tensor name 't.a' appears twice"});
}

// Random damage of one to four bytes, most of it in the header and metadata: every result either
// parses (and can be used) or is a kiln::Error naming the file. Deterministic for reproducibility.
TEST_F(GgufCorruptTest, RandomByteDamageNeverCrashes) {
  std::mt19937_64 rng(20240726);
  int refused = 0;
  for (int i = 0; i < 20000; ++i) {
    Bytes b = Copy();
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      std::uint64_t limit = rng() % 4 == 0 ? b.size() : s.data_offset;
      std::uint64_t at = rng() % limit;
      std::uint64_t choice = rng() % 4;
      b[at] = choice == 0 ? 0 : choice == 1 ? 0xff : static_cast<std::uint8_t>(rng());
    }
    std::string error = ParseError(b);
    if (!error.empty()) {
      ++refused;
      ASSERT_EQ(error.rfind(kName + ": ", 0), 0u) << error;
    }
  }
  // Most damage to the structure is noticed.
  EXPECT_GT(refused, 10000);
}

}  // namespace
}  // namespace kiln::gguf
