// Forward-pass throughput on the fixture models: one decode step after a 128-token context,
// a 128-token prefill, and a decode step for 16 sequences at once, in both activation precisions.
//   ./build/bench/model_forward_bench --benchmark_filter=Decode
#include <benchmark/benchmark.h>

#include <numeric>
#include <string>
#include <thread>

#include "kiln/model/model.h"

namespace kiln::model {
namespace {

constexpr int kContext = 128;
constexpr int kBlockSize = 16;

const char* const kModels[] = {"tiny-llama-q4_k_m", "tiny-qwen2-q8_0", "tiny-qwen3-bf16"};

struct Setup {
  Setup(int model_index, int sequences, int precision)
      : model(Model::Load(std::string(KILN_FIXTURES_DIR) + "/models/" + kModels[model_index] +
                          ".gguf")),
        cache(model.config(),
              {.num_blocks = sequences * (kContext / kBlockSize + 1), .block_size = kBlockSize}),
        workspace(model.config(), std::max(kContext, sequences), sequences,
                  static_cast<ActivationPrecision>(precision)),
        pool(static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))) {
    for (int s = 0; s < sequences; ++s) {
      std::vector<std::int32_t> table(kContext / kBlockSize + 1);
      std::iota(table.begin(), table.end(), s * static_cast<int>(table.size()));
      tables.push_back(std::move(table));
    }
  }

  // Fills every sequence's first kContext positions.
  void Prefill() {
    for (std::size_t s = 0; s < tables.size(); ++s) {
      BatchBuilder b;
      int seq = b.AddSequence(tables[s]);
      for (int p = 0; p < kContext; ++p)
        b.AddToken((p * 37 + 11) % 1000, p, seq, p + 1 == kContext);
      model.Forward(b.View(), cache, workspace, pool);
    }
  }

  Model model;
  KvCache cache;
  ForwardWorkspace workspace;
  kernels::ThreadPool pool;
  std::vector<std::vector<std::int32_t>> tables;
};

void Label(benchmark::State& state) {
  state.SetLabel(std::string(kModels[state.range(0)]) + (state.range(1) ? " fast" : " exact"));
}

void BM_Decode(benchmark::State& state) {
  Setup setup(static_cast<int>(state.range(0)), 1, static_cast<int>(state.range(1)));
  setup.Prefill();
  BatchBuilder b;
  int seq = b.AddSequence(setup.tables[0]);
  b.AddToken(42, kContext, seq, true);
  ForwardBatch batch = b.View();
  for (auto _ : state) {
    benchmark::DoNotOptimize(setup.model.Forward(batch, setup.cache, setup.workspace, setup.pool));
  }
  Label(state);
  state.counters["tok/s"] = benchmark::Counter(state.iterations(), benchmark::Counter::kIsRate);
}

void BM_Prefill(benchmark::State& state) {
  Setup setup(static_cast<int>(state.range(0)), 1, static_cast<int>(state.range(1)));
  for (auto _ : state) setup.Prefill();
  Label(state);
  state.counters["tok/s"] =
      benchmark::Counter(state.iterations() * kContext, benchmark::Counter::kIsRate);
}

void BM_BatchedDecode(benchmark::State& state) {
  constexpr int kSequences = 16;
  Setup setup(static_cast<int>(state.range(0)), kSequences, static_cast<int>(state.range(1)));
  setup.Prefill();
  BatchBuilder b;
  for (int s = 0; s < kSequences; ++s)
    b.AddToken(42 + s, kContext, b.AddSequence(setup.tables[s]), true);
  ForwardBatch batch = b.View();
  for (auto _ : state) {
    benchmark::DoNotOptimize(setup.model.Forward(batch, setup.cache, setup.workspace, setup.pool));
  }
  Label(state);
  state.counters["tok/s"] =
      benchmark::Counter(state.iterations() * kSequences, benchmark::Counter::kIsRate);
}

// Arguments: model index, ActivationPrecision (0 exact, 1 fast).
BENCHMARK(BM_Decode)->ArgsProduct({{0, 1, 2}, {0, 1}})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Prefill)->ArgsProduct({{0, 1, 2}, {0, 1}})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_BatchedDecode)->ArgsProduct({{0, 1, 2}, {0, 1}})->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace kiln::model

BENCHMARK_MAIN();
