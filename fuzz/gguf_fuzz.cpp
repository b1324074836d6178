// fuzz_gguf: parses arbitrary bytes as a GGUF file, then uses a parsed file the way Kiln does
// (every metadata value through every accessor, every tensor's bytes, the model summary) and
// traps on any broken invariant. kiln::Error is the only acceptable way to refuse an input.
#include <cstddef>
#include <cstdint>

#include "kiln/base/error.h"
#include "kiln/gguf/gguf_file.h"
#include "kiln/gguf/model_summary.h"

namespace {

using kiln::gguf::GgufFile;
using kiln::gguf::TensorInfo;
using kiln::gguf::Value;

template <typename F>
std::uint64_t Attempt(F&& f) {
  try {
    return static_cast<std::uint64_t>(f());
  } catch (const kiln::Error&) {
    return 1;
  }
}

// Reads everything a value holds; conversions that do not apply must fail with kiln::Error.
std::uint64_t Touch(const Value& v) {
  std::uint64_t h = static_cast<std::uint64_t>(v.type());
  h += Attempt([&] { return v.AsInt(); });
  h += Attempt([&] { return v.AsUInt(); });
  h += Attempt([&] { return v.AsDouble() > 0.0; });
  h += Attempt([&] { return v.AsBool(); });
  h += Attempt([&] { return v.AsString().size(); });
  h += v.ToDisplayString().size();
  if (v.is_array()) {
    for (const Value& item : v.AsArray().items) {
      if (item.type() != v.AsArray().element_type) __builtin_trap();
      h += Touch(item);
    }
  }
  return h;
}

std::uint64_t Use(const GgufFile& f, const std::uint8_t* data, std::size_t size) {
  std::uint64_t h = 0;
  for (const auto& [key, value] : f.metadata()) {
    if (f.Find(key) != &value) __builtin_trap();
    h += key.size() + Touch(value);
  }
  h += Attempt([&] { return f.GetString("general.architecture").has_value(); });
  h += Attempt([&] { return f.GetUInt("general.alignment").value_or(0); });
  if (f.data_offset() > size || f.alignment() == 0) __builtin_trap();
  for (const TensorInfo& t : f.tensors()) {
    if (f.FindTensor(t.name) != &t) __builtin_trap();
    if (t.offset % f.alignment() != 0) __builtin_trap();
    if (t.data < data || t.byte_size > size || t.data + t.byte_size > data + size) __builtin_trap();
    for (std::uint8_t b : t.bytes()) h += b;
    h += t.rows();
  }
  kiln::gguf::ModelSummary s = kiln::gguf::Summarize(f);
  std::uint64_t elements = 0;
  for (const auto& u : s.quantization) elements += u.elements;
  if (elements != s.parameter_count) __builtin_trap();
  return h + s.parameter_count + s.special_tokens.size();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    GgufFile f = GgufFile::Parse({data, size}, "fuzz.gguf");
    volatile std::uint64_t sink = Use(f, data, size);
    (void)sink;
  } catch (const kiln::Error&) {
  }
  return 0;
}
