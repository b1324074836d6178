#include "kiln/kernels/matmul.h"

#include <algorithm>
#include <new>
#include <vector>

#include "kiln/base/error.h"
#include "kiln/kernels/matmul_internal.h"

namespace kiln::kernels {
namespace {

using detail::ActFormat;
using gguf::TensorType;

constexpr std::size_t kAlign = 64;

std::size_t AlignUp(std::size_t n) {
  return (n + kAlign - 1) / kAlign * kAlign;
}

void CheckShape(const WeightMatrix& w) {
  if (!MatMulSupports(w.type)) {
    Fail(
        "MatMul does not support weights of type {}; convert the model to F16, BF16, Q8_0, "
        "Q4_0, Q4_1, Q5_0, Q5_1 or a K type (Q2_K..Q6_K)",
        gguf::NameOf(w.type));
  }
  if (w.rows < 0 || w.cols <= 0) Fail("MatMul: bad weight shape {} x {}", w.rows, w.cols);
  const gguf::TensorTypeTraits traits = gguf::TraitsOf(w.type);
  if (w.cols % traits.block_elements != 0) {
    Fail("MatMul: {} columns is not a whole number of {} blocks ({} elements each)", w.cols,
         traits.name, traits.block_elements);
  }
  const std::uint64_t needed = gguf::RowBytes(w.type, static_cast<std::uint64_t>(w.cols));
  if (w.row_bytes < needed) {
    Fail("MatMul: row stride of {} bytes is shorter than a {}-element {} row ({} bytes)",
         w.row_bytes, w.cols, traits.name, needed);
  }
  if (w.rows > 0 && w.data == nullptr) Fail("MatMul: weight data is missing");
}

// Carves the quantized activation rows for `n_tokens` x `cols` out of `scratch`.
detail::ActivationRows LayOutActivations(ActFormat format, std::int64_t n_tokens, std::int64_t cols,
                                         MatMulScratch& scratch) {
  detail::ActivationRows acts;
  acts.format = format;
  acts.cols = cols;
  if (format == ActFormat::kFloat) return acts;
  const auto tokens = static_cast<std::size_t>(n_tokens);
  acts.blocks = cols / (format == ActFormat::kQ8 ? detail::kQ8Block : detail::kQ8KBlock);
  acts.q_stride = static_cast<std::int64_t>(AlignUp(static_cast<std::size_t>(cols)));
  const std::size_t q_bytes = tokens * static_cast<std::size_t>(acts.q_stride);
  const std::size_t d_bytes = AlignUp(tokens * static_cast<std::size_t>(acts.blocks) * 4);
  const std::size_t s_bytes = format == ActFormat::kQ8 ? d_bytes : 0;
  const std::size_t bsums_bytes =
      format == ActFormat::kQ8K
          ? AlignUp(tokens * static_cast<std::size_t>(cols / detail::kQ8KSumGroup) * 2)
          : 0;
  auto* base = static_cast<std::uint8_t*>(scratch.Bytes(q_bytes + d_bytes + s_bytes + bsums_bytes));
  acts.q = reinterpret_cast<std::int8_t*>(base);
  acts.d = reinterpret_cast<float*>(base + q_bytes);
  if (s_bytes) acts.s = reinterpret_cast<float*>(base + q_bytes + d_bytes);
  if (bsums_bytes) acts.bsums = reinterpret_cast<std::int16_t*>(base + q_bytes + d_bytes + s_bytes);
  return acts;
}

// Rows per parallel chunk: a few chunks per thread so that the dynamic schedule can even out
// threads the OS delays, but never so little work per chunk that scheduling dominates.
std::int64_t RowGrain(const WeightMatrix& w, std::int64_t n_tokens, int threads) {
  constexpr std::int64_t kRowMultiple = 16;  // a multiple of every target's register tile
  constexpr std::int64_t kMinMacsPerChunk = 1 << 17;
  const std::int64_t per_thread = (w.rows + threads * 4 - 1) / (threads * 4);
  const std::int64_t min_rows = kMinMacsPerChunk / std::max<std::int64_t>(1, w.cols * n_tokens);
  const std::int64_t grain = std::max(per_thread, min_rows);
  return (grain + kRowMultiple - 1) / kRowMultiple * kRowMultiple;
}

using FamilyFn = void (*)(const WeightMatrix&, const detail::ActivationRows&, std::int64_t,
                          std::int64_t, std::int64_t, float*);

FamilyFn FamilyOf(ActFormat format) {
  switch (format) {
    case ActFormat::kFloat:
      return &detail::MultiplyFloatRows;
    case ActFormat::kQ8:
      return &detail::MultiplyLegacyRows;
    case ActFormat::kQ8K:
      return &detail::MultiplyKQuantRows;
  }
  return nullptr;
}

}  // namespace

namespace detail {
ActFormat ActFormatFor(TensorType type) {
  switch (type) {
    case TensorType::kQ4_0:
    case TensorType::kQ4_1:
    case TensorType::kQ5_0:
    case TensorType::kQ5_1:
    case TensorType::kQ8_0:
      return ActFormat::kQ8;
    case TensorType::kQ2_K:
    case TensorType::kQ3_K:
    case TensorType::kQ4_K:
    case TensorType::kQ5_K:
    case TensorType::kQ6_K:
      return ActFormat::kQ8K;
    default:
      return ActFormat::kFloat;
  }
}
}  // namespace detail

bool MatMulSupports(TensorType type) {
  switch (type) {
    case TensorType::kF32:
    case TensorType::kF16:
    case TensorType::kBF16:
    case TensorType::kQ4_0:
    case TensorType::kQ4_1:
    case TensorType::kQ5_0:
    case TensorType::kQ5_1:
    case TensorType::kQ8_0:
    case TensorType::kQ2_K:
    case TensorType::kQ3_K:
    case TensorType::kQ4_K:
    case TensorType::kQ5_K:
    case TensorType::kQ6_K:
      return true;
    default:
      return false;
  }
}

WeightMatrix DenseWeights(TensorType type, const void* data, std::int64_t rows, std::int64_t cols) {
  const gguf::TensorTypeTraits traits = gguf::TraitsOf(type);
  if (cols <= 0 || cols % traits.block_elements != 0) {
    Fail("{} columns is not a whole number of {} blocks ({} elements each)", cols, traits.name,
         traits.block_elements);
  }
  return WeightMatrix{
      type, data, rows, cols,
      static_cast<std::size_t>(gguf::RowBytes(type, static_cast<std::uint64_t>(cols)))};
}

MatMulScratch::~MatMulScratch() {
  if (data_) ::operator delete (data_, std::align_val_t{kAlign});
}

void* MatMulScratch::Bytes(std::size_t bytes) {
  if (bytes > capacity_) {
    if (data_) ::operator delete (data_, std::align_val_t{kAlign});
    data_ = nullptr;
    capacity_ = 0;
    const std::size_t size = AlignUp(std::max<std::size_t>(bytes, kAlign));
    data_ = ::operator new (size, std::align_val_t{kAlign});
    capacity_ = size;
  }
  return data_;
}

void MatMulScratch::Reserve(std::int64_t n_tokens, std::int64_t cols) {
  // The largest layout: K-type rows with their sums, or legacy rows with scales and sums.
  const auto tokens = static_cast<std::size_t>(std::max<std::int64_t>(n_tokens, 1));
  const auto c = static_cast<std::size_t>(std::max<std::int64_t>(cols, 1));
  Bytes(tokens * AlignUp(c) + 2 * AlignUp(tokens * (c / 32 + 1) * 4) +
        AlignUp(tokens * (c / 16 + 1) * 2));
}

void MatMul(const WeightMatrix& w, const float* x, std::int64_t n_tokens, float* y,
            ThreadPool& pool, MatMulScratch& scratch) {
  CheckShape(w);
  if (n_tokens < 0) Fail("MatMul: negative token count {}", n_tokens);
  if (n_tokens == 0 || w.rows == 0) return;

  const ActFormat format = detail::ActFormatFor(w.type);
  detail::ActivationRows acts = LayOutActivations(format, n_tokens, w.cols, scratch);
  if (format == ActFormat::kFloat) {
    acts.x = x;
  } else if (n_tokens < 8) {
    detail::QuantizeActivationRows(x, 0, n_tokens, acts);
  } else {
    pool.ParallelFor(n_tokens, 4, [&](std::int64_t begin, std::int64_t end, int) {
      detail::QuantizeActivationRows(x, begin, end, acts);
    });
  }

  const FamilyFn multiply = FamilyOf(format);
  const std::int64_t grain = RowGrain(w, n_tokens, pool.num_threads());
  pool.ParallelFor(w.rows, grain, [&](std::int64_t begin, std::int64_t end, int) {
    multiply(w, acts, n_tokens, begin, end, y);
  });
}

std::int64_t ActivationBlockSize(TensorType type) {
  switch (detail::ActFormatFor(type)) {
    case ActFormat::kQ8:
      return detail::kQ8Block;
    case ActFormat::kQ8K:
      return detail::kQ8KBlock;
    case ActFormat::kFloat:
      break;
  }
  return 1;
}

void ActivationsAsMultiplied(TensorType type, const float* x, std::int64_t cols, float* out) {
  const ActFormat format = detail::ActFormatFor(type);
  const std::int64_t block = ActivationBlockSize(type);
  if (cols <= 0 || cols % block != 0) {
    Fail("{} activations are not a whole number of {}-element blocks", cols, block);
  }
  if (format == ActFormat::kFloat) {
    std::copy(x, x + cols, out);
    return;
  }
  MatMulScratch scratch;
  detail::ActivationRows acts = LayOutActivations(format, 1, cols, scratch);
  detail::QuantizeActivationRows(x, 0, 1, acts);
  for (std::int64_t i = 0; i < cols; ++i) out[i] = acts.d[i / block] * acts.q[i];
}

}  // namespace kiln::kernels
