#include "kiln/model/temporary_row_matmul.h"

#include <vector>

#include "kiln/kernels/dequantize.h"
#include "kiln/kernels/vector_ops.h"

namespace kiln::model {

void TemporaryRowMatMul(const Weight& w, const float* x, int n_tokens, float* y,
                        kernels::ThreadPool& pool) {
  pool.ParallelFor(w.rows, 16, [&](std::int64_t begin, std::int64_t end, int) {
    std::vector<float> row(w.cols);
    for (std::int64_t r = begin; r < end; ++r) {
      kernels::DequantizeRow(w.type, w.row(r), row.data(), w.cols);
      for (int t = 0; t < n_tokens; ++t) {
        y[static_cast<std::size_t>(t) * w.rows + r] =
            kernels::Dot(row.data(), x + static_cast<std::size_t>(t) * w.cols, w.cols);
      }
    }
  });
}

}  // namespace kiln::model
