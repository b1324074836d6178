#include "kiln/server/api/generation_call.h"

#include <fmt/format.h>

#include "kiln/base/log.h"
#include "kiln/server/api/served_model.h"

namespace kiln::server::api {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string Dump(const openai::Json& json) {
  return json.dump(-1, ' ', false, openai::Json::error_handler_t::replace);
}

}  // namespace

GenerationCall::GenerationCall(ServedModel& model, openai::ResponseOptions options, bool stream,
                               Responder responder, ApiMetrics& metrics, std::string endpoint)
    : model_(model),
      options_(std::move(options)),
      streaming_(stream),
      responder_(std::move(responder)),
      metrics_(metrics),
      endpoint_(std::move(endpoint)) {
  if (streaming_) {
    encoder_.emplace(options_, model_.tokenizer());
  } else {
    collector_.emplace(options_, model_.tokenizer());
  }
}

namespace {

// Submits every request under the id "<base>-<index>" (recorded in `ids` first, so that events and
// cancellation can find them), routing each one's events to on_event(index, event). When a Submit
// throws, the requests already submitted are cancelled, on_failure() runs and the error propagates.
template <typename OnEvent, typename OnFailure>
void SubmitAll(engine::Engine& engine, std::vector<engine::Request>& requests,
               const std::string& base, std::vector<std::string>& ids, OnEvent on_event,
               OnFailure on_failure) {
  for (std::size_t i = 0; i < requests.size(); ++i) {
    requests[i].request_id = fmt::format("{}-{}", base, i);
    ids.push_back(requests[i].request_id);
  }
  for (std::size_t i = 0; i < requests.size(); ++i) {
    try {
      engine.Submit(std::move(requests[i]),
                    [on_event, index = static_cast<int>(i)](engine::Event&& event) {
                      on_event(index, std::move(event));
                    });
    } catch (...) {
      on_failure();
      for (std::size_t k = 0; k < i; ++k) engine.Cancel(ids[k]);
      throw;
    }
  }
}

}  // namespace

void GenerationCall::Run(std::vector<engine::Request> requests) {
  metrics_.RequestStarted(model_.id(), endpoint_);
  std::shared_ptr<GenerationCall> self = shared_from_this();
  SubmitAll(
      model_.engine(), requests, options_.header.id, engine_ids_,
      [self](int index, engine::Event&& event) { self->OnEvent(index, std::move(event)); },
      [&] {
        {
          std::lock_guard lock(mutex_);
          failed_ = true;
          finished_ = true;
        }
        metrics_.RequestFinished(model_.id(), endpoint_, {}, SecondsSince(started_));
      });
  std::weak_ptr<GenerationCall> weak = self;
  auto cancel = [weak] {
    if (auto call = weak.lock()) call->CancelEngineRequests();
  };
  if (streaming_) {
    ResponseStream stream = responder_.StartEventStream();
    {
      std::lock_guard lock(mutex_);
      stream_ = stream;
      started_response_ = true;
      stream_.Write(encoder_->Start() + pending_);
      pending_.clear();
      if (finished_ && !awaiting_settle_) stream_.Close();
    }
    stream.OnClientGone(cancel);
  } else {
    responder_.OnClientGone(cancel);
  }
}

void GenerationCall::OnEvent(int request_index, engine::Event&& event) {
  std::lock_guard lock(mutex_);
  if (failed_) return;
  if (!first_token_seen_ && event.time_to_first_token) {
    first_token_seen_ = true;
    ttft_s_ = std::chrono::duration<double>(*event.time_to_first_token).count();
    metrics_.FirstToken(model_.id(), ttft_s_);
  }
  if (event.finished && event.finish_reason != engine::FinishReason::kStop &&
      static_cast<int>(event.finish_reason) > static_cast<int>(finish_reason_)) {
    finish_reason_ = event.finish_reason;
  }
  if (streaming_) {
    std::string frames = encoder_->Add(request_index, event);
    if (grant_ && encoder_->done() && !finished_) {
      // The last frames (finish_reason, usage, [DONE]) go out only once the ledger has the record.
      Finish(encoder_->usage());
      awaiting_settle_ = true;
      SettleThen(encoder_->usage(), [this, frames = std::move(frames)] {
        awaiting_settle_ = false;
        if (started_response_) {
          stream_.Write(frames);
          stream_.Close();
        } else {
          pending_ += frames;
        }
      });
      return;
    }
    if (started_response_) {
      if (!frames.empty()) stream_.Write(frames);
    } else {
      pending_ += frames;
    }
    if (encoder_->done() && !finished_) {
      Finish(encoder_->usage());
      if (started_response_) stream_.Close();
    }
    return;
  }
  if (collector_->Add(request_index, event) && !finished_) {
    if (grant_) {
      std::optional<std::string> error = collector_->error();
      std::string body = error ? std::string() : Dump(collector_->Build());
      Finish(collector_->usage());
      SettleThen(collector_->usage(), [this, error = std::move(error), body = std::move(body)] {
        if (error) {
          responder_.SendError(500, *error);
        } else {
          responder_.SendJson(200, body);
        }
      });
      return;
    }
    if (collector_->error()) {
      responder_.SendError(500, *collector_->error());
    } else {
      responder_.SendJson(200, Dump(collector_->Build()));
    }
    Finish(collector_->usage());
  }
}

void GenerationCall::Finish(const engine::Usage& usage) {
  finished_ = true;
  metrics_.RequestFinished(model_.id(), endpoint_, usage, SecondsSince(started_));
}

void GenerationCall::SetAccessGrant(std::unique_ptr<AccessGrant> grant, SettleWorker& worker) {
  grant_ = std::move(grant);
  settle_worker_ = &worker;
}

UsageReport GenerationCall::Report(const engine::Usage& usage) const {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  UsageReport report;
  report.request_id = options_.header.id;
  report.model = model_.id();
  report.prompt_tokens = usage.prompt_tokens;
  report.cached_tokens = usage.cached_prompt_tokens;
  report.completion_tokens = usage.completion_tokens;
  report.ttft_ms = static_cast<std::int64_t>(ttft_s_ * 1000);
  report.latency_ms = static_cast<std::int64_t>(SecondsSince(started_) * 1000);
  report.finish_reason = engine::FinishReasonName(finish_reason_);
  report.status = finish_reason_ == engine::FinishReason::kCancelled ? "cancelled"
                  : finish_reason_ == engine::FinishReason::kError   ? "error"
                                                                     : "ok";
  report.started_ms = duration_cast<milliseconds>(started_wall_.time_since_epoch()).count();
  report.finished_ms =
      duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  return report;
}

void GenerationCall::SettleThen(const engine::Usage& usage, std::function<void()> deliver) {
  settle_worker_->Post(
      [self = shared_from_this(), report = Report(usage), deliver = std::move(deliver)] {
        try {
          self->grant_->Settle(report);
        } catch (const std::exception& e) {
          // Availability over strict billing: the client still gets its answer; the operator sees
          // every lost record in the log.
          log::Error("usage record not stored",
                     {{"request_id", report.request_id}, {"error", e.what()}});
        }
        std::lock_guard lock(self->mutex_);
        deliver();
      });
}

void GenerationCall::CancelEngineRequests() {
  // Never under mutex_: the engine may deliver the cancellation events synchronously.
  for (const std::string& id : engine_ids_) model_.engine().Cancel(id);
}

EmbeddingCall::EmbeddingCall(ServedModel& model, bool base64, Responder responder,
                             ApiMetrics& metrics)
    : model_(model),
      base64_(base64),
      responder_(std::move(responder)),
      metrics_(metrics),
      id_(fmt::format("embd-{:x}-{:x}", reinterpret_cast<std::uintptr_t>(this),
                      started_wall_.time_since_epoch().count())) {}

void EmbeddingCall::Run(std::vector<engine::Request> requests) {
  static constexpr std::string_view kEndpoint = "embeddings";
  // Unique among live calls; the ledger's request id (the engine's ids add "-<input>").
  const std::string base = id_;
  embeddings_.resize(requests.size());
  metrics_.RequestStarted(model_.id(), kEndpoint);
  std::shared_ptr<EmbeddingCall> self = shared_from_this();
  SubmitAll(
      model_.engine(), requests, base, engine_ids_,
      [self](int index, engine::Event&& event) { self->OnEvent(index, std::move(event)); },
      [&] {
        {
          std::lock_guard lock(mutex_);
          failed_ = true;
        }
        metrics_.RequestFinished(model_.id(), kEndpoint, {}, SecondsSince(started_));
      });
  std::weak_ptr<EmbeddingCall> weak = self;
  responder_.OnClientGone([weak] {
    if (auto call = weak.lock()) call->CancelEngineRequests();
  });
}

void EmbeddingCall::OnEvent(int index, engine::Event&& event) {
  std::lock_guard lock(mutex_);
  if (failed_) return;
  if (event.finished && event.finish_reason == engine::FinishReason::kError && !error_) {
    error_ = event.error.empty() ? "embedding failed" : event.error;
  } else if (event.finished && event.finish_reason == engine::FinishReason::kCancelled && !error_) {
    error_ = "the request was cancelled";
  }
  if (!event.embedding.empty())
    embeddings_[static_cast<std::size_t>(index)] = std::move(event.embedding);
  if (!event.request_done) return;
  prompt_tokens_ += event.usage.prompt_tokens;
  if (++done_ < static_cast<int>(embeddings_.size())) return;
  engine::Usage usage;
  usage.prompt_tokens = prompt_tokens_;
  metrics_.RequestFinished(model_.id(), "embeddings", usage, SecondsSince(started_));
  std::optional<std::string> error = error_;
  std::string body =
      error ? std::string()
            : Dump(openai::EmbeddingResponse(model_.id(), embeddings_, base64_, prompt_tokens_));
  auto send = [responder = responder_, error = std::move(error), body = std::move(body)]() mutable {
    if (error) {
      responder.SendError(500, *error);
    } else {
      responder.SendJson(200, std::move(body));
    }
  };
  if (!grant_) {
    send();
    return;
  }
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  UsageReport report;
  report.request_id = id_;
  report.model = model_.id();
  report.prompt_tokens = prompt_tokens_;
  report.latency_ms = static_cast<std::int64_t>(SecondsSince(started_) * 1000);
  report.status = error_ ? "error" : "ok";
  report.finish_reason = error_ ? "error" : "stop";
  report.started_ms = duration_cast<milliseconds>(started_wall_.time_since_epoch()).count();
  report.finished_ms =
      duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  settle_worker_->Post(
      [self = shared_from_this(), report = std::move(report), send = std::move(send)]() mutable {
        try {
          self->grant_->Settle(report);
        } catch (const std::exception& e) {
          log::Error("usage record not stored",
                     {{"request_id", report.request_id}, {"error", e.what()}});
        }
        send();
      });
}

void EmbeddingCall::SetAccessGrant(std::unique_ptr<AccessGrant> grant, SettleWorker& worker) {
  grant_ = std::move(grant);
  settle_worker_ = &worker;
}

void EmbeddingCall::CancelEngineRequests() {
  for (const std::string& id : engine_ids_) model_.engine().Cancel(id);
}

}  // namespace kiln::server::api
