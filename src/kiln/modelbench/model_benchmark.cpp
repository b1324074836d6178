#include "kiln/modelbench/model_benchmark.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "kiln/base/error.h"

namespace kiln::modelbench {
namespace {

using Clock = std::chrono::steady_clock;
double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// One benchmark's KV cache and workspace, sized for the largest pass it runs.
class Bench {
 public:
  Bench(const model::Model& m, const ModelBenchOptions& o)
      : model_(m),
        vocab_(m.config().vocab_size),
        blocks_per_seq_((std::max(o.prompt_tokens, o.generated_tokens) + kBlock - 1) / kBlock),
        max_batch_(*std::max_element(o.batches.begin(), o.batches.end())),
        cache_(m.config(), {.num_blocks = blocks_per_seq_ * max_batch_, .block_size = kBlock}),
        workspace_(m.config(), std::max(o.prompt_tokens, max_batch_), max_batch_) {}

  // Tokens/s of one forward pass over a `tokens`-long prompt of one sequence.
  double Prompt(int tokens, kernels::ThreadPool& pool) {
    builder_.Clear();
    AddTables(1);
    for (int i = 0; i < tokens; ++i) builder_.AddToken(TokenAt(0, i), i, 0, i == tokens - 1);
    const auto t0 = Clock::now();
    model_.Forward(builder_.View(), cache_, workspace_, pool);
    return tokens / Since(t0);
  }

  // Aggregate tokens/s of `batch` sequences decoding `steps` tokens together from empty caches.
  double Generate(int batch, int steps, kernels::ThreadPool& pool) {
    const auto t0 = Clock::now();
    for (int step = 0; step < steps; ++step) {
      builder_.Clear();
      AddTables(batch);
      for (int s = 0; s < batch; ++s) builder_.AddToken(TokenAt(s, step), step, s, true);
      model_.Forward(builder_.View(), cache_, workspace_, pool);
    }
    return static_cast<double>(batch) * steps / Since(t0);
  }

 private:
  static constexpr int kBlock = 16;
  int TokenAt(int seq, int i) const { return (seq * 131 + i * 7 + 1) % vocab_; }
  void AddTables(int n) {
    for (int s = 0; s < n; ++s) {
      std::vector<std::int32_t> table(blocks_per_seq_);
      std::iota(table.begin(), table.end(), s * blocks_per_seq_);
      builder_.AddSequence(std::move(table));
    }
  }

  const model::Model& model_;
  int vocab_;
  int blocks_per_seq_;
  int max_batch_;
  model::KvCache cache_;
  model::ForwardWorkspace workspace_;
  model::BatchBuilder builder_;
};

}  // namespace

Measurement Measure(std::vector<double> samples) {
  Measurement m;
  m.samples = std::move(samples);
  if (m.samples.empty()) return m;
  const double n = static_cast<double>(m.samples.size());
  m.mean = std::accumulate(m.samples.begin(), m.samples.end(), 0.0) / n;
  if (m.samples.size() > 1) {
    double ss = 0;
    for (double x : m.samples) ss += (x - m.mean) * (x - m.mean);
    m.stddev = std::sqrt(ss / (n - 1));
  }
  return m;
}

double MeasureReadBandwidth(kernels::ThreadPool& pool, std::size_t bytes) {
  std::vector<std::uint64_t> buf(std::max<std::size_t>(bytes / 8, 1 << 16), 1);
  std::vector<std::uint64_t> sums(pool.num_threads(), 0);
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    const auto t0 = Clock::now();
    pool.ParallelFor(static_cast<std::int64_t>(buf.size()), 1 << 16,
                     [&](std::int64_t b, std::int64_t e, int thread) {
                       std::uint64_t s = 0;
                       for (std::int64_t i = b; i < e; ++i) s += buf[i];
                       sums[thread] += s;
                     });
    best = std::max(best, static_cast<double>(buf.size()) * 8.0 / Since(t0));
  }
  // The sums are checked so that the reads cannot be optimized away.
  if (std::accumulate(sums.begin(), sums.end(), std::uint64_t{0}) != 3 * buf.size()) {
    Fail("memory bandwidth probe read wrong data");
  }
  return best;
}

ModelBenchResult RunModelBenchmark(const model::Model& model, const std::string& path,
                                   const ModelBenchOptions& o, const BenchProgress& progress) {
  const int context = model.config().context_length;
  if (o.prompt_tokens < 1 || o.generated_tokens < 1 || o.repetitions < 1) {
    Fail("-p, -n and -r must be at least 1");
  }
  if (o.prompt_tokens > context || o.generated_tokens > context) {
    Fail("-p {} / -n {} exceed the model's context length {}", o.prompt_tokens, o.generated_tokens,
         context);
  }
  if (o.batches.empty() || o.threads.empty()) Fail("give at least one batch size and thread count");
  for (int b : o.batches) {
    if (b < 1) Fail("batch sizes must be at least 1, got {}", b);
  }
  for (int t : o.threads) {
    if (t < 1) Fail("thread counts must be at least 1, got {}", t);
  }

  ModelBenchResult result;
  result.model = path;
  result.name = model.config().name;
  for (const auto& t : model.file().tensors()) result.weight_bytes += t.byte_size;
  result.options = o;
  Bench bench(model, o);
  for (int threads : o.threads) {
    kernels::ThreadPool pool(threads);
    ThreadFigures f;
    f.threads = threads;
    if (progress) progress(fmt::format("threads={}: memory read bandwidth", threads));
    f.read_bandwidth = MeasureReadBandwidth(pool, o.bandwidth_bytes);
    bench.Generate(1, 1, pool);  // warm-up: maps every weight page in
    std::vector<double> pp;
    std::vector<std::vector<double>> tg(o.batches.size());
    for (int rep = 0; rep < o.repetitions; ++rep) {
      if (progress)
        progress(fmt::format("threads={} rep {}/{}: pp{}", threads, rep + 1, o.repetitions,
                             o.prompt_tokens));
      pp.push_back(bench.Prompt(o.prompt_tokens, pool));
      for (std::size_t i = 0; i < o.batches.size(); ++i) {
        if (progress)
          progress(fmt::format("threads={} rep {}/{}: tg{} batch {}", threads, rep + 1,
                               o.repetitions, o.generated_tokens, o.batches[i]));
        tg[i].push_back(bench.Generate(o.batches[i], o.generated_tokens, pool));
      }
    }
    f.prompt_tokens_per_s = Measure(std::move(pp));
    for (std::size_t i = 0; i < o.batches.size(); ++i) {
      f.generation.push_back({o.batches[i], Measure(std::move(tg[i]))});
      if (o.batches[i] == 1 && f.read_bandwidth > 0) {
        f.batch1_bandwidth_share = static_cast<double>(result.weight_bytes) *
                                   f.generation.back().tokens_per_s.mean / f.read_bandwidth;
      }
    }
    result.figures.push_back(std::move(f));
  }
  return result;
}

nlohmann::json ToJson(const ModelBenchResult& r) {
  auto m = [](const Measurement& x) {
    return nlohmann::json{{"mean", x.mean}, {"stddev", x.stddev}, {"samples", x.samples}};
  };
  nlohmann::json figures = nlohmann::json::array();
  for (const ThreadFigures& f : r.figures) {
    nlohmann::json gen = nlohmann::json::array();
    for (const BatchFigure& g : f.generation) {
      gen.push_back({{"batch", g.batch}, {"tokens_per_s", m(g.tokens_per_s)}});
    }
    figures.push_back({{"threads", f.threads},
                       {"prompt_tokens_per_s", m(f.prompt_tokens_per_s)},
                       {"generation", std::move(gen)},
                       {"read_bandwidth_bytes_per_s", f.read_bandwidth},
                       {"batch1_bandwidth_share", f.batch1_bandwidth_share}});
  }
  return {{"format", "kiln-bench-model/1"},
          {"model", r.model},
          {"name", r.name},
          {"weight_bytes", r.weight_bytes},
          {"prompt_tokens", r.options.prompt_tokens},
          {"generated_tokens", r.options.generated_tokens},
          {"repetitions", r.options.repetitions},
          {"results", std::move(figures)}};
}

std::string FormatModelBench(const ModelBenchResult& r) {
  std::string out = fmt::format("model {} ({}), {:.3f} GB of weights; mean ± stddev of {} runs\n",
                                r.name, r.model, r.weight_bytes / 1e9, r.options.repetitions);
  out += fmt::format("{:>7} | {:>10} | {:>22} | {:>11} | {:>8}\n", "threads", "test", "tokens/s",
                     "read GB/s", "bw share");
  auto row = [&](int threads, const std::string& test, const Measurement& m, double bw,
                 const std::string& share) {
    out += fmt::format("{:>7} | {:>10} | {:>22} | {:>11.1f} | {:>8}\n", threads, test,
                       fmt::format("{:.2f} ± {:.2f}", m.mean, m.stddev), bw / 1e9, share);
  };
  for (const ThreadFigures& f : r.figures) {
    row(f.threads, fmt::format("pp{}", r.options.prompt_tokens), f.prompt_tokens_per_s,
        f.read_bandwidth, "");
    for (const BatchFigure& g : f.generation) {
      row(f.threads, fmt::format("tg{} b{}", r.options.generated_tokens, g.batch), g.tokens_per_s,
          f.read_bandwidth,
          g.batch == 1 ? fmt::format("{:.0f}%", 100 * f.batch1_bandwidth_share) : "");
    }
  }
  return out;
}

}  // namespace kiln::modelbench
