// The model-level benchmark behind `kiln bench model`: prompt processing and generation speed
// of one loaded model through Model::Forward, per thread count and batch size, repeated (mean
// and standard deviation), next to the machine's measured memory read bandwidth and the share
// of it that batch-1 generation reaches (every weight byte is read once per generated token).
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kiln/kernels/thread_pool.h"
#include "kiln/model/model.h"

namespace kiln::modelbench {

struct ModelBenchOptions {
  int prompt_tokens = 512;                // -p: one sequence's prompt, in one forward pass
  int generated_tokens = 128;             // -n: decode steps per sequence, from an empty cache
  std::vector<int> batches = {1, 8, 32};  // -b: sequences decoding together
  std::vector<int> threads = {1, 2};      // -t
  int repetitions = 3;                    // -r
  std::size_t bandwidth_bytes = std::size_t{1} << 30;  // buffer read to measure bandwidth
};

struct Measurement {
  std::vector<double> samples;
  double mean = 0;
  double stddev = 0;  // sample standard deviation (n - 1); 0 for one sample
};
Measurement Measure(std::vector<double> samples);

struct BatchFigure {
  int batch = 0;
  Measurement tokens_per_s;  // aggregate over the batch
};

struct ThreadFigures {
  int threads = 0;
  Measurement prompt_tokens_per_s;
  std::vector<BatchFigure> generation;  // one per batch size, in the order asked
  double read_bandwidth = 0;            // bytes/s, best of three passes
  double batch1_bandwidth_share = 0;    // weight bytes * batch-1 tok/s / read bandwidth; 0 w/o b=1
};

struct ModelBenchResult {
  std::string model;  // the path
  std::string name;   // general.name, else the architecture
  std::uint64_t weight_bytes = 0;
  ModelBenchOptions options;
  std::vector<ThreadFigures> figures;
};

// Reports what it is about to measure (for a progress line); may be empty.
using BenchProgress = std::function<void(const std::string& what)>;

// kiln::Error for options the model cannot run (lengths beyond its context, empty lists).
ModelBenchResult RunModelBenchmark(const model::Model& model, const std::string& path,
                                   const ModelBenchOptions& options, const BenchProgress& progress);

// Best-of-three rate of summing a `bytes`-sized buffer with every thread of `pool`.
double MeasureReadBandwidth(kernels::ThreadPool& pool, std::size_t bytes);

nlohmann::json ToJson(const ModelBenchResult& result);
std::string FormatModelBench(const ModelBenchResult& result);

}  // namespace kiln::modelbench
