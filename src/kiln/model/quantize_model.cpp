#include "kiln/model/quantize_model.h"

#include <algorithm>
#include <memory>
#include <string_view>

#include "kiln/base/error.h"
#include "kiln/base/log.h"
#include "kiln/gguf/file_type.h"
#include "kiln/gguf/gguf_file.h"
#include "kiln/gguf/gguf_writer.h"
#include "kiln/kernels/dequantize.h"
#include "kiln/kernels/quantize.h"

namespace kiln::model {
namespace {

using gguf::TensorType;

// llama_ftype numbers (gguf/file_type.cpp).
constexpr std::uint32_t kF32 = 0, kF16 = 1, kQ4_0 = 2, kQ4_1 = 3, kQ8_0 = 7, kQ5_0 = 8, kQ5_1 = 9,
                        kQ4_K_S = 14, kQ4_K_M = 15, kQ5_K_S = 16, kQ5_K_M = 17, kQ6_K = 18,
                        kBF16 = 32;

TensorType BaseType(std::uint32_t file_type) {
  switch (file_type) {
    case kF32:
      return TensorType::kF32;
    case kF16:
      return TensorType::kF16;
    case kBF16:
      return TensorType::kBF16;
    case kQ4_0:
      return TensorType::kQ4_0;
    case kQ4_1:
      return TensorType::kQ4_1;
    case kQ5_0:
      return TensorType::kQ5_0;
    case kQ5_1:
      return TensorType::kQ5_1;
    case kQ8_0:
      return TensorType::kQ8_0;
    case kQ4_K_S:
    case kQ4_K_M:
      return TensorType::kQ4_K;
    case kQ5_K_S:
    case kQ5_K_M:
      return TensorType::kQ5_K;
    case kQ6_K:
      return TensorType::kQ6_K;
    default:
      Fail("file type {} is not one kiln can write", file_type);
  }
}

bool IsQuantized(TensorType t) {
  return t != TensorType::kF32 && t != TensorType::kF16 && t != TensorType::kBF16;
}

bool IsKType(TensorType t) {
  return t == TensorType::kQ4_K || t == TensorType::kQ5_K || t == TensorType::kQ6_K;
}

// llama.cpp's use_more_bits: the first and last eighth of the layers and every third between.
bool UseMoreBits(int i, int n) {
  return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

// The layer index of "blk.N.xxx", or -1.
int LayerOf(std::string_view name) {
  if (!name.starts_with("blk.")) return -1;
  int layer = 0;
  for (std::size_t i = 4; i < name.size() && name[i] != '.'; ++i) {
    if (name[i] < '0' || name[i] > '9') return -1;
    layer = layer * 10 + (name[i] - '0');
  }
  return layer;
}

std::uint32_t ParseFileType(const std::string& name) {
  // Bare K names mean the small variant, as in llama-quantize's "Q4_K" alias.
  if (name == "q4_k" || name == "Q4_K") return kQ4_K_S;
  if (name == "q5_k" || name == "Q5_K") return kQ5_K_S;
  const std::optional<std::uint32_t> id = gguf::FileTypeFromName(name);
  if (!id) {
    Fail(
        "unknown quantization type '{}' (expected one of q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, "
        "q5_k, q6_k, q4_k_m, q5_k_m, f16, bf16, f32)",
        name);
  }
  BaseType(*id);  // rejects file types kiln cannot write
  return *id;
}

}  // namespace

TensorType ChooseTensorType(std::uint32_t file_type, const std::string& name,
                            const std::vector<std::uint64_t>& shape, int n_layers,
                            bool tied_embeddings) {
  if (shape.size() < 2) return TensorType::kF32;  // norms and biases: tiny and sensitive
  TensorType type = BaseType(file_type);
  if (!IsQuantized(type)) return type;
  const bool is_output =
      name == "output.weight" || (tied_embeddings && name == "token_embd.weight");
  const int layer = LayerOf(name);
  const bool is_attn_v = name.find("attn_v.weight") != std::string::npos;
  const bool is_ffn_down = name.find("ffn_down.weight") != std::string::npos;
  if (is_output) {
    if (type != TensorType::kQ8_0) type = TensorType::kQ6_K;
  } else if (layer >= 0 && (is_attn_v || is_ffn_down)) {
    if ((file_type == kQ4_K_M || file_type == kQ5_K_M) && UseMoreBits(layer, n_layers)) {
      type = TensorType::kQ6_K;
    } else if (file_type == kQ4_K_S && (is_attn_v ? layer < 4 : layer < n_layers / 8)) {
      type = TensorType::kQ5_K;
    }
  }
  if (IsKType(type) && shape[0] % 256 != 0) {
    // llama.cpp's fallbacks for rows that K blocks do not tile.
    type = type == TensorType::kQ4_K   ? TensorType::kQ5_0
           : type == TensorType::kQ5_K ? TensorType::kQ5_1
                                       : TensorType::kQ8_0;
  }
  if (shape[0] % gguf::TraitsOf(type).block_elements != 0) type = TensorType::kF16;
  return type;
}

QuantizeReport QuantizeModel(const std::string& input, const std::string& output,
                             const std::string& file_type_name, kernels::ThreadPool& pool) {
  const std::uint32_t file_type = ParseFileType(file_type_name);
  const gguf::GgufFile in = gguf::GgufFile::Open(input);
  const std::string arch = in.architecture();
  const int n_layers = static_cast<int>(in.GetUInt(arch + ".block_count").value_or(0));
  const bool tied = in.FindTensor("output.weight") == nullptr;

  QuantizeReport report;
  report.file_type = file_type;
  report.input_bytes = in.file_size();

  gguf::GgufWriter writer;
  for (const auto& [key, value] : in.metadata()) writer.Set(key, value);
  writer.Set("general.file_type", gguf::Value(file_type));
  if (IsQuantized(BaseType(file_type))) {
    writer.Set("general.quantization_version", gguf::Value(std::uint32_t{2}));
  }

  // Per-thread row buffers: one decoded row each, reused for every tensor.
  std::uint64_t widest = 0;
  for (const gguf::TensorInfo& t : in.tensors()) widest = std::max(widest, t.shape.at(0));
  auto scratch = std::make_shared<std::vector<std::vector<float>>>(pool.num_threads(),
                                                                   std::vector<float>(widest));

  for (const gguf::TensorInfo& t : in.tensors()) {
    const TensorType to = ChooseTensorType(file_type, t.name, t.shape, n_layers, tied);
    report.tensor_types.emplace_back(t.name, to);
    if (to == t.type) {
      writer.AddTensor(t.name, t.type, t.shape, t.bytes());
      continue;
    }
    if (IsQuantized(t.type) && !report.requantized) {
      report.requantized = true;
      log::Warn("input weights are already quantized; decoding and re-encoding them loses quality",
                {{"tensor", t.name}, {"type", std::string(gguf::NameOf(t.type))}});
    }
    const gguf::TensorInfo* info = &t;
    writer.AddStreamedTensor(
        t.name, to, t.shape, [info, to, scratch, &pool](gguf::TensorDataSink& sink) {
          const std::int64_t n = static_cast<std::int64_t>(info->shape[0]);
          const std::int64_t rows = static_cast<std::int64_t>(info->rows());
          const std::size_t in_row = gguf::RowBytes(info->type, n);
          const std::size_t out_row = gguf::RowBytes(to, n);
          constexpr std::int64_t kRowsPerWrite = 64;
          std::vector<std::uint8_t> buffer(out_row * kRowsPerWrite);
          for (std::int64_t first = 0; first < rows; first += kRowsPerWrite) {
            const std::int64_t count = std::min(kRowsPerWrite, rows - first);
            pool.ParallelFor(count, 1, [&](std::int64_t begin, std::int64_t end, int thread) {
              float* row = (*scratch)[thread].data();
              for (std::int64_t r = begin; r < end; ++r) {
                kernels::DequantizeRow(info->type, info->data + (first + r) * in_row, row, n);
                kernels::QuantizeRow(to, row, buffer.data() + r * out_row, n);
              }
            });
            sink.Write(std::span<const std::uint8_t>(buffer.data(), count * out_row));
          }
        });
  }
  writer.Write(output);
  report.output_bytes = writer.file_size();
  return report;
}

}  // namespace kiln::model
