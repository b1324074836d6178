// Benchmarks of the CPU kernels: MatMul per weight type and shape (GB/s of weight bytes for the
// single-token GEMV, GFLOP/s for batches), plain memory read bandwidth to compare GEMV against,
// and the thread pool's per-loop overhead.
//
//   ./build/bench/kernels_bench --benchmark_filter=MatMul/Q4_0
//
// GEMV weights rotate through copies totalling more than the last-level cache, so each call reads
// its weights from DRAM as in a real forward pass.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "kiln/gguf/tensor_type.h"
#include "kiln/kernels/fp16.h"
#include "kiln/kernels/matmul.h"
#include "kiln/kernels/thread_pool.h"

namespace kiln::kernels {
namespace {

using gguf::TensorType;

constexpr std::size_t kRotationBytes = std::size_t{512} << 20;

struct AlignedFree {
  void operator()(void* p) const { ::operator delete (p, std::align_val_t{64}); }
};
using Buffer = std::unique_ptr<std::uint8_t[], AlignedFree>;

Buffer Allocate(std::size_t bytes) {
  return Buffer(static_cast<std::uint8_t*>(::operator new (bytes, std::align_val_t{64})));
}

// Random weight bytes; f16 fields (scales, or whole F16 rows) hold small finite values so that
// no NaN or infinity slows the float units. Timing does not depend on the values otherwise.
void FillWeights(TensorType type, std::uint8_t* data, std::size_t bytes) {
  std::mt19937_64 rng(42);
  for (std::size_t i = 0; i + 8 <= bytes; i += 8) {
    std::uint64_t v = rng();
    std::memcpy(data + i, &v, 8);
  }
  const std::uint16_t small = F32ToF16(0.01f);
  const gguf::TensorTypeTraits traits = gguf::TraitsOf(type);
  if (type == TensorType::kF16 || type == TensorType::kBF16) {
    for (std::size_t i = 0; i + 2 <= bytes; i += 2) std::memcpy(data + i, &small, 2);
    return;
  }
  // Every f16 field of the quantized blocks sits at offset 0/2 or at the block's end.
  for (std::size_t b = 0; b + traits.block_bytes <= bytes; b += traits.block_bytes) {
    if (type == TensorType::kQ6_K || type == TensorType::kQ3_K) {
      std::memcpy(data + b + traits.block_bytes - 2, &small, 2);
    } else if (type == TensorType::kQ2_K) {
      std::memcpy(data + b + traits.block_bytes - 4, &small, 2);
      std::memcpy(data + b + traits.block_bytes - 2, &small, 2);
    } else {
      std::memcpy(data + b, &small, 2);
      std::memcpy(data + b + 2, &small, 2);
    }
  }
}

const TensorType kTypes[] = {TensorType::kQ4_0, TensorType::kQ8_0, TensorType::kQ4_K,
                             TensorType::kQ6_K, TensorType::kF16};

// Args: type index into kTypes, rows, cols, tokens, threads.
void BM_MatMul(benchmark::State& state) {
  const TensorType type = kTypes[state.range(0)];
  const std::int64_t rows = state.range(1);
  const std::int64_t cols = state.range(2);
  const std::int64_t tokens = state.range(3);
  const int threads = static_cast<int>(state.range(4));

  const WeightMatrix shape = DenseWeights(type, nullptr, rows, cols);
  const std::size_t matrix_bytes = shape.row_bytes * static_cast<std::size_t>(rows);
  // Batched calls are compute-bound and reuse one copy; GEMV rotates through DRAM-sized copies.
  const std::size_t copies =
      tokens == 1 ? std::max<std::size_t>(1, kRotationBytes / matrix_bytes) : 1;
  Buffer weights = Allocate(matrix_bytes * copies);
  FillWeights(type, weights.get(), matrix_bytes);
  for (std::size_t c = 1; c < copies; ++c) {
    std::memcpy(weights.get() + c * matrix_bytes, weights.get(), matrix_bytes);
  }

  std::vector<float> x(static_cast<std::size_t>(tokens * cols));
  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  for (float& v : x) v = normal(rng);
  std::vector<float> y(static_cast<std::size_t>(tokens * rows));
  ThreadPool pool(threads);
  MatMulScratch scratch;
  scratch.Reserve(tokens, cols);

  std::size_t copy = 0;
  for (auto _ : state) {
    WeightMatrix w = shape;
    w.data = weights.get() + copy * matrix_bytes;
    MatMul(w, x.data(), tokens, y.data(), pool, scratch);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
    copy = (copy + 1) % copies;
  }
  state.SetLabel(std::string(gguf::NameOf(type)));
  state.counters["weight_GB/s"] = benchmark::Counter(static_cast<double>(matrix_bytes) * 1e-9,
                                                     benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GFLOP/s"] = benchmark::Counter(2e-9 * static_cast<double>(rows * cols * tokens),
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

void MatMulArgs(benchmark::internal::Benchmark* b) {
  const std::int64_t shapes[][2] = {{2048, 2048}, {8192, 2048}, {2048, 8192}};
  for (std::int64_t type = 0; type < static_cast<std::int64_t>(std::size(kTypes)); ++type) {
    for (const auto& shape : shapes) {
      for (std::int64_t tokens : {1, 8, 32, 512}) {
        for (std::int64_t threads : {1, 2}) {
          b->Args({type, shape[0], shape[1], tokens, threads});
        }
      }
    }
  }
  b->ArgNames({"type", "rows", "cols", "tokens", "threads"});
  b->UseRealTime();
  b->Unit(benchmark::kMicrosecond);
}
BENCHMARK(BM_MatMul)->Apply(MatMulArgs);

// Single-token GEMV on a matrix that stays in L2: the kernels' compute speed without DRAM.
// Args: type index, rows (cols fixed at 4096).
void BM_GemvInCache(benchmark::State& state) {
  const TensorType type = kTypes[state.range(0)];
  const std::int64_t rows = state.range(1);
  constexpr std::int64_t kCols = 4096;
  const WeightMatrix shape = DenseWeights(type, nullptr, rows, kCols);
  const std::size_t matrix_bytes = shape.row_bytes * static_cast<std::size_t>(rows);
  Buffer weights = Allocate(matrix_bytes);
  FillWeights(type, weights.get(), matrix_bytes);
  std::vector<float> x(kCols, 0.5f), y(static_cast<std::size_t>(rows));
  ThreadPool pool(1);
  MatMulScratch scratch;
  WeightMatrix w = shape;
  w.data = weights.get();
  for (auto _ : state) {
    MatMul(w, x.data(), 1, y.data(), pool, scratch);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetLabel(std::string(gguf::NameOf(type)));
  state.counters["weight_GB/s"] = benchmark::Counter(static_cast<double>(matrix_bytes) * 1e-9,
                                                     benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_GemvInCache)
    ->ArgsProduct({{0, 1, 2, 3, 4}, {128}})
    ->ArgNames({"type", "rows"})
    ->Unit(benchmark::kMicrosecond);

// Streaming read of a 1 GiB buffer split across threads: the bandwidth a memory-bound GEMV can
// at best reach.
void BM_ReadBandwidth(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  constexpr std::size_t kBytes = std::size_t{1} << 30;
  constexpr std::size_t kWords = kBytes / sizeof(std::uint64_t);
  Buffer buffer = Allocate(kBytes);
  std::memset(buffer.get(), 1, kBytes);
  const auto* words = reinterpret_cast<const std::uint64_t*>(buffer.get());
  ThreadPool pool(threads);
  std::vector<std::uint64_t> sums(static_cast<std::size_t>(threads) * 8);
  for (auto _ : state) {
    pool.ParallelFor(static_cast<std::int64_t>(kWords), (kWords + threads - 1) / threads,
                     [&](std::int64_t begin, std::int64_t end, int thread) {
                       // Four independent sums so that the adds keep up with the loads.
                       std::uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
                       std::int64_t i = begin;
                       for (; i + 4 <= end; i += 4) {
                         s0 += words[i];
                         s1 += words[i + 1];
                         s2 += words[i + 2];
                         s3 += words[i + 3];
                       }
                       for (; i < end; ++i) s0 += words[i];
                       sums[static_cast<std::size_t>(thread) * 8] = s0 + s1 + s2 + s3;
                     });
    benchmark::DoNotOptimize(sums.data());
  }
  state.counters["read_GB/s"] = benchmark::Counter(static_cast<double>(kBytes) * 1e-9,
                                                   benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_ReadBandwidth)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

// Cost of one ParallelFor with trivial chunks: the per-kernel overhead a forward pass pays.
void BM_ThreadPoolLoop(benchmark::State& state) {
  ThreadPool pool(static_cast<int>(state.range(0)));
  std::vector<std::int64_t> out(64);
  for (auto _ : state) {
    pool.ParallelFor(static_cast<std::int64_t>(out.size()), 8,
                     [&](std::int64_t begin, std::int64_t end, int) {
                       for (std::int64_t i = begin; i < end; ++i)
                         out[static_cast<std::size_t>(i)] += i;
                     });
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_ThreadPoolLoop)->Arg(1)->Arg(2)->UseRealTime();

}  // namespace
}  // namespace kiln::kernels

BENCHMARK_MAIN();
