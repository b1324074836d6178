#include "kiln/gguf/gguf_writer.h"

#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <numeric>

#include "gguf/gguf_test_util.h"
#include "kiln/base/error.h"
#include "kiln/gguf/gguf_file.h"

namespace kiln::gguf {
namespace {

using testing::ReadAll;
using testing::SameValue;
using testing::ScratchDir;

const std::string kModels = std::string(KILN_FIXTURES_DIR) + "/models/";

// Deterministic, non-repeating bytes so a misplaced tensor cannot compare equal by accident.
std::vector<std::uint8_t> Pattern(std::size_t n, std::uint32_t seed) {
  std::vector<std::uint8_t> out(n);
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& b : out) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b = static_cast<std::uint8_t>(x);
  }
  return out;
}

std::string ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// One of each scalar at its extremes, strings with NUL and UTF-8, and arrays of every kind.
std::vector<std::pair<std::string, Value>> EveryValueType() {
  Array nested;  // array of arrays of different element types, one of them nested again
  nested.element_type = ValueType::kArray;
  nested.items.push_back(Value::ArrayOf(std::vector<std::uint8_t>{1, 2, 3}));
  nested.items.push_back(Value::ArrayOf(std::vector<std::string>{"a", "", "c"}));
  nested.items.push_back(Value(Array{ValueType::kFloat64, {}}));
  Array inner;
  inner.element_type = ValueType::kArray;
  inner.items.push_back(Value::ArrayOf(std::vector<std::int64_t>{-1, 0, 1}));
  nested.items.push_back(Value(std::move(inner)));

  return {
      {"t.u8", Value(std::uint8_t{255})},
      {"t.i8", Value(std::int8_t{-128})},
      {"t.u16", Value(std::uint16_t{65535})},
      {"t.i16", Value(std::int16_t{-32768})},
      {"t.u32", Value(std::numeric_limits<std::uint32_t>::max())},
      {"t.i32", Value(std::numeric_limits<std::int32_t>::min())},
      {"t.f32", Value(-1.5e-7f)},
      {"t.f32_inf", Value(std::numeric_limits<float>::infinity())},
      {"t.f32_nan", Value(std::numeric_limits<float>::quiet_NaN())},
      {"t.bool_true", Value(true)},
      {"t.bool_false", Value(false)},
      {"t.string", Value(std::string("h\xc3\xa9llo \xe4\xb8\x96\xe7\x95\x8c\0tail", 18))},
      {"t.empty_string", Value(std::string())},
      {"t.u64", Value(std::numeric_limits<std::uint64_t>::max())},
      {"t.i64", Value(std::numeric_limits<std::int64_t>::min())},
      {"t.f64", Value(3.141592653589793)},
      {"a.u8", Value::ArrayOf(std::vector<std::uint8_t>{0, 127, 255})},
      {"a.i8", Value::ArrayOf(std::vector<std::int8_t>{-128, 0, 127})},
      {"a.u16", Value::ArrayOf(std::vector<std::uint16_t>{0, 65535})},
      {"a.i16", Value::ArrayOf(std::vector<std::int16_t>{-32768, 32767})},
      {"a.u32", Value::ArrayOf(std::vector<std::uint32_t>{1, 2, 4000000000u})},
      {"a.i32", Value::ArrayOf(std::vector<std::int32_t>{-5, 7})},
      {"a.f32", Value::ArrayOf(std::vector<float>{0.f, -0.f, 1e30f, -1e-30f})},
      {"a.bool", Value::ArrayOf(std::vector<bool>{true, false, true})},
      {"a.string", Value::ArrayOf(std::vector<std::string>{"<s>", "", "\xe2\x96\x81the", "x y"})},
      {"a.u64", Value::ArrayOf(std::vector<std::uint64_t>{0, std::uint64_t{1} << 63})},
      {"a.i64",
       Value::ArrayOf(std::vector<std::int64_t>{std::numeric_limits<std::int64_t>::min()})},
      {"a.f64", Value::ArrayOf(std::vector<double>{1e-300, -2.5})},
      {"a.empty", Value(Array{ValueType::kString, {}})},
      {"a.nested", Value(std::move(nested))},
  };
}

TEST(GgufWriterTest, RoundTripsEveryValueType) {
  GgufWriter w;
  auto values = EveryValueType();
  for (const auto& [k, v] : values) w.Set(k, v);
  std::vector<std::uint8_t> bytes = w.Serialize();
  EXPECT_EQ(bytes.size(), w.file_size());

  GgufFile f = GgufFile::Parse(bytes, "values.gguf");
  EXPECT_EQ(f.version(), 3u);
  ASSERT_EQ(f.metadata().size(), values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    SCOPED_TRACE(values[i].first);
    EXPECT_EQ(f.metadata()[i].first, values[i].first);  // order is kept
    EXPECT_TRUE(SameValue(f.metadata()[i].second, values[i].second));
  }
  EXPECT_EQ(f.GetString("t.string")->size(), 18u);
  EXPECT_EQ(f.GetUInt("t.u64"), std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(f.GetInt("t.i8"), -128);
  EXPECT_EQ(f.RequireArray("a.string").items[2].AsString(), "\xe2\x96\x81the");
  // No tensors: nothing after the metadata, and the data section is empty.
  EXPECT_TRUE(f.tensors().empty());
  EXPECT_EQ(f.data_offset(), f.file_size());
}

TEST(GgufWriterTest, EncodesTheHeaderAsTheSpecificationSays) {
  GgufWriter w;
  w.Set("k", Value(std::uint32_t{7}));
  std::vector<std::uint8_t> b = w.Serialize();
  const std::vector<std::uint8_t> expected = {
      'G', 'G', 'U', 'F', 3, 0, 0, 0,       // magic, version 3
      0,   0,   0,   0,   0, 0, 0, 0,       // tensor count
      1,   0,   0,   0,   0, 0, 0, 0,       // metadata count
      1,   0,   0,   0,   0, 0, 0, 0, 'k',  // key
      4,   0,   0,   0,   7, 0, 0, 0,       // uint32 7
  };
  EXPECT_EQ(b, expected);
}

TEST(GgufWriterTest, SettingAKeyAgainReplacesItInPlace) {
  GgufWriter w;
  w.Set("a", Value(std::uint32_t{1}));
  w.Set("b", Value("x"));
  w.Set("a", Value("replaced"));
  EXPECT_TRUE(w.Remove("b"));
  EXPECT_FALSE(w.Remove("b"));
  w.Set("c", Value(true));
  GgufFile f = GgufFile::Parse(w.Serialize(), "set.gguf");
  ASSERT_EQ(f.metadata().size(), 2u);
  EXPECT_EQ(f.metadata()[0].first, "a");
  EXPECT_EQ(f.GetString("a"), "replaced");
  EXPECT_EQ(f.metadata()[1].first, "c");
}

struct TensorSpec {
  std::string name;
  TensorType type;
  std::vector<std::uint64_t> shape;
};

// Several types with sizes that are not multiples of the alignment, so padding is exercised.
const std::vector<TensorSpec> kTensors = {
    {"token_embd.weight", TensorType::kQ8_0, {64, 3}},  // 2*34*3 = 204 bytes
    {"norm.weight", TensorType::kF32, {5}},             // 20 bytes
    {"blk.0.attn_q.weight", TensorType::kQ4_K, {256, 2}},
    {"blk.0.attn_v.weight", TensorType::kQ6_K, {512, 1, 1}},
    {"half", TensorType::kF16, {3, 1, 1, 1}},
    {"brain", TensorType::kBF16, {7, 3}},
    {"ints", TensorType::kI32, {1}},
    {"q4", TensorType::kQ4_0, {32}},
    {"empty", TensorType::kF32, {0, 4}},
};

class GgufWriterAlignmentTest : public ::testing::TestWithParam<std::uint32_t> {};

TEST_P(GgufWriterAlignmentTest, PlacesTensorsAtAlignedOffsetsAndReadsThemBack) {
  const std::uint32_t align = GetParam();
  GgufWriter w;
  w.Set("general.architecture", Value("llama"));
  if (align != kDefaultAlignment) w.Set("general.alignment", Value(align));
  w.Set("general.name", Value("aligned"));
  std::vector<std::vector<std::uint8_t>> data;
  for (std::size_t i = 0; i < kTensors.size(); ++i) {
    const TensorSpec& s = kTensors[i];
    std::uint64_t elements =
        std::accumulate(s.shape.begin(), s.shape.end(), std::uint64_t{1}, std::multiplies<>());
    data.push_back(Pattern(RowBytes(s.type, elements), static_cast<std::uint32_t>(i)));
    w.AddTensor(s.name, s.type, s.shape, data.back());
  }
  EXPECT_EQ(w.alignment(), align);

  ScratchDir dir;
  std::string path = dir.File("model.gguf");
  w.Write(path);
  std::vector<std::uint8_t> on_disk = ReadAll(path);
  EXPECT_EQ(on_disk, w.Serialize());
  EXPECT_EQ(on_disk.size(), w.file_size());
  EXPECT_EQ(on_disk.size() % align, 0u);

  GgufFile f = GgufFile::Open(path);
  EXPECT_EQ(f.alignment(), align);
  EXPECT_EQ(f.data_offset() % align, 0u);
  EXPECT_EQ(f.GetString("general.name"), "aligned");
  ASSERT_EQ(f.tensors().size(), kTensors.size());
  std::uint64_t expected_offset = 0;
  for (std::size_t i = 0; i < kTensors.size(); ++i) {
    const TensorInfo& t = f.tensors()[i];
    SCOPED_TRACE(t.name);
    EXPECT_EQ(t.name, kTensors[i].name);
    EXPECT_EQ(t.type, kTensors[i].type);
    EXPECT_EQ(t.shape, kTensors[i].shape);
    EXPECT_EQ(t.offset % align, 0u);
    EXPECT_EQ(t.offset, expected_offset);  // packed in order, each padded to the alignment
    expected_offset += (t.byte_size + align - 1) / align * align;
    EXPECT_EQ(t.byte_size, data[i].size());
    EXPECT_TRUE(std::equal(t.bytes().begin(), t.bytes().end(), data[i].begin(), data[i].end()));
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(t.data) % align, 0u);  // the map is page-aligned
  }
  EXPECT_EQ(f.data_offset() + expected_offset, f.file_size());
}

INSTANTIATE_TEST_SUITE_P(Alignments, GgufWriterAlignmentTest,
                         ::testing::Values(32u, 64u, 1u, 4096u));

TEST(GgufWriterTest, StreamsTensorDataFromASource) {
  GgufWriter w;
  std::vector<std::uint8_t> expected = Pattern(256 / 32 * 34 * 5, 9);
  int calls = 0;
  w.AddStreamedTensor("streamed", TensorType::kQ8_0, {256, 5}, [&](TensorDataSink& out) {
    ++calls;
    // Odd-sized pieces, as a quantizer emitting rows or blocks would.
    for (std::size_t pos = 0; pos < expected.size(); pos += 7) {
      std::size_t n = std::min<std::size_t>(7, expected.size() - pos);
      out.Write({expected.data() + pos, n});
    }
  });
  std::vector<std::uint8_t> owned = Pattern(40, 3);
  std::vector<std::uint8_t> owned_copy = owned;
  w.AddOwnedTensor("owned", TensorType::kF32, {10}, std::move(owned));

  ScratchDir dir;
  w.Write(dir.File("s.gguf"));
  EXPECT_EQ(calls, 1);
  GgufFile f = GgufFile::Open(dir.File("s.gguf"));
  auto got = f.RequireTensor("streamed").bytes();
  EXPECT_TRUE(std::equal(got.begin(), got.end(), expected.begin(), expected.end()));
  auto got_owned = f.RequireTensor("owned").bytes();
  EXPECT_TRUE(std::equal(got_owned.begin(), got_owned.end(), owned_copy.begin(), owned_copy.end()));
}

TEST(GgufWriterTest, ASourceWritingTheWrongSizeFailsAndLeavesNoFileBehind) {
  ScratchDir dir;
  std::string path = dir.File("out.gguf");
  {
    GgufWriter previous;
    previous.Set("generation", Value(std::uint32_t{1}));
    previous.Write(path);
  }
  std::vector<std::uint8_t> before = ReadAll(path);

  for (std::size_t written : {std::size_t{39}, std::size_t{41}, std::size_t{0}}) {
    SCOPED_TRACE(written);
    GgufWriter w;
    w.Set("generation", Value(std::uint32_t{2}));
    w.AddStreamedTensor("bad", TensorType::kF32, {10}, [written](TensorDataSink& out) {
      std::vector<std::uint8_t> bytes(written, 0xab);
      out.Write(bytes);
    });
    std::string error = ErrorOf([&] { w.Write(path); });
    EXPECT_NE(error.find("cannot write '" + path + "'"), std::string::npos) << error;
    EXPECT_NE(error.find("tensor 'bad'"), std::string::npos) << error;
    EXPECT_NE(error.find("40"), std::string::npos) << error;
    // The old file is untouched and no temporary file is left.
    EXPECT_EQ(ReadAll(path), before);
    EXPECT_EQ(dir.Entries(), std::vector<std::string>{"out.gguf"});
  }
}

TEST(GgufWriterTest, WriteReplacesAnExistingFileAtomically) {
  ScratchDir dir;
  std::string path = dir.File("m.gguf");
  for (std::uint32_t generation : {1u, 2u, 3u}) {
    GgufWriter w;
    w.Set("generation", Value(generation));
    std::vector<std::uint8_t> data = Pattern(64, generation);
    w.AddTensor("t", TensorType::kF32, {16}, data);
    w.Write(path);
    EXPECT_EQ(GgufFile::Open(path).GetUInt("generation"), generation);
    EXPECT_EQ(dir.Entries(), std::vector<std::string>{"m.gguf"});
  }
}

TEST(GgufWriterTest, WriteIntoAMissingDirectoryNamesThePath) {
  ScratchDir dir;
  GgufWriter w;
  std::string path = dir.File("no/such/dir/m.gguf");
  std::string error = ErrorOf([&] { w.Write(path); });
  EXPECT_NE(error.find(path), std::string::npos) << error;
  EXPECT_NE(error.find("No such file or directory"), std::string::npos) << error;
}

TEST(GgufWriterTest, RejectsInvalidTensors) {
  GgufWriter w;
  std::vector<std::uint8_t> data(34 * 2);
  w.AddTensor("ok", TensorType::kQ8_0, {64}, data);

  auto add = [&](std::string name, TensorType type, std::vector<std::uint64_t> shape,
                 std::size_t size) {
    std::vector<std::uint8_t> bytes(size);
    return ErrorOf([&] { w.AddTensor(name, type, shape, bytes); });
  };
  std::string e = add("wrong_size", TensorType::kQ8_0, {64, 2}, 68);
  EXPECT_NE(e.find("tensor 'wrong_size' of type Q8_0 and shape [64, 2] takes 136 bytes, but 68"),
            std::string::npos)
      << e;
  e = add("rows", TensorType::kQ4_K, {128}, 72);
  EXPECT_NE(e.find("rows of 128 elements, not a multiple of its block size 256"), std::string::npos)
      << e;
  e = add("no_dims", TensorType::kF32, {}, 4);
  EXPECT_NE(e.find("tensor 'no_dims' has 0 dimensions (must be 1..4)"), std::string::npos) << e;
  e = add("five", TensorType::kF32, {1, 1, 1, 1, 1}, 4);
  EXPECT_NE(e.find("has 5 dimensions"), std::string::npos) << e;
  e = add("ok", TensorType::kQ8_0, {64}, 68);
  EXPECT_NE(e.find("tensor 'ok' is added twice"), std::string::npos) << e;
  e = add("", TensorType::kF32, {1}, 4);
  EXPECT_NE(e.find("must be 1 to 63 bytes long"), std::string::npos) << e;
  e = add(std::string(64, 'n'), TensorType::kF32, {1}, 4);
  EXPECT_NE(e.find("must be 1 to 63 bytes long"), std::string::npos) << e;
  e = add("huge", TensorType::kF32, {std::uint64_t{1} << 40, std::uint64_t{1} << 40}, 0);
  EXPECT_NE(e.find("tensor 'huge' has more than 2^60 elements"), std::string::npos) << e;
  e = add("unknown", static_cast<TensorType>(4), {1}, 4);
  EXPECT_NE(e.find("unknown tensor type 4"), std::string::npos) << e;
  // Only the valid tensor was kept.
  EXPECT_EQ(w.tensor_count(), 1u);
  EXPECT_EQ(GgufFile::Parse(w.Serialize(), "x").tensors().size(), 1u);
}

TEST(GgufWriterTest, RejectsInvalidMetadata) {
  GgufWriter w;
  EXPECT_NE(ErrorOf([&] { w.Set("", Value(1u)); }).find("must not be empty"), std::string::npos);
  for (std::uint32_t bad : {0u, 3u, 48u, 1u << 21}) {
    std::string e = ErrorOf([&] { w.Set("general.alignment", Value(bad)); });
    EXPECT_NE(e.find("not a power of two up to 1 MiB"), std::string::npos) << e;
  }
  std::string e = ErrorOf([&] { w.Set("general.alignment", Value(std::uint64_t{64})); });
  EXPECT_NE(e.find("general.alignment must be a uint32, not a uint64"), std::string::npos) << e;

  Array mixed{ValueType::kString, {Value("a"), Value(std::uint32_t{1})}};
  e = ErrorOf([&] { w.Set("mixed", Value(mixed)); });
  EXPECT_NE(e.find("metadata 'mixed': item 1 of an array of string is a uint32"), std::string::npos)
      << e;

  // Eight levels of arrays read back; nine cannot.
  Value deep = Value::ArrayOf(std::vector<std::uint8_t>{1});
  for (int level = 1; level < kMaxArrayNesting; ++level) {
    deep = Value(Array{ValueType::kArray, {deep}});
  }
  w.Set("deep8", deep);
  e = ErrorOf([&] { w.Set("deep9", Value(Array{ValueType::kArray, {deep}})); });
  EXPECT_NE(e.find("nested deeper than 8 levels"), std::string::npos) << e;
  GgufFile f = GgufFile::Parse(w.Serialize(), "deep.gguf");
  EXPECT_TRUE(SameValue(*f.Find("deep8"), deep));
  EXPECT_EQ(f.alignment(), kDefaultAlignment);  // every rejected alignment left it unset
}

// The writer lays files out as llama.cpp does: copying a fixture model (metadata and tensors in
// file order) reproduces it byte for byte.
TEST(GgufWriterTest, CopyOfAFixtureModelIsByteIdentical) {
  for (const char* model : {"tiny-llama-q4_k_m.gguf", "tiny-qwen3-bf16.gguf"}) {
    SCOPED_TRACE(model);
    GgufFile original = GgufFile::Open(kModels + model);
    GgufWriter w;
    for (const auto& [key, value] : original.metadata()) w.Set(key, value);
    for (const TensorInfo& t : original.tensors()) w.AddTensor(t.name, t.type, t.shape, t.bytes());
    ScratchDir dir;
    w.Write(dir.File("copy.gguf"));
    EXPECT_EQ(ReadAll(dir.File("copy.gguf")), ReadAll(kModels + model));
  }
}

}  // namespace
}  // namespace kiln::gguf
