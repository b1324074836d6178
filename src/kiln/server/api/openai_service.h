// OpenAiService: the OpenAI-compatible HTTP API over the served models. It registers the routes
// (/v1/chat/completions, /v1/completions, /v1/embeddings, /v1/models[/{id}], /health, /ready,
// /tokenize, /detokenize, /apply-template, /metrics), answers client errors in OpenAI's schema,
// and hands generation to GenerationCall. Handlers run on the HTTP server's I/O threads and
// never wait for the engine.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/server/api/access_control.h"
#include "kiln/server/api/api_metrics.h"
#include "kiln/server/api/settle_worker.h"
#include "kiln/server/metrics.h"
#include "kiln/server/openai/request_preparation.h"
#include "kiln/server/openai/requests.h"
#include "kiln/server/openai/response_json.h"
#include "kiln/server/router.h"

namespace kiln::server::api {

class ServedModel;

class OpenAiService {
 public:
  // The models and the registry must outlive the service.
  OpenAiService(std::vector<ServedModel*> models, MetricsRegistry& metrics);

  // Every /v1 route then asks `access` who is calling (401/403/429 otherwise), and each generation
  // request is billed through it before its response completes. Without it the API is open.
  // `access` must outlive the service; call before AddRoutes.
  void SetAccessControl(AccessControl* access);

  void AddRoutes(Router& router);

  // Shutdown: /ready answers 503 and new generation requests are refused (503); engines stop
  // and cancel what they still run. For the HTTP server's shutdown hook.
  void StopAccepting();

 private:
  using Json = openai::Json;

  ServedModel& FindModel(std::string_view name) const;  // ApiError 404 when unknown
  // The model a utility endpoint means: the named one, or the only one when none is named.
  ServedModel& FindModelOrOnly(std::string_view name) const;

  void ChatCompletions(const HttpRequest& request, Responder responder);
  void Completions(const HttpRequest& request, Responder responder);
  void Embeddings(const HttpRequest& request, Responder responder);
  // Shared tail of the two generation routes: response options from the parsed request, then the
  // engine requests submitted through a GenerationCall that answers `responder`.
  void StartGeneration(ServedModel& model, openai::PreparedGeneration prepared,
                       const openai::GenerationOptions& request_options, openai::ApiKind kind,
                       std::string_view id_prefix, const char* endpoint, Caller* caller,
                       Responder responder);
  void ListModels(const HttpRequest& request, Responder responder) const;
  void GetModel(const HttpRequest& request, Responder responder) const;
  void Tokenize(const HttpRequest& request, Responder responder) const;
  void Detokenize(const HttpRequest& request, Responder responder) const;
  void ApplyTemplate(const HttpRequest& request, Responder responder) const;
  void Ready(const HttpRequest& request, Responder responder) const;

  void CheckAccepting() const;  // ApiError 503 while shutting down
  // The caller, nullptr when the API is open; throws AccessDenied.
  std::unique_ptr<Caller> Authenticate(const HttpRequest& request) const;

  std::vector<ServedModel*> models_;
  MetricsRegistry& registry_;
  ApiMetrics metrics_;
  openai::IdGenerator ids_;
  std::atomic<bool> accepting_{true};
  AccessControl* access_ = nullptr;
  std::unique_ptr<SettleWorker> settle_worker_;  // with access_
};

}  // namespace kiln::server::api
