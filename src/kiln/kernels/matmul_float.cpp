// Dispatches the float weight types' matmul kernels to the best Highway target.
#include <cstdint>

#include "kiln/kernels/matmul_internal.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kiln/kernels/matmul_float.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
// After foreach_target:
#include "hwy/highway.h"
#include "kiln/kernels/matmul_float-inl.h"

#if HWY_ONCE
namespace kiln::kernels {
HWY_EXPORT(MultiplyFloatRows);

namespace detail {
void MultiplyFloatRows(const WeightMatrix& w, const ActivationRows& acts, std::int64_t n_tokens,
                       std::int64_t row_begin, std::int64_t row_end, float* y) {
  HWY_DYNAMIC_DISPATCH(MultiplyFloatRows)(w, acts, n_tokens, row_begin, row_end, y);
}
}  // namespace detail
}  // namespace kiln::kernels
#endif  // HWY_ONCE
