// GenerationCall: one chat or text completion request in flight, from the engine's events to the
// HTTP response. It submits the request's engine requests (one per prompt), feeds their events
// (on the engine thread, never blocking) to a StreamEncoder writing Server-Sent Events or to a
// ResponseCollector answering once everything is done, and cancels the engine requests when the
// client goes away.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "kiln/engine/engine.h"
#include "kiln/server/api/access_control.h"
#include "kiln/server/api/api_metrics.h"
#include "kiln/server/api/settle_worker.h"
#include "kiln/server/openai/response_collector.h"
#include "kiln/server/openai/stream_encoder.h"
#include "kiln/server/responder.h"

namespace kiln::server::api {

class ServedModel;

class GenerationCall : public std::enable_shared_from_this<GenerationCall> {
 public:
  GenerationCall(ServedModel& model, openai::ResponseOptions options, bool stream,
                 Responder responder, ApiMetrics& metrics, std::string endpoint);

  // Submits the engine requests, then starts the response. When a Submit throws (a request the
  // engine refuses, or the engine stopping) the ones already submitted are cancelled and the
  // exception propagates before anything was sent, so the caller answers with the error.
  void Run(std::vector<engine::Request> requests);

  // Bills the request: once the engine is done, `grant` is settled with the usage on `worker`
  // before the final frames (streaming) or the response (not streaming) go out. Before Run.
  void SetAccessGrant(std::unique_ptr<AccessGrant> grant, SettleWorker& worker);

 private:
  void OnEvent(int request_index, engine::Event&& event);
  void Finish(const engine::Usage& usage);               // with mutex_ held
  UsageReport Report(const engine::Usage& usage) const;  // with mutex_ held
  // Settles the grant on the worker, then runs `deliver` (with mutex_ held). With mutex_ held.
  void SettleThen(const engine::Usage& usage, std::function<void()> deliver);
  void CancelEngineRequests();

  ServedModel& model_;
  openai::ResponseOptions options_;
  const bool streaming_;
  Responder responder_;
  ApiMetrics& metrics_;
  const std::string endpoint_;
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  const std::chrono::system_clock::time_point started_wall_ = std::chrono::system_clock::now();
  std::vector<std::string> engine_ids_;
  std::unique_ptr<AccessGrant> grant_;
  SettleWorker* settle_worker_ = nullptr;

  std::mutex mutex_;
  std::optional<openai::StreamEncoder> encoder_;        // streaming
  std::optional<openai::ResponseCollector> collector_;  // not streaming
  ResponseStream stream_;
  bool started_response_ = false;  // stream_ started (frames before that wait in pending_)
  std::string pending_;
  bool failed_ = false;    // Run threw: ignore events
  bool finished_ = false;  // metrics recorded, response complete
  bool first_token_seen_ = false;
  bool awaiting_settle_ = false;  // final frames wait for the ledger write
  double ttft_s_ = 0;
  engine::FinishReason finish_reason_ = engine::FinishReason::kStop;  // the worst seen
};

// Embeddings: one engine request per input, answered once all are done.
class EmbeddingCall : public std::enable_shared_from_this<EmbeddingCall> {
 public:
  EmbeddingCall(ServedModel& model, bool base64, Responder responder, ApiMetrics& metrics);
  void Run(std::vector<engine::Request> requests);
  // As GenerationCall::SetAccessGrant: the response goes out once the ledger has the record.
  void SetAccessGrant(std::unique_ptr<AccessGrant> grant, SettleWorker& worker);

 private:
  void OnEvent(int index, engine::Event&& event);
  void CancelEngineRequests();

  ServedModel& model_;
  const bool base64_;
  Responder responder_;
  ApiMetrics& metrics_;
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  const std::chrono::system_clock::time_point started_wall_ = std::chrono::system_clock::now();
  std::string id_;
  std::vector<std::string> engine_ids_;
  std::unique_ptr<AccessGrant> grant_;
  SettleWorker* settle_worker_ = nullptr;

  std::mutex mutex_;
  std::vector<std::vector<float>> embeddings_;
  std::optional<std::string> error_;
  int done_ = 0;
  int prompt_tokens_ = 0;
  bool failed_ = false;
};

}  // namespace kiln::server::api
