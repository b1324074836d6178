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

void GenerationCall::Run(std::vector<engine::Request> requests) {
  for (std::size_t i = 0; i < requests.size(); ++i) {
    requests[i].request_id = fmt::format("{}-{}", options_.header.id, i);
    engine_ids_.push_back(requests[i].request_id);
  }
  metrics_.RequestStarted(model_.id(), endpoint_);
  std::shared_ptr<GenerationCall> self = shared_from_this();
  for (std::size_t i = 0; i < requests.size(); ++i) {
    try {
      model_.engine().Submit(std::move(requests[i]),
                             [self, index = static_cast<int>(i)](engine::Event&& event) {
                               self->OnEvent(index, std::move(event));
                             });
    } catch (...) {
      {
        std::lock_guard lock(mutex_);
        failed_ = true;
        finished_ = true;
      }
      for (std::size_t k = 0; k < i; ++k) model_.engine().Cancel(engine_ids_[k]);
      metrics_.RequestFinished(model_.id(), endpoint_, {}, SecondsSince(started_));
      throw;
    }
  }
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
      if (finished_) stream_.Close();
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
    metrics_.FirstToken(model_.id(),
                        std::chrono::duration<double>(*event.time_to_first_token).count());
  }
  if (streaming_) {
    std::string frames = encoder_->Add(request_index, event);
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

void GenerationCall::CancelEngineRequests() {
  // Never under mutex_: the engine may deliver the cancellation events synchronously.
  for (const std::string& id : engine_ids_) model_.engine().Cancel(id);
}

EmbeddingCall::EmbeddingCall(ServedModel& model, bool base64, Responder responder,
                             ApiMetrics& metrics)
    : model_(model), base64_(base64), responder_(std::move(responder)), metrics_(metrics) {}

void EmbeddingCall::Run(std::vector<engine::Request> requests) {
  static constexpr std::string_view kEndpoint = "embeddings";
  const std::string base = fmt::format("embd-{:x}", reinterpret_cast<std::uintptr_t>(this));
  embeddings_.resize(requests.size());
  for (std::size_t i = 0; i < requests.size(); ++i) {
    requests[i].request_id = fmt::format("{}-{}", base, i);
    engine_ids_.push_back(requests[i].request_id);
  }
  metrics_.RequestStarted(model_.id(), kEndpoint);
  std::shared_ptr<EmbeddingCall> self = shared_from_this();
  for (std::size_t i = 0; i < requests.size(); ++i) {
    try {
      model_.engine().Submit(std::move(requests[i]),
                             [self, index = static_cast<int>(i)](engine::Event&& event) {
                               self->OnEvent(index, std::move(event));
                             });
    } catch (...) {
      {
        std::lock_guard lock(mutex_);
        failed_ = true;
      }
      for (std::size_t k = 0; k < i; ++k) model_.engine().Cancel(engine_ids_[k]);
      metrics_.RequestFinished(model_.id(), kEndpoint, {}, SecondsSince(started_));
      throw;
    }
  }
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
  if (error_) {
    responder_.SendError(500, *error_);
  } else {
    responder_.SendJson(
        200, Dump(openai::EmbeddingResponse(model_.id(), embeddings_, base64_, prompt_tokens_)));
  }
  metrics_.RequestFinished(model_.id(), "embeddings", usage, SecondsSince(started_));
}

void EmbeddingCall::CancelEngineRequests() {
  for (const std::string& id : engine_ids_) model_.engine().Cancel(id);
}

}  // namespace kiln::server::api
