#include "kiln/engine/engine.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "kiln/base/error.h"
#include "kiln/base/log.h"
#include "kiln/engine/admission_policy.h"
#include "kiln/engine/kv_block_manager.h"
#include "kiln/engine/sampler.h"
#include "kiln/engine/scheduler.h"
#include "kiln/engine/stop_matcher.h"
#include "kiln/kernels/thread_pool.h"
#include "kiln/model/model.h"
#include "kiln/tokenizer/tokenizer.h"

namespace kiln::engine {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kDefaultContext = 4096;
const std::vector<double> kStepBounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                         0.25,  0.5,    1.0,   2.5,  5.0,   10.0};

EngineOptions Resolve(const model::Model& model, EngineOptions o) {
  const model::ModelConfig& c = model.config();
  if (o.max_sequences < 1) Fail("--parallel must be at least 1, got {}", o.max_sequences);
  if (o.context_size < 0) Fail("context size must be positive, got {}", o.context_size);
  if (o.context_size == 0) {
    o.context_size =
        std::min(c.context_length > 0 ? c.context_length : kDefaultContext, kDefaultContext);
  }
  if (o.block_size < 1) Fail("KV block size must be positive, got {}", o.block_size);
  if (o.max_batch_tokens < 1) Fail("max batch tokens must be positive, got {}", o.max_batch_tokens);
  // Every running sequence must be able to decode in every step.
  o.max_batch_tokens = std::max(o.max_batch_tokens, o.max_sequences);
  if (o.threads <= 0)
    o.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (o.kv_memory_bytes < 0) Fail("KV memory must not be negative, got {}", o.kv_memory_bytes);
  if (o.kv_type != gguf::TensorType::kF16 && o.kv_type != gguf::TensorType::kF32 &&
      o.kv_type != gguf::TensorType::kQ8_0) {
    Fail("KV cache type must be f16, f32 or q8_0, got {}", gguf::NameOf(o.kv_type));
  }
  return o;
}

int PoolBlocks(const model::Model& model, const EngineOptions& o) {
  if (o.kv_memory_bytes == 0) {
    return o.max_sequences * ((o.context_size + o.block_size - 1) / o.block_size);
  }
  const model::KvCache probe(model.config(),
                             {.num_blocks = 1, .block_size = o.block_size, .type = o.kv_type});
  const std::int64_t blocks = o.kv_memory_bytes / static_cast<std::int64_t>(probe.bytes());
  if (blocks < 1) {
    Fail("--kv-memory of {} bytes holds no KV block ({} bytes each); raise it", o.kv_memory_bytes,
         probe.bytes());
  }
  return static_cast<int>(std::min<std::int64_t>(blocks, 1 << 30));
}

}  // namespace

const char* FinishReasonName(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop:
      return "stop";
    case FinishReason::kLength:
      return "length";
    case FinishReason::kCancelled:
      return "cancelled";
    case FinishReason::kError:
      return "error";
  }
  return "error";
}

struct RequestState;

// One choice of a request: the scheduler's view plus everything that turns logits into text.
struct ChoiceState : Sequence {
  ChoiceState(RequestState& r, int index, const SamplingParams& params, int vocab,
              std::uint64_t seed, const tokenizer::Tokenizer& tok)
      : request(r), choice(index), sampler(params, vocab, seed), stop(params.stop), decoder(tok) {}

  RequestState& request;
  int choice;
  Sampler sampler;
  StopMatcher stop;
  tokenizer::IncrementalDecoder decoder;
  LogprobCalculator logprob;
  int generated = 0;
  bool finished = false;
  bool admitted_once = false;
  std::vector<double> embedding_sum;  // Task::kEmbed: sum of the prompt's hidden states
};

struct RequestState {
  std::string id;
  Request request;
  EventSink sink;
  Clock::time_point submitted;
  std::uint64_t arrival = 0;
  std::uint64_t seed = 0;
  int token_limit = 0;  // most tokens one choice may hold
  std::vector<std::unique_ptr<ChoiceState>> choices;
  int unfinished = 0;
  Usage usage;
};

class EngineImpl {
 public:
  EngineImpl(const model::Model& model, const tokenizer::Tokenizer& tokenizer,
             const EngineOptions& options);
  ~EngineImpl() { Shutdown(std::chrono::milliseconds(0)); }

  std::string Submit(Request request, EventSink sink);
  void Cancel(const std::string& id);
  void Shutdown(std::chrono::milliseconds grace);
  EngineStats Stats() const {
    std::lock_guard lock(stats_mutex_);
    return stats_;
  }

  const model::Model& model_;
  const tokenizer::Tokenizer& tokenizer_;
  const EngineOptions options_;

 private:
  void Loop();
  void Admit(std::unique_ptr<RequestState> request);
  void Step();
  void Sample(ChoiceState& c, std::span<const float> logits);
  void FinishEmbedding(ChoiceState& c);
  // Ends a choice: its last event (with request_done when it was the request's last choice).
  void Finish(ChoiceState& c, Event& event, FinishReason reason, std::string error = {});
  void CancelRequest(RequestState& r, FinishReason reason, const std::string& error);
  void Emit(RequestState& r, Event&& event);
  // Publishes statistics, then delivers the step's events, then forgets finished requests.
  void EndStep(double step_seconds);
  void PublishStats(double step_seconds);
  std::string FinalText(ChoiceState& c, bool& stopped);

  kernels::ThreadPool pool_;
  model::KvCache cache_;
  model::ForwardWorkspace workspace_;
  KvBlockManager blocks_;
  FcfsPriorityPolicy policy_;
  Scheduler scheduler_;
  std::vector<bool> end_of_generation_;
  int vocab_size_;

  // Shared with callers of Submit / Cancel / Shutdown.
  mutable std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable idle_;
  std::vector<std::unique_ptr<RequestState>> inbox_;
  std::vector<std::string> cancels_;
  std::unordered_set<std::string> active_ids_;
  bool accepting_ = true;
  bool stop_now_ = false;
  std::uint64_t next_arrival_ = 0;

  // Engine thread only.
  std::unordered_map<std::string, std::unique_ptr<RequestState>> requests_;
  std::vector<std::string> done_;
  std::vector<std::pair<RequestState*, Event>> outbox_;  // events of the current step
  SequenceId next_sequence_ = 0;
  std::vector<std::int32_t> batch_tokens_, batch_positions_, batch_sequences_;
  std::vector<std::uint8_t> batch_logits_, batch_hidden_;
  std::vector<std::span<const std::int32_t>> batch_tables_;
  EngineStats counters_;  // cumulative counters, copied into stats_

  mutable std::mutex stats_mutex_;
  EngineStats stats_;

  std::mutex join_mutex_;
  std::thread thread_;
};

EngineImpl::EngineImpl(const model::Model& model, const tokenizer::Tokenizer& tokenizer,
                       const EngineOptions& options)
    : model_(model),
      tokenizer_(tokenizer),
      options_(Resolve(model, options)),
      pool_(options_.threads),
      cache_(model.config(), {.num_blocks = PoolBlocks(model, options_),
                              .block_size = options_.block_size,
                              .type = options_.kv_type}),
      workspace_(model.config(), options_.max_batch_tokens,
                 std::min(options_.max_sequences, options_.max_batch_tokens)),
      blocks_(cache_.num_blocks(), options_.block_size, options_.model_id, options_.prefix_caching),
      scheduler_(
          {.max_sequences = options_.max_sequences, .max_batch_tokens = options_.max_batch_tokens},
          blocks_, policy_),
      vocab_size_(model.config().vocab_size) {
  end_of_generation_.assign(vocab_size_, false);
  for (tokenizer::TokenId id : tokenizer.vocab().special.end_of_generation) {
    if (id >= 0 && id < vocab_size_) end_of_generation_[id] = true;
  }
  counters_.step_seconds_bounds = kStepBounds;
  counters_.step_seconds_cumulative.assign(kStepBounds.size(), 0);
  counters_.kv_blocks_total = cache_.num_blocks();
  counters_.kv_blocks_free = cache_.num_blocks();
  stats_ = counters_;
  log::Debug("engine started", {{"model", options_.model_id},
                                {"kv_blocks", cache_.num_blocks()},
                                {"block_size", options_.block_size},
                                {"kv_bytes", cache_.bytes()},
                                {"context", options_.context_size},
                                {"parallel", options_.max_sequences},
                                {"threads", options_.threads}});
  thread_ = std::thread([this] { Loop(); });
}

std::string EngineImpl::Submit(Request request, EventSink sink) {
  const int prompt = static_cast<int>(request.prompt.size());
  if (prompt == 0) Fail("the prompt is empty: nothing to continue from");
  for (std::int32_t t : request.prompt) {
    if (t < 0 || t >= vocab_size_) {
      Fail("prompt token id {} is outside the vocabulary (0..{})", t, vocab_size_ - 1);
    }
  }
  SamplingParams& p = request.params;
  p.Validate(vocab_size_);
  const int context = options_.context_size;
  const int pool_tokens = cache_.num_blocks() * options_.block_size;
  int kv_tokens = prompt;  // tokens whose keys and values must fit at once
  if (request.task == Task::kEmbed) {
    if (p.n != 1) Fail("an embedding request produces one embedding; 'n' must be 1, got {}", p.n);
    if (prompt > context) {
      Fail("the input is {} tokens but the context size is {}; shorten it", prompt, context);
    }
  } else if (p.max_tokens) {
    if (prompt + *p.max_tokens > context) {
      Fail(
          "the prompt ({} tokens) plus max_tokens ({}) exceeds the context size of {} tokens; "
          "shorten the prompt or lower max_tokens",
          prompt, *p.max_tokens, context);
    }
    kv_tokens = prompt + *p.max_tokens - 1;  // the last token is never fed back
  } else if (prompt >= context) {
    Fail("the prompt is {} tokens but the context size is {}: no room to generate", prompt,
         context);
  }
  if (kv_tokens > pool_tokens) {
    Fail(
        "the request needs {} tokens of KV cache but the whole pool holds {} ({} blocks); "
        "shorten it or raise --kv-memory",
        kv_tokens, pool_tokens, cache_.num_blocks());
  }

  auto state = std::make_unique<RequestState>();
  state->seed = ResolveSeed(p);
  state->token_limit = std::min(context, pool_tokens + 1);  // the last token needs no KV
  state->submitted = Clock::now();
  state->sink = std::move(sink);
  std::lock_guard lock(mutex_);
  if (!accepting_) throw EngineStopped();
  state->arrival = next_arrival_++;
  if (request.request_id.empty()) request.request_id = fmt::format("req-{}", state->arrival);
  if (active_ids_.count(request.request_id)) {
    Fail("request id '{}' is already in use by a running request", request.request_id);
  }
  state->id = request.request_id;
  state->request = std::move(request);
  active_ids_.insert(state->id);
  std::string id = state->id;
  inbox_.push_back(std::move(state));
  work_ready_.notify_one();
  return id;
}

void EngineImpl::Cancel(const std::string& id) {
  std::lock_guard lock(mutex_);
  if (!active_ids_.count(id)) return;
  cancels_.push_back(id);
  work_ready_.notify_one();
}

void EngineImpl::Shutdown(std::chrono::milliseconds grace) {
  {
    std::unique_lock lock(mutex_);
    accepting_ = false;
    idle_.wait_for(lock, grace, [this] { return active_ids_.empty(); });
    stop_now_ = true;
    work_ready_.notify_one();
  }
  std::lock_guard join(join_mutex_);
  if (thread_.joinable()) thread_.join();
}

void EngineImpl::Loop() {
  for (;;) {
    std::vector<std::unique_ptr<RequestState>> incoming;
    std::vector<std::string> cancels;
    bool stop;
    {
      std::unique_lock lock(mutex_);
      work_ready_.wait(lock, [this] {
        return !inbox_.empty() || !cancels_.empty() || stop_now_ || scheduler_.has_work();
      });
      incoming.swap(inbox_);
      cancels.swap(cancels_);
      stop = stop_now_;
    }
    for (auto& r : incoming) Admit(std::move(r));
    for (const std::string& id : cancels) {
      const auto it = requests_.find(id);
      if (it != requests_.end()) CancelRequest(*it->second, FinishReason::kCancelled, {});
    }
    if (stop) {
      for (auto& [id, r] : requests_) CancelRequest(*r, FinishReason::kCancelled, {});
      EndStep(-1);
      return;
    }
    if (!scheduler_.has_work()) {
      EndStep(-1);
      continue;
    }
    const Clock::time_point start = Clock::now();
    Step();
    EndStep(std::chrono::duration<double>(Clock::now() - start).count());
  }
}

void EngineImpl::EndStep(double step_seconds) {
  // Statistics and request ids are up to date before anyone hears of the step's results, so a
  // caller that saw request_done finds it counted and may reuse its id at once.
  if (!done_.empty()) {
    std::lock_guard lock(mutex_);
    for (const std::string& id : done_) active_ids_.erase(id);
  }
  PublishStats(step_seconds);
  for (auto& [request, event] : outbox_) {
    try {
      request->sink(std::move(event));
    } catch (const std::exception& e) {
      log::Error("event sink threw", {{"request", request->id}, {"error", e.what()}});
    }
  }
  outbox_.clear();
  if (done_.empty()) return;
  for (const std::string& id : done_) requests_.erase(id);
  done_.clear();
  std::lock_guard lock(mutex_);
  if (active_ids_.empty()) idle_.notify_all();
}

void EngineImpl::Admit(std::unique_ptr<RequestState> r) {
  const Request& q = r->request;
  const int n = q.params.n;
  for (int i = 0; i < n; ++i) {
    auto c = std::make_unique<ChoiceState>(*r, i, q.params, vocab_size_,
                                           SequenceSeed(r->seed, static_cast<std::uint32_t>(i)),
                                           tokenizer_);
    c->id = next_sequence_++;
    c->info = {.tenant = q.tenant, .priority = q.priority, .arrival = r->arrival, .choice = i};
    c->tokens = q.prompt;
    c->prompt_length = static_cast<int>(q.prompt.size());
    c->use_prefix_cache = q.task == Task::kGenerate;
    if (i > 0) c->fork_parent = r->choices[0].get();
    r->choices.push_back(std::move(c));
  }
  r->unfinished = n;
  r->usage.prompt_tokens = static_cast<int>(q.prompt.size());
  counters_.prompt_tokens += q.prompt.size();
  for (auto& c : r->choices) scheduler_.Add(c.get());
  const std::string id = r->id;
  requests_.emplace(id, std::move(r));
}

void EngineImpl::Step() {
  StepPlan plan = scheduler_.Schedule();
  counters_.preemptions += plan.preempted.size();
  for (Sequence* s : plan.preempted) {
    auto* c = static_cast<ChoiceState*>(s);
    c->embedding_sum.clear();
  }
  if (plan.empty()) {
    if (scheduler_.num_running() == 0 && scheduler_.num_waiting() > 0) {
      // Nothing runs and the head of the queue still cannot start: it never will.
      auto* c = static_cast<ChoiceState*>(scheduler_.waiting().front());
      CancelRequest(c->request, FinishReason::kError,
                    "the request does not fit in the KV cache pool");
    }
    return;
  }
  for (Sequence* s : plan.admitted) {
    auto* c = static_cast<ChoiceState*>(s);
    if (!c->admitted_once && c->choice == 0) {
      c->request.usage.cached_prompt_tokens = c->cached_tokens;
      counters_.cached_prompt_tokens += c->cached_tokens;
    }
    c->admitted_once = true;
  }

  const std::size_t n = plan.tokens;
  batch_tokens_.resize(n);
  batch_positions_.resize(n);
  batch_sequences_.resize(n);
  batch_logits_.resize(n);
  batch_hidden_.resize(n);
  batch_tables_.clear();
  bool any_hidden = false;
  std::size_t t = 0;
  for (std::size_t j = 0; j < plan.chunks.size(); ++j) {
    const ScheduledChunk& ch = plan.chunks[j];
    const auto* c = static_cast<const ChoiceState*>(ch.sequence);
    const bool embed = c->request.request.task == Task::kEmbed;
    batch_tables_.push_back(blocks_.Table(c->id));
    for (int k = 0; k < ch.count; ++k, ++t) {
      batch_tokens_[t] = c->tokens[ch.start + k];
      batch_positions_[t] = ch.start + k;
      batch_sequences_[t] = static_cast<std::int32_t>(j);
      batch_logits_[t] = !embed && ch.completes() && k == ch.count - 1;
      batch_hidden_[t] = embed;
      any_hidden = any_hidden || embed;
    }
    const int prompt_part = std::min(ch.start + ch.count, c->prompt_length) - ch.start;
    if (prompt_part > 0) counters_.computed_prompt_tokens += prompt_part;
  }
  const model::ForwardBatch batch{
      .tokens = batch_tokens_,
      .positions = batch_positions_,
      .sequences = batch_sequences_,
      .block_tables = batch_tables_,
      .want_logits = batch_logits_,
      .want_hidden = any_hidden ? std::span<const std::uint8_t>(batch_hidden_)
                                : std::span<const std::uint8_t>(),
  };
  model::ForwardResult result;
  try {
    result = model_.Forward(batch, cache_, workspace_, pool_);
  } catch (const std::exception& e) {
    log::Error("forward pass failed", {{"error", e.what()}});
    for (const ScheduledChunk& ch : plan.chunks) {
      auto* c = static_cast<ChoiceState*>(ch.sequence);
      CancelRequest(c->request, FinishReason::kError,
                    fmt::format("forward pass failed: {}", e.what()));
    }
    return;
  }
  scheduler_.Commit(plan);

  int output = 0;
  t = 0;
  for (const ScheduledChunk& ch : plan.chunks) {
    auto* c = static_cast<ChoiceState*>(ch.sequence);
    const std::size_t first = t;
    t += ch.count;
    if (c->finished) continue;
    if (c->request.request.task == Task::kEmbed) {
      const int embd = result.embedding_length;
      if (c->embedding_sum.empty()) c->embedding_sum.assign(embd, 0.0);
      for (std::size_t i = first; i < t; ++i) {
        const std::span<const float> h = result.TokenHidden(static_cast<int>(i));
        for (int d = 0; d < embd; ++d) c->embedding_sum[d] += h[d];
      }
      if (ch.completes()) FinishEmbedding(*c);
    } else if (ch.completes()) {
      Sample(*c, result.Logits(output++));
    }
  }
}

std::string EngineImpl::FinalText(ChoiceState& c, bool& stopped) {
  std::string text;
  const std::string tail = c.decoder.Flush();
  if (!tail.empty()) {
    const StopMatcher::Output out = c.stop.Consume(tail);
    text.append(out.text);
    if (out.stopped) {
      stopped = true;
      return text;
    }
  }
  text.append(c.stop.Flush());
  return text;
}

void EngineImpl::Sample(ChoiceState& c, std::span<const float> logits) {
  RequestState& r = c.request;
  const SamplingParams& p = r.request.params;
  const std::span<const std::int32_t> all(c.tokens);
  const TokenHistory history{all.first(c.prompt_length), all.subspan(c.prompt_length)};
  Event event;
  event.choice = c.choice;
  std::int32_t token = 0;
  try {
    token = c.sampler.Sample(logits, history);
    if (p.logprobs) {
      event.logprobs.emplace_back();
      c.logprob.Compute(logits, token, p.top_logprobs, event.logprobs.back());
    }
  } catch (const std::exception& e) {
    Finish(c, event, FinishReason::kError, fmt::format("sampling failed: {}", e.what()));
    return;
  }
  c.tokens.push_back(token);
  ++c.generated;
  ++r.usage.completion_tokens;
  ++counters_.generated_tokens;
  event.tokens.push_back(token);
  if (c.generated == 1) {
    event.time_to_first_token =
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - r.submitted);
  }

  const bool stop_token =
      (!p.ignore_eos && end_of_generation_[token]) ||
      std::find(p.stop_token_ids.begin(), p.stop_token_ids.end(), token) != p.stop_token_ids.end();
  if (stop_token) {
    bool stopped = false;
    event.text = FinalText(c, stopped);
    Finish(c, event, FinishReason::kStop);
    return;
  }
  const std::string piece = c.decoder.Push(token);
  const StopMatcher::Output out = c.stop.Consume(piece);
  event.text.assign(out.text);
  if (out.stopped) {
    Finish(c, event, FinishReason::kStop);
    return;
  }
  const bool length = (p.max_tokens && c.generated >= *p.max_tokens) ||
                      static_cast<int>(c.tokens.size()) >= r.token_limit;
  if (length) {
    bool stopped = false;
    event.text.append(FinalText(c, stopped));
    Finish(c, event, stopped ? FinishReason::kStop : FinishReason::kLength);
    return;
  }
  event.usage = r.usage;
  Emit(r, std::move(event));
}

void EngineImpl::FinishEmbedding(ChoiceState& c) {
  Event event;
  event.choice = c.choice;
  const std::size_t embd = c.embedding_sum.size();
  event.embedding.resize(embd);
  double norm = 0;
  for (std::size_t d = 0; d < embd; ++d) {
    const double mean = c.embedding_sum[d] / c.prompt_length;
    c.embedding_sum[d] = mean;
    norm += mean * mean;
  }
  norm = std::sqrt(norm);
  for (std::size_t d = 0; d < embd; ++d) {
    event.embedding[d] = static_cast<float>(norm > 0 ? c.embedding_sum[d] / norm : 0.0);
  }
  Finish(c, event, FinishReason::kStop);
}

void EngineImpl::Finish(ChoiceState& c, Event& event, FinishReason reason, std::string error) {
  RequestState& r = c.request;
  c.finished = true;
  scheduler_.Remove(&c);
  event.choice = c.choice;
  event.finished = true;
  event.finish_reason = reason;
  event.error = std::move(error);
  if (--r.unfinished == 0) {
    event.request_done = true;
    ++counters_.requests_finished;
    done_.push_back(r.id);
  }
  event.usage = r.usage;
  Emit(r, std::move(event));
}

void EngineImpl::CancelRequest(RequestState& r, FinishReason reason, const std::string& error) {
  for (auto& c : r.choices) {
    if (c->finished) continue;
    Event event;
    Finish(*c, event, reason, error);
  }
}

void EngineImpl::Emit(RequestState& r, Event&& event) {
  outbox_.emplace_back(&r, std::move(event));
}

void EngineImpl::PublishStats(double step_seconds) {
  if (step_seconds >= 0) {
    ++counters_.steps;
    counters_.step_seconds_sum += step_seconds;
    for (std::size_t i = 0; i < kStepBounds.size(); ++i) {
      if (step_seconds <= kStepBounds[i]) ++counters_.step_seconds_cumulative[i];
    }
  }
  counters_.preemptions = scheduler_.preemptions();
  counters_.running_sequences = scheduler_.num_running();
  int running = 0;
  int live = 0;
  for (const auto& [id, r] : requests_) {
    if (r->unfinished == 0) continue;
    ++live;
    for (const auto& c : r->choices) {
      if (c->state == Sequence::State::kRunning) {
        ++running;
        break;
      }
    }
  }
  counters_.running_requests = running;
  counters_.waiting_requests = live - running;
  counters_.kv_blocks_total = blocks_.total_blocks();
  counters_.kv_blocks_used = blocks_.used_blocks();
  counters_.kv_blocks_cached = blocks_.cached_blocks();
  counters_.kv_blocks_free = blocks_.free_blocks();
  std::lock_guard lock(stats_mutex_);
  stats_ = counters_;
}

Engine::Engine(const model::Model& model, const tokenizer::Tokenizer& tokenizer,
               const EngineOptions& options)
    : impl_(std::make_unique<EngineImpl>(model, tokenizer, options)) {}
Engine::~Engine() = default;
std::string Engine::Submit(Request request, EventSink sink) {
  return impl_->Submit(std::move(request), std::move(sink));
}
void Engine::Cancel(const std::string& request_id) {
  impl_->Cancel(request_id);
}
void Engine::Shutdown(std::chrono::milliseconds grace) {
  impl_->Shutdown(grace);
}
EngineStats Engine::Stats() const {
  return impl_->Stats();
}
const EngineOptions& Engine::options() const {
  return impl_->options_;
}
const model::Model& Engine::model() const {
  return impl_->model_;
}
const tokenizer::Tokenizer& Engine::tokenizer() const {
  return impl_->tokenizer_;
}

EventSink RequestStream::Sink() {
  return [state = state_](Event&& event) {
    std::lock_guard lock(state->mutex);
    if (event.request_done) state->done_pushed = true;
    state->events.push_back(std::move(event));
    state->ready.notify_all();
  };
}

std::optional<Event> RequestStream::Next() {
  std::unique_lock lock(state_->mutex);
  if (state_->done_returned) return std::nullopt;
  state_->ready.wait(lock, [this] { return !state_->events.empty(); });
  Event event = std::move(state_->events.front());
  state_->events.pop_front();
  if (event.request_done) state_->done_returned = true;
  return event;
}

std::optional<Event> RequestStream::NextFor(std::chrono::milliseconds timeout) {
  std::unique_lock lock(state_->mutex);
  if (state_->done_returned) return std::nullopt;
  if (!state_->ready.wait_for(lock, timeout, [this] { return !state_->events.empty(); })) {
    return std::nullopt;
  }
  Event event = std::move(state_->events.front());
  state_->events.pop_front();
  if (event.request_done) state_->done_returned = true;
  return event;
}

bool RequestStream::done() const {
  std::lock_guard lock(state_->mutex);
  return state_->done_returned;
}

}  // namespace kiln::engine
