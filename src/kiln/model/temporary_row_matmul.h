// TEMPORARY: a row-at-a-time matmul over DequantizeRow, standing in until the SIMD
// kernels::MatMul lands. Delete this file when the forward pass switches to it.
#pragma once

#include "kiln/kernels/thread_pool.h"
#include "kiln/model/model_weights.h"

namespace kiln::model {

// y[t][r] = dot(w row r, x[t]) for t < n_tokens; x is [n_tokens][w.cols], y [n_tokens][w.rows].
void TemporaryRowMatMul(const Weight& w, const float* x, int n_tokens, float* y,
                        kernels::ThreadPool& pool);

}  // namespace kiln::model
