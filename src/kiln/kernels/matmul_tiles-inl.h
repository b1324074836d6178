// Per-target loop nest shared by all weight families: a range of weight rows times every token,
// cut into register tiles of Kernel::kRows rows by Kernel::kTokens tokens. Tokens are taken in
// blocks whose activations fit in L2, so the rows of one tile stay in L1/L2 across that block and
// each weight byte comes from memory once per call.

#if defined(KILN_KERNELS_MATMUL_TILES_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef KILN_KERNELS_MATMUL_TILES_INL_H_
#undef KILN_KERNELS_MATMUL_TILES_INL_H_
#else
#define KILN_KERNELS_MATMUL_TILES_INL_H_
#endif

#include <algorithm>
#include <cstdint>

#include "hwy/highway.h"
#include "kiln/kernels/dequantize.h"
#include "kiln/kernels/matmul_internal.h"

HWY_BEFORE_NAMESPACE();
namespace kiln::kernels::HWY_NAMESPACE {

// Kernel provides kRows and kTokens (the batched register tile), kGemvRows (rows per tile when
// there is a single token) and
//   template <int R, int T> static void Tile(const std::uint8_t* const* rows,
//                                            std::size_t ahead, const ActivationRows& acts,
//                                            const std::int64_t* tokens, float* out)
// computing out[r * T + t] = dot(row r, token tokens[t]) and prefetching the bytes `ahead` bytes
// past each row's current position (the next tile's rows), so that DRAM streams while it computes.
template <class Kernel, int R, int T>
HWY_INLINE void MultiplyRowsWithTile(const WeightMatrix& w, const detail::ActivationRows& acts,
                                     std::int64_t n_tokens, std::int64_t row_begin,
                                     std::int64_t row_end, float* HWY_RESTRICT y) {
  const auto* base = static_cast<const std::uint8_t*>(w.data);
  // Activation bytes per token as the kernels read them.
  const std::int64_t token_bytes =
      acts.format == detail::ActFormat::kFloat ? acts.cols * 4 : acts.cols;
  constexpr std::int64_t kTokenBlockBytes = 192 * 1024;
  const std::int64_t token_block =
      std::max<std::int64_t>(T, kTokenBlockBytes / std::max<std::int64_t>(token_bytes, 1) / T * T);

  for (std::int64_t tb = 0; tb < n_tokens; tb += token_block) {
    const std::int64_t te = std::min(n_tokens, tb + token_block);
    for (std::int64_t r0 = row_begin; r0 < row_end; r0 += R) {
      // A short last tile repeats its last row; the extra results are dropped.
      const std::uint8_t* rows[R];
      const int valid_rows = static_cast<int>(std::min<std::int64_t>(R, row_end - r0));
      for (int i = 0; i < R; ++i) {
        rows[i] = base + static_cast<std::size_t>(r0 + std::min(i, valid_rows - 1)) * w.row_bytes;
      }
      // The next tile's rows, while there is one in this range (prefetching past it is wasted).
      const std::size_t ahead = r0 + R < row_end ? R * w.row_bytes : 0;
      for (std::int64_t t0 = tb; t0 < te; t0 += T) {
        const std::int64_t remaining = te - t0;
        std::int64_t tokens[T];
        float out[R * T];
        int valid_tokens;
        int stride = T;
        if (T > 1 && remaining == 1) {
          tokens[0] = t0;
          Kernel::template Tile<R, 1>(rows, ahead, acts, tokens, out);
          valid_tokens = 1;
          stride = 1;
        } else {
          // A short token tile repeats its last token (cheaper than several single-token passes).
          valid_tokens = static_cast<int>(std::min<std::int64_t>(T, remaining));
          for (int t = 0; t < T; ++t) tokens[t] = t0 + std::min(t, valid_tokens - 1);
          Kernel::template Tile<R, T>(rows, ahead, acts, tokens, out);
        }
        for (int t = 0; t < valid_tokens; ++t) {
          float* y_row = y + (t0 + t) * w.rows + r0;
          for (int r = 0; r < valid_rows; ++r) y_row[r] = out[r * stride + t];
        }
      }
    }
  }
}

template <class Kernel>
HWY_INLINE void MultiplyRowsTiled(const WeightMatrix& w, const detail::ActivationRows& acts,
                                  std::int64_t n_tokens, std::int64_t row_begin,
                                  std::int64_t row_end, float* HWY_RESTRICT y) {
  if (n_tokens == 1) {
    MultiplyRowsWithTile<Kernel, Kernel::kGemvRows, 1>(w, acts, n_tokens, row_begin, row_end, y);
  } else if (n_tokens == 2 && Kernel::kTokens > 2) {
    // Batch-1 decoding in exact precision (a token's 8-bit part and its remainder): a wider token
    // tile would only repeat the second token.
    MultiplyRowsWithTile<Kernel, Kernel::kRows, 2>(w, acts, n_tokens, row_begin, row_end, y);
  } else {
    MultiplyRowsWithTile<Kernel, Kernel::kRows, Kernel::kTokens>(w, acts, n_tokens, row_begin,
                                                                 row_end, y);
  }
}

// Portable fallback for targets without usable SIMD: decodes weights with the reference
// DequantizeRow and multiplies them with the same (quantized) activations as the SIMD kernels.
inline void MultiplyRowsScalar(const WeightMatrix& w, const detail::ActivationRows& acts,
                               std::int64_t n_tokens, std::int64_t row_begin, std::int64_t row_end,
                               float* y) {
  constexpr std::int64_t kChunk = 256;  // a multiple of every block size
  constexpr std::int64_t kTokenTile = 16;
  const auto* base = static_cast<const std::uint8_t*>(w.data);
  const std::int64_t block_elements = gguf::TraitsOf(w.type).block_elements;
  const std::int64_t block_bytes = gguf::TraitsOf(w.type).block_bytes;
  float weights[kChunk];
  for (std::int64_t r = row_begin; r < row_end; ++r) {
    const std::uint8_t* row = base + static_cast<std::size_t>(r) * w.row_bytes;
    for (std::int64_t t0 = 0; t0 < n_tokens; t0 += kTokenTile) {
      const std::int64_t t1 = std::min(n_tokens, t0 + kTokenTile);
      double sums[kTokenTile] = {};
      for (std::int64_t k = 0; k < w.cols; k += kChunk) {
        const std::int64_t n = std::min(kChunk, w.cols - k);
        DequantizeRow(w.type, row + k / block_elements * block_bytes, weights, n);
        for (std::int64_t t = t0; t < t1; ++t) {
          double sum = 0.0;
          for (std::int64_t i = 0; i < n; ++i) {
            const std::int64_t col = k + i;
            float x = 0.0f;
            switch (acts.format) {
              case detail::ActFormat::kFloat:
                x = acts.XRow(t)[col];
                break;
              case detail::ActFormat::kQ8:
                x = acts.DRow(t)[col / detail::kQ8Block] * acts.QRow(t)[col];
                break;
              case detail::ActFormat::kQ8K:
                x = acts.DRow(t)[col / detail::kQ8KBlock] * acts.QRow(t)[col];
                break;
            }
            sum += static_cast<double>(weights[i]) * x;
          }
          sums[t - t0] += sum;
        }
      }
      for (std::int64_t t = t0; t < t1; ++t) y[t * w.rows + r] = static_cast<float>(sums[t - t0]);
    }
  }
}

}  // namespace kiln::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // include guard
