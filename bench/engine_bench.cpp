// Engine throughput: R requests (random prompts of P_MIN..P_MAX tokens, G generated tokens each,
// ignore_eos) submitted all at once with --parallel R, against the same requests one after
// another. Reports aggregate generated tokens/s for both and their ratio, plus time-to-first-token
// and inter-token latency percentiles of the concurrent run.
// Usage: engine_bench [MODEL|kiln-demo] [THREADS] [REQUESTS,...] [P_MIN P_MAX G]
//   default: kiln-demo (written to bench-models/), 2 threads, 1,8,32 requests, prompts 32..128,
//   32 generated tokens. The figure: engine_bench bench-models/llama-1b-shapes-q4_0.gguf
//   2 64 128 512 128 (synthesize the model first with model_bench).
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <numeric>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "kiln/engine/engine.h"
#include "kiln/model/demo_model.h"
#include "kiln/model/model.h"
#include "kiln/tokenizer/tokenizer.h"

namespace {

using Clock = std::chrono::steady_clock;
using kiln::engine::Engine;
using kiln::engine::Event;
using kiln::engine::Request;
using kiln::engine::RequestStream;

double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

struct Latencies {
  std::vector<double> ttft;  // seconds
  std::vector<double> itl;   // seconds between consecutive tokens of a request
};

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * (v.size() - 1) + 0.5))];
}

std::vector<Request> MakeRequests(int count, int p_min, int p_max, int generate, int vocab) {
  std::vector<Request> requests;
  std::uint64_t x = 12345;
  auto next = [&] {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<int>(x >> 33);
  };
  for (int i = 0; i < count; ++i) {
    Request q;
    const int length = p_min + next() % (p_max - p_min + 1);
    for (int t = 0; t < length; ++t) q.prompt.push_back(next() % vocab);
    q.params.temperature = 0.8f;
    q.params.top_k = 40;
    q.params.seed = i;
    q.params.max_tokens = generate;
    q.params.ignore_eos = true;
    requests.push_back(std::move(q));
  }
  return requests;
}

// Runs `requests` with at most `batch` in flight (the engine's --parallel); returns seconds.
double RunAll(Engine& engine, std::vector<Request> requests, Latencies& lat, long& tokens) {
  const auto start = Clock::now();
  std::vector<RequestStream> streams(requests.size());
  std::vector<Clock::time_point> submitted(requests.size());
  for (std::size_t i = 0; i < requests.size(); ++i) {
    submitted[i] = Clock::now();
    engine.Submit(std::move(requests[i]), streams[i].Sink());
  }
  // Events are timestamped as they are taken; streams are drained round-robin so that waiting
  // on one does not delay the timestamps of the others by much.
  std::vector<Clock::time_point> last(streams.size());
  std::vector<bool> done(streams.size(), false), started(streams.size(), false);
  std::size_t remaining = streams.size();
  while (remaining > 0) {
    for (std::size_t i = 0; i < streams.size(); ++i) {
      if (done[i]) continue;
      while (std::optional<Event> e = streams[i].NextFor(std::chrono::milliseconds(0))) {
        const auto now = Clock::now();
        if (!e->tokens.empty()) {
          tokens += static_cast<long>(e->tokens.size());
          if (!started[i]) {
            lat.ttft.push_back(e->time_to_first_token
                                   ? e->time_to_first_token->count() / 1e6
                                   : std::chrono::duration<double>(now - submitted[i]).count());
            started[i] = true;
          } else {
            lat.itl.push_back(std::chrono::duration<double>(now - last[i]).count());
          }
          last[i] = now;
        }
        if (e->request_done) {
          done[i] = true;
          --remaining;
          break;
        }
      }
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return Since(start);
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_arg = argc > 1 ? argv[1] : "kiln-demo";
  const int threads = argc > 2 ? std::atoi(argv[2]) : 2;
  std::vector<int> counts = {1, 8, 32};
  if (argc > 3) {
    counts.clear();
    std::stringstream list(argv[3]);
    std::string item;
    while (std::getline(list, item, ',')) counts.push_back(std::atoi(item.c_str()));
  }
  const int p_min = argc > 4 ? std::atoi(argv[4]) : 32;
  const int p_max = argc > 5 ? std::atoi(argv[5]) : 128;
  const int generate = argc > 6 ? std::atoi(argv[6]) : 32;
  try {
    const std::string path = model_arg == kiln::model::kDemoModelName
                                 ? kiln::model::EnsureDemoModel("bench-models")
                                 : model_arg;
    const kiln::model::Model model = kiln::model::Model::Load(path);
    const auto tok = kiln::tokenizer::Tokenizer::FromGguf(model.file());
    const int vocab = model.config().vocab_size;
    fmt::print("model {} ({} layers, {} wide), {} threads, prompts {}..{}, {} generated each\n",
               path, model.config().block_count, model.config().embedding_length, threads, p_min,
               p_max, generate);
    for (int count : counts) {
      kiln::engine::EngineOptions o;
      o.max_sequences = count;
      o.context_size = p_max + generate;
      o.threads = threads;
      o.model_id = path;
      Latencies together_lat, serial_lat;
      long together_tokens = 0, serial_tokens = 0;
      double together_s, serial_s;
      {
        Engine engine(model, *tok, o);
        together_s = RunAll(engine, MakeRequests(count, p_min, p_max, generate, vocab),
                            together_lat, together_tokens);
      }
      {
        o.max_sequences = 1;
        Engine engine(model, *tok, o);
        serial_s = RunAll(engine, MakeRequests(count, p_min, p_max, generate, vocab), serial_lat,
                          serial_tokens);
      }
      const double together_tps = together_tokens / together_s;
      const double serial_tps = serial_tokens / serial_s;
      fmt::print(
          "requests={:3d} concurrent {:8.1f} tok/s ({:.2f} s) | one at a time {:8.1f} tok/s "
          "({:.2f} "
          "s) | ratio {:.2f}x | TTFT p50 {:.3f} s p95 {:.3f} s | ITL p50 {:.1f} ms p95 {:.1f} ms "
          "p99 {:.1f} ms\n",
          count, together_tps, together_s, serial_tps, serial_s, together_tps / serial_tps,
          Percentile(together_lat.ttft, 0.5), Percentile(together_lat.ttft, 0.95),
          1e3 * Percentile(together_lat.itl, 0.5), 1e3 * Percentile(together_lat.itl, 0.95),
          1e3 * Percentile(together_lat.itl, 0.99));
      std::fflush(stdout);
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "engine_bench: {}\n", e.what());
    return 1;
  }
  return 0;
}
