// Engine: serves one loaded model to many concurrent requests. It owns the paged KV cache and
// runs an iteration-level scheduler loop on its own thread: every step batches one decode token
// of each running sequence with chunks of waiting prompts (under a per-step token budget), runs
// one forward pass, samples, and hands each request's new text to its consumer without ever
// waiting on it. The HTTP API, `kiln run` and the benchmarks all use this interface.
//
// Threading: Submit, Cancel, Stats and the RequestStream methods may be called from any thread.
// An EventSink is called on the engine thread and must return quickly without blocking (push to
// a queue, post to an executor). RequestStream is the ready-made blocking consumer.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "kiln/engine/logprobs.h"
#include "kiln/engine/sampling_params.h"
#include "kiln/gguf/tensor_type.h"

namespace kiln::model {
class Model;
}
namespace kiln::tokenizer {
class Tokenizer;
}

namespace kiln::engine {

class AdmissionPolicy;  // admission_policy.h

struct EngineOptions {
  // Most sequences decoding at once (`--parallel`); a request with n choices counts n.
  int max_sequences = 8;
  // Most tokens one sequence may hold (prompt + generated); 0 = the model's trained context
  // capped at 4096.
  int context_size = 0;
  // KV-cache pool size in bytes; 0 = enough for context_size x max_sequences tokens.
  std::int64_t kv_memory_bytes = 0;
  int block_size = 16;  // token slots per KV block
  gguf::TensorType kv_type = gguf::TensorType::kF16;  // kF16, kF32 or kQ8_0
  // Per-step token budget: decode tokens first, then prompt chunks up to this many in total.
  int max_batch_tokens = 512;
  int threads = 0;  // forward-pass threads; 0 = hardware concurrency
  bool prefix_caching = true;
  // Identifies the model in prefix-cache hashes and logs (the served model id).
  std::string model_id;
  // Added: the order in which waiting requests are admitted (and, reversed, preempted); called
  // on the engine thread only. Null = first-come-first-served by priority (FcfsPriorityPolicy).
  std::shared_ptr<AdmissionPolicy> admission_policy;
};

enum class FinishReason {
  kStop,       // end-of-generation token, stop token id or stop string
  kLength,     // max_tokens or the context size reached
  kCancelled,  // Cancel() or the engine shutting down
  kError,      // something failed after admission; Event::error says what
};
const char* FinishReasonName(FinishReason reason);  // "stop", "length", "cancelled", "error"

enum class Task {
  kGenerate,  // sample completions
  kEmbed,     // prefill only; one event with the pooled, L2-normalized final hidden state
};

struct Request {
  std::vector<std::int32_t> prompt;  // token ids, already tokenized (template applied)
  SamplingParams params;
  Task task = Task::kGenerate;
  // Who asked and how urgently; the admission policy orders waiting requests by them.
  std::string tenant;
  int priority = 0;  // higher first
  std::string request_id;  // for logs; the engine assigns one when empty
};

struct Usage {
  int prompt_tokens = 0;
  int cached_prompt_tokens = 0;  // prompt tokens served from the prefix cache
  int completion_tokens = 0;     // summed over all n choices
};

// Something that happened to one choice of a request. Events of one choice arrive in order; the
// last event of every choice has `finished` set, and the last event of the request (after every
// choice finished) additionally has `request_done` set and carries the final usage.
struct Event {
  int choice = 0;  // 0..n-1
  // New output text, safe to show: whole UTF-8 characters, never part of a stop string.
  std::string text;
  // The tokens generated since the previous event of this choice (the stop token itself and
  // tokens after a stop string are included here but not in `text`), with their logprobs when
  // requested (same length as tokens).
  std::vector<std::int32_t> tokens;
  std::vector<TokenLogprobs> logprobs;
  bool finished = false;
  FinishReason finish_reason = FinishReason::kStop;
  std::string error;  // finish_reason == kError
  bool request_done = false;
  Usage usage;  // running totals; final when request_done
  // Task::kEmbed: the embedding, in the request's single final event.
  std::vector<float> embedding;
  // Time from submission to this choice's first token (set on its first token event).
  std::optional<std::chrono::microseconds> time_to_first_token;
};

using EventSink = std::function<void(Event&&)>;

struct EngineStats {
  int running_requests = 0;
  int waiting_requests = 0;
  int running_sequences = 0;
  int kv_blocks_total = 0;
  int kv_blocks_used = 0;    // held by running sequences
  int kv_blocks_cached = 0;  // free but holding reusable prefix-cache contents
  int kv_blocks_free = 0;    // kv_blocks_total - used (cached ones included)
  std::uint64_t prompt_tokens = 0;         // submitted prompt tokens, all requests
  std::uint64_t cached_prompt_tokens = 0;  // of which served from the prefix cache
  std::uint64_t computed_prompt_tokens = 0;  // prompt tokens actually run through the model
  std::uint64_t generated_tokens = 0;
  std::uint64_t requests_finished = 0;
  std::uint64_t preemptions = 0;
  std::uint64_t steps = 0;
  // Step-time histogram: counts of steps whose duration was <= each bound (Prometheus style,
  // cumulative), plus the sum of all step durations.
  std::vector<double> step_seconds_bounds;
  std::vector<std::uint64_t> step_seconds_cumulative;
  double step_seconds_sum = 0;
  double prefix_cache_hit_rate() const {
    return prompt_tokens ? static_cast<double>(cached_prompt_tokens) / prompt_tokens : 0.0;
  }
};

class EngineImpl;

class Engine {
 public:
  // Sizes the KV pool and starts the scheduler thread. The model and tokenizer must outlive the
  // engine. kiln::Error when the options cannot be honoured (e.g. the pool holds no block).
  Engine(const model::Model& model, const tokenizer::Tokenizer& tokenizer,
         const EngineOptions& options);
  // Cancels everything still running (each gets its kCancelled events) and joins the thread.
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Validates the request and queues it; returns its id (request.request_id or a generated one).
  // Throws kiln::Error, before any work and without calling `sink`, for a request that can
  // never run: invalid sampling params, an empty prompt or unknown token ids, a prompt (plus
  // max_tokens when given) longer than the context size, or needing more KV blocks than the
  // whole pool. Throws EngineStopped after Shutdown.
  std::string Submit(Request request, EventSink sink);

  // Stops the request: its remaining choices get finished events with kCancelled and its blocks
  // are freed within one step. Unknown or finished ids are ignored.
  void Cancel(const std::string& request_id);

  // Stops admitting (Submit throws), waits up to `grace` for running and waiting requests to
  // finish, then cancels the rest. Idempotent; the destructor calls it with zero grace.
  void Shutdown(std::chrono::milliseconds grace);

  EngineStats Stats() const;
  const EngineOptions& options() const;  // with defaults resolved (context_size, threads, ...)
  const model::Model& model() const;
  const tokenizer::Tokenizer& tokenizer() const;

 private:
  std::unique_ptr<EngineImpl> impl_;
};

class EngineStopped : public std::runtime_error {
 public:
  EngineStopped() : std::runtime_error("the engine is shutting down; retry on another server") {}
};

// A blocking consumer of one request's events, for callers without an event loop (`kiln run`,
// tests, benchmarks): pass Sink() to Engine::Submit, then call Next() until it returns nullopt.
class RequestStream {
 public:
  EventSink Sink();
  // The next event, waiting for it; nullopt after the request_done event has been returned.
  std::optional<Event> Next();
  // As Next, but gives up after `timeout` (returns nullopt; check done()).
  std::optional<Event> NextFor(std::chrono::milliseconds timeout);
  bool done() const;

 private:
  struct State {
    std::mutex mutex;
    std::condition_variable ready;
    std::deque<Event> events;
    bool done_pushed = false;
    bool done_returned = false;
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

}  // namespace kiln::engine
