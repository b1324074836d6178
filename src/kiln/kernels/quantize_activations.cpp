// Dispatches activation quantization to the best Highway target.
#include <cstdint>

#include "kiln/kernels/matmul_internal.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kiln/kernels/quantize_activations.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
// After foreach_target:
#include "hwy/highway.h"
#include "kiln/kernels/quantize_activations-inl.h"

#if HWY_ONCE
namespace kiln::kernels {
HWY_EXPORT(QuantizeActivationRows);

namespace detail {
void QuantizeActivationRows(const float* x, std::int64_t t_begin, std::int64_t t_end,
                            const ActivationRows& acts) {
  HWY_DYNAMIC_DISPATCH(QuantizeActivationRows)(x, t_begin, t_end, acts);
}
}  // namespace detail
}  // namespace kiln::kernels
#endif  // HWY_ONCE
