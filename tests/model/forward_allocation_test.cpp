// The forward pass allocates nothing once its workspace exists: every heap allocation in this
// binary is counted, and a warm forward call must not add to the count.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "kiln/model/model.h"

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

// Sanitizers bring their own allocator; counting is only meaningful (and safe) without them.
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
#define KILN_COUNTS_ALLOCATIONS 1
#endif

namespace kiln::model {
namespace {

TEST(ForwardAllocationTest, WarmForwardCallsDoNotAllocate) {
#ifndef KILN_COUNTS_ALLOCATIONS
  GTEST_SKIP() << "allocation counting is off under sanitizers";
#else
  for (const char* name : {"tiny-llama-q4_k_m", "tiny-qwen3-bf16"}) {
    for (ActivationPrecision precision :
         {ActivationPrecision::kExact, ActivationPrecision::kFast}) {
      const long at_load = g_allocations.load();
      Model model = Model::Load(std::string(KILN_FIXTURES_DIR) + "/models/" + name + ".gguf");
      ASSERT_GT(g_allocations.load(), at_load) << "the counter sees no allocations at all";
      KvCache cache(model.config(), {.num_blocks = 8, .block_size = 16});
      ForwardWorkspace ws(model.config(), 32, 4, precision);
      kernels::ThreadPool pool(2);
      BatchBuilder prefill;
      int seq = prefill.AddSequence({3, 1, 4});
      for (int p = 0; p < 32; ++p) prefill.AddToken(100 + p, p, seq, p % 8 == 7);
      const ForwardBatch prefill_batch = prefill.View();
      BatchBuilder decode;
      decode.AddToken(7, 32, decode.AddSequence({3, 1, 4}), true);
      const ForwardBatch decode_batch = decode.View();

      model.Forward(prefill_batch, cache, ws, pool);  // warm-up
      model.Forward(decode_batch, cache, ws, pool);
      const long before = g_allocations.load();
      ForwardResult r = model.Forward(prefill_batch, cache, ws, pool);
      model.Forward(decode_batch, cache, ws, pool);
      EXPECT_EQ(g_allocations.load() - before, 0) << name;
      EXPECT_EQ(r.n_outputs, 4);
    }
  }
#endif
}

}  // namespace
}  // namespace kiln::model
