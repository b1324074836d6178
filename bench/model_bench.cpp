// End-to-end model benchmark on Llama-3.2-1B shapes (16 layers, 2048 wide, 32/8 heads of 64,
// FFN 8192, 128256 vocabulary, tied embeddings) with seeded random weights, synthesized once per
// type into build/bench-models/ by the project's writer and quantizer. Reports prompt processing
// (512 tokens), batch-1 generation, aggregate generation with 8 and 32 sequences, on 1 and 2
// threads, and the share of measured memory read bandwidth reached at batch 1.
//
// Each figure is given for both activation precisions of the forward pass: "fast" (one 8-bit
// activation pass, what llama.cpp does: the figure to compare with it) and "exact" (8-bit part
// plus 8-bit remainder, the engine's default, twice the integer work).
//
// Usage: model_bench [--dir D] [--threads 1,2] [--precision fast,exact] [--steps N] [TYPES...]
//   TYPES default to q8_0 q4_0 q4_k_m. --steps scales the decode lengths (default 32: batch 1
//   decodes 32 tokens, batch 8 decodes 8 steps, batch 32 decodes 4 steps, all after 4-token
//   prompts); the 512-token prompt is always run once.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <numeric>
#include <string>
#include <vector>

#include "kiln/gguf/file_type.h"
#include "kiln/gguf/gguf_writer.h"
#include "kiln/kernels/quantize.h"
#include "kiln/kernels/thread_pool.h"
#include "kiln/model/forward_batch.h"
#include "kiln/model/model.h"
#include "kiln/model/quantize_model.h"

namespace {

using Clock = std::chrono::steady_clock;
double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

constexpr int kLayers = 16, kWidth = 2048, kHeads = 32, kKvHeads = 8, kHead = 64, kFfn = 8192,
              kVocab = 128256;

float Random(std::uint64_t& s) {
  std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<float>((z >> 40) * (1.0 / 16777216.0) - 0.5) * 0.05f;  // uniform, std ~0.014
}

void Synthesize(const std::string& path, const std::string& type_name,
                kiln::kernels::ThreadPool& pool) {
  const std::uint32_t file_type = *kiln::gguf::FileTypeFromName(type_name);
  kiln::gguf::GgufWriter w;
  w.Set("general.architecture", "llama");
  w.Set("general.name", "llama-3.2-1b-shapes-random");
  w.Set("general.file_type", file_type);
  w.Set("llama.context_length", std::uint32_t{4096});
  w.Set("llama.embedding_length", std::uint32_t{kWidth});
  w.Set("llama.block_count", std::uint32_t{kLayers});
  w.Set("llama.feed_forward_length", std::uint32_t{kFfn});
  w.Set("llama.attention.head_count", std::uint32_t{kHeads});
  w.Set("llama.attention.head_count_kv", std::uint32_t{kKvHeads});
  w.Set("llama.attention.layer_norm_rms_epsilon", 1e-5f);
  w.Set("llama.rope.freq_base", 500000.0f);
  w.Set("llama.rope.dimension_count", std::uint32_t{kHead});
  w.Set("llama.vocab_size", std::uint32_t{kVocab});
  auto add = [&](const std::string& name, int cols, int rows) {
    const kiln::gguf::TensorType t =
        kiln::model::ChooseTensorType(file_type, name, {std::uint64_t(cols), std::uint64_t(rows)},
                                      kLayers, /*tied_embeddings=*/true);
    w.AddStreamedTensor(name, t, {std::uint64_t(cols), std::uint64_t(rows)},
                        [=, &pool](kiln::gguf::TensorDataSink& sink) {
                          const std::size_t rb = kiln::gguf::RowBytes(t, cols);
                          constexpr int kChunk = 256;
                          std::vector<std::uint8_t> out(rb * kChunk);
                          for (int first = 0; first < rows; first += kChunk) {
                            const int n = std::min(kChunk, rows - first);
                            pool.ParallelFor(n, 8, [&](std::int64_t b, std::int64_t e, int) {
                              std::vector<float> row(cols);
                              for (std::int64_t r = b; r < e; ++r) {
                                std::uint64_t s = std::hash<std::string>{}(name) ^ (first + r);
                                for (float& v : row) v = Random(s);
                                kiln::kernels::QuantizeRow(t, row.data(), out.data() + r * rb,
                                                           cols);
                              }
                            });
                            sink.Write({out.data(), rb * n});
                          }
                        });
  };
  auto ones = [&](const std::string& name) {
    std::vector<std::uint8_t> data(kWidth * sizeof(float));
    std::vector<float> v(kWidth, 1.0f);
    std::memcpy(data.data(), v.data(), data.size());
    w.AddOwnedTensor(name, kiln::gguf::TensorType::kF32, {kWidth}, std::move(data));
  };
  add("token_embd.weight", kWidth, kVocab);
  for (int l = 0; l < kLayers; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    ones(p + "attn_norm.weight");
    add(p + "attn_q.weight", kWidth, kHeads * kHead);
    add(p + "attn_k.weight", kWidth, kKvHeads * kHead);
    add(p + "attn_v.weight", kWidth, kKvHeads * kHead);
    add(p + "attn_output.weight", kHeads * kHead, kWidth);
    ones(p + "ffn_norm.weight");
    add(p + "ffn_gate.weight", kWidth, kFfn);
    add(p + "ffn_up.weight", kWidth, kFfn);
    add(p + "ffn_down.weight", kFfn, kWidth);
  }
  ones("output_norm.weight");
  w.Write(path);
}

// Aggregate tokens/s of `n_seq` sequences decoding together after a `prompt`-token prompt each.
double Decode(const kiln::model::Model& m, kiln::kernels::ThreadPool& pool,
              kiln::model::ActivationPrecision precision, int n_seq, int prompt, int steps,
              double* prompt_tps) {
  const int per_seq_blocks = (prompt + steps + 15) / 16;
  kiln::model::KvCache cache(m.config(), {.num_blocks = per_seq_blocks * n_seq, .block_size = 16});
  kiln::model::ForwardWorkspace ws(m.config(), std::max(prompt * n_seq, n_seq), n_seq, precision);
  kiln::model::BatchBuilder b;
  auto tables = [&] {
    for (int s = 0; s < n_seq; ++s) {
      std::vector<std::int32_t> t(per_seq_blocks);
      std::iota(t.begin(), t.end(), s * per_seq_blocks);
      b.AddSequence(t);
    }
  };
  tables();
  for (int s = 0; s < n_seq; ++s)
    for (int i = 0; i < prompt; ++i) b.AddToken((s * 131 + i * 7) % kVocab, i, s, i == prompt - 1);
  auto t0 = Clock::now();
  m.Forward(b.View(), cache, ws, pool);
  if (prompt_tps) *prompt_tps = prompt * n_seq / Since(t0);
  t0 = Clock::now();
  if (steps == 0) return 0;
  for (int step = 0; step < steps; ++step) {
    b.Clear();
    tables();
    for (int s = 0; s < n_seq; ++s) b.AddToken((s + step * 17) % kVocab, prompt + step, s, true);
    m.Forward(b.View(), cache, ws, pool);
  }
  return static_cast<double>(n_seq) * steps / Since(t0);
}

double ReadBandwidth(kiln::kernels::ThreadPool& pool) {
  std::vector<std::uint64_t> buf((std::size_t{1} << 30) / 8, 1);
  std::vector<std::uint64_t> sums(pool.num_threads());
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    auto t0 = Clock::now();
    pool.ParallelFor(buf.size(), 1 << 20, [&](std::int64_t b, std::int64_t e, int th) {
      // Four independent sums so that the adds keep up with the loads (as kernels_bench does); one
      // dependent chain measured ~40% less than the memory delivers on one core.
      std::uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      std::int64_t i = b;
      for (; i + 4 <= e; i += 4) {
        s0 += buf[i];
        s1 += buf[i + 1];
        s2 += buf[i + 2];
        s3 += buf[i + 3];
      }
      for (; i < e; ++i) s0 += buf[i];
      sums[th] += s0 + s1 + s2 + s3;
    });
    best = std::max(best, buf.size() * 8.0 / Since(t0));
  }
  return best;
}

std::vector<int> ParseInts(const std::string& list) {
  std::vector<int> out;
  std::size_t at = 0;
  while (at < list.size()) {
    const std::size_t comma = std::min(list.find(',', at), list.size());
    out.push_back(std::stoi(list.substr(at, comma - at)));
    at = comma + 1;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  using kiln::model::ActivationPrecision;
  std::string dir = "bench-models";
  std::vector<int> thread_counts = {1, 2};
  std::vector<ActivationPrecision> precisions = {ActivationPrecision::kFast,
                                                 ActivationPrecision::kExact};
  int steps = 32;
  std::vector<std::string> types;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--dir" && has_value) {
      dir = argv[++i];
    } else if (arg == "--threads" && has_value) {
      thread_counts = ParseInts(argv[++i]);
    } else if (arg == "--steps" && has_value) {
      steps = std::max(4, std::stoi(argv[++i]));
    } else if (arg == "--precision" && has_value) {
      const std::string list = argv[++i];
      precisions.clear();
      if (list.find("fast") != std::string::npos) precisions.push_back(ActivationPrecision::kFast);
      if (list.find("exact") != std::string::npos) {
        precisions.push_back(ActivationPrecision::kExact);
      }
    } else if (arg.rfind("--", 0) == 0) {
      fmt::print(stderr,
                 "usage: model_bench [--dir D] [--threads 1,2] [--precision fast,exact] "
                 "[--steps N] [TYPES...]\n");
      return 2;
    } else {
      types.push_back(arg);
    }
  }
  if (types.empty()) types = {"q8_0", "q4_0", "q4_k_m"};
  std::filesystem::create_directories(dir);

  // Bandwidth once per thread count: it does not depend on the model.
  std::vector<double> bandwidth;
  for (int threads : thread_counts) {
    kiln::kernels::ThreadPool pool(threads);
    bandwidth.push_back(ReadBandwidth(pool));
    fmt::print("read bandwidth, {} thread(s): {:.1f} GB/s\n", threads, bandwidth.back() / 1e9);
  }
  for (const std::string& type : types) {
    const std::string path = dir + "/llama-1b-shapes-" + type + ".gguf";
    if (!std::filesystem::exists(path)) {
      kiln::kernels::ThreadPool pool(2);
      const auto t0 = Clock::now();
      Synthesize(path, type, pool);
      fmt::print("synthesized {} in {:.0f} s\n", path, Since(t0));
    }
    const kiln::model::Model m = kiln::model::Model::Load(path);
    // Bytes a batch-1 step reads: every tensor once (the tied embedding doubles as the output
    // matrix; its one embedding row read is negligible).
    std::uint64_t weight_bytes = 0;
    for (const auto& t : m.file().tensors()) weight_bytes += t.byte_size;
    for (std::size_t ti = 0; ti < thread_counts.size(); ++ti) {
      const int threads = thread_counts[ti];
      const double bw = bandwidth[ti];
      kiln::kernels::ThreadPool pool(threads);
      for (ActivationPrecision precision : precisions) {
        const auto t0 = Clock::now();
        double pp = 0;
        Decode(m, pool, precision, 1, 512, 0, &pp);
        const double tg1 = Decode(m, pool, precision, 1, 4, steps, nullptr);
        const double tg8 = Decode(m, pool, precision, 8, 4, std::max(1, steps / 4), nullptr);
        const double tg32 = Decode(m, pool, precision, 32, 4, std::max(1, steps / 8), nullptr);
        fmt::print(
            "{} threads={} precision={} | pp512 {:.1f} tok/s | tg{} batch1 {:.2f} tok/s | batch8 "
            "{:.1f} tok/s | batch32 {:.1f} tok/s ({:.1f}x batch1) | batch-1 share of {:.1f} GB/s "
            "read bandwidth {:.0f}% ({:.2f} GB weights/token) | {:.0f} s\n",
            type, threads, precision == ActivationPrecision::kFast ? "fast " : "exact", pp, steps,
            tg1, tg8, tg32, tg32 / tg1, bw / 1e9, 100.0 * weight_bytes * tg1 / bw,
            weight_bytes / 1e9, Since(t0));
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
