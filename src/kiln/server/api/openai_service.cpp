#include "kiln/server/api/openai_service.h"

#include <fmt/format.h>

#include <chrono>
#include <memory>

#include "kiln/base/log.h"
#include "kiln/server/api/generation_call.h"
#include "kiln/server/api/served_model.h"
#include "kiln/server/openai/api_error.h"
#include "kiln/server/openai/request_preparation.h"
#include "kiln/server/openai/requests.h"

namespace kiln::server::api {
namespace {

using openai::ApiError;

std::string Dump(const openai::Json& json) {
  return json.dump(-1, ' ', false, openai::Json::error_handler_t::replace);
}

std::int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void SendApiError(Responder& responder, const ApiError& e) {
  responder.SendError(e.status(), e.what(), e.type(),
                      e.param().empty() ? std::nullopt : std::optional<std::string_view>(e.param()),
                      e.code().empty() ? std::nullopt : std::optional<std::string_view>(e.code()));
}

// Runs a handler body, turning every failure into an OpenAI-style error response: ApiError as
// itself, the engine refusing a request as 400, the engine stopping as 503, anything else 500.
template <typename Body>
void Answer(Responder& responder, Body&& body) {
  try {
    body();
  } catch (const AccessDenied& e) {
    std::vector<HttpHeader> headers;
    if (e.retry_after_s() > 0)
      headers.push_back({"Retry-After", std::to_string(e.retry_after_s())});
    responder.SendError(e.status(), e.what(), {}, std::nullopt, e.code(), std::move(headers));
  } catch (const ApiError& e) {
    SendApiError(responder, e);
  } catch (const engine::EngineStopped& e) {
    responder.SendError(503, e.what());
  } catch (const Error& e) {
    responder.SendError(400, e.what(), "invalid_request_error");
  } catch (const std::exception& e) {
    log::Error("request failed", {{"error", e.what()}});
    responder.SendError(500, "internal error; see the server log");
  }
}

}  // namespace

OpenAiService::OpenAiService(std::vector<ServedModel*> models, MetricsRegistry& metrics)
    : models_(std::move(models)), registry_(metrics), metrics_(metrics, models_) {}

void OpenAiService::SetAccessControl(AccessControl* access) {
  access_ = access;
  if (access_ && !settle_worker_) settle_worker_ = std::make_unique<SettleWorker>();
}

std::unique_ptr<Caller> OpenAiService::Authenticate(const HttpRequest& request) const {
  if (access_ == nullptr) return nullptr;
  return access_->Authenticate(request.Header("Authorization"));
}

void OpenAiService::AddRoutes(Router& router) {
  router.Post("/v1/chat/completions",
              [this](const HttpRequest& r, Responder s) { ChatCompletions(r, std::move(s)); });
  router.Post("/v1/completions",
              [this](const HttpRequest& r, Responder s) { Completions(r, std::move(s)); });
  router.Post("/v1/embeddings",
              [this](const HttpRequest& r, Responder s) { Embeddings(r, std::move(s)); });
  router.Get("/v1/models",
             [this](const HttpRequest& r, Responder s) { ListModels(r, std::move(s)); });
  router.Get("/v1/models/{id...}",
             [this](const HttpRequest& r, Responder s) { GetModel(r, std::move(s)); });
  router.Post("/tokenize",
              [this](const HttpRequest& r, Responder s) { Tokenize(r, std::move(s)); });
  router.Post("/detokenize",
              [this](const HttpRequest& r, Responder s) { Detokenize(r, std::move(s)); });
  router.Post("/apply-template",
              [this](const HttpRequest& r, Responder s) { ApplyTemplate(r, std::move(s)); });
  router.Get("/health",
             [](const HttpRequest&, Responder s) { s.SendJson(200, R"({"status":"ok"})"); });
  router.Get("/ready", [this](const HttpRequest& r, Responder s) { Ready(r, std::move(s)); });
  router.Get("/metrics", [this](const HttpRequest&, Responder s) {
    s.Send(200, "text/plain; version=0.0.4; charset=utf-8", registry_.Render());
  });
}

void OpenAiService::StopAccepting() {
  accepting_ = false;
  for (ServedModel* model : models_) model->engine().Shutdown(std::chrono::milliseconds(0));
}

void OpenAiService::CheckAccepting() const {
  if (!accepting_) {
    throw ApiError(503, "The server is shutting down; retry on another instance.", {},
                   "server_shutting_down", "server_error");
  }
}

ServedModel& OpenAiService::FindModel(std::string_view name) const {
  for (ServedModel* model : models_) {
    if (model->id() == name) return *model;
  }
  throw openai::ModelNotFound(openai::ToValidUtf8(name));
}

ServedModel& OpenAiService::FindModelOrOnly(std::string_view name) const {
  if (!name.empty()) return FindModel(name);
  if (models_.size() == 1) return *models_.front();
  throw openai::InvalidRequest("Several models are served: name one with 'model'.", "model",
                               "missing_required_parameter");
}

void OpenAiService::ChatCompletions(const HttpRequest& request, Responder responder) {
  Answer(responder, [&] {
    CheckAccepting();
    std::unique_ptr<Caller> caller = Authenticate(request);
    const openai::ChatCompletionRequest parsed = openai::ParseChatCompletionRequest(request.body);
    ServedModel& model = FindModel(parsed.model);
    StartGeneration(model, openai::PrepareChatCompletion(parsed, model.context()), parsed.options,
                    openai::ApiKind::kChat, "chatcmpl-", "chat_completions", caller.get(),
                    responder);
  });
}

void OpenAiService::Completions(const HttpRequest& request, Responder responder) {
  Answer(responder, [&] {
    CheckAccepting();
    std::unique_ptr<Caller> caller = Authenticate(request);
    const openai::CompletionRequest parsed = openai::ParseCompletionRequest(request.body);
    ServedModel& model = FindModel(parsed.model);
    StartGeneration(model, openai::PrepareCompletion(parsed, model.context()), parsed.options,
                    openai::ApiKind::kCompletion, "cmpl-", "completions", caller.get(), responder);
  });
}

void OpenAiService::StartGeneration(ServedModel& model, openai::PreparedGeneration prepared,
                                    const openai::GenerationOptions& request_options,
                                    openai::ApiKind kind, std::string_view id_prefix,
                                    const char* endpoint, Caller* caller, Responder responder) {
  std::unique_ptr<AccessGrant> grant;
  if (caller != nullptr) {
    // The most the request can use: its prompts plus max_tokens for each choice (unset
    // max_tokens counts 0 here; the ticket is settled with the real usage either way).
    std::int64_t estimated = 0;
    for (engine::Request& r : prepared.requests) {
      estimated += static_cast<std::int64_t>(r.prompt.size()) +
                   std::int64_t{r.params.n} * r.params.max_tokens.value_or(0);
      r.tenant = caller->tenant();
      r.priority = caller->priority();
    }
    grant = caller->Admit(model.id(), estimated);
  }
  openai::ResponseOptions options;
  options.kind = kind;
  options.header = {ids_.Next(id_prefix), NowSeconds(), model.id(), model.system_fingerprint()};
  options.requests = static_cast<int>(prepared.requests.size());
  options.choices_per_request = prepared.choices_per_request;
  options.logprobs = request_options.params.logprobs;
  options.include_usage = request_options.include_usage;
  options.stop_token_ids = request_options.params.stop_token_ids;
  auto call = std::make_shared<GenerationCall>(model, std::move(options), request_options.stream,
                                               responder, metrics_, endpoint);
  if (grant) call->SetAccessGrant(std::move(grant), *settle_worker_);
  call->Run(std::move(prepared.requests));
}

void OpenAiService::Embeddings(const HttpRequest& request, Responder responder) {
  Answer(responder, [&] {
    CheckAccepting();
    std::unique_ptr<Caller> caller = Authenticate(request);
    const openai::EmbeddingRequest parsed = openai::ParseEmbeddingRequest(request.body);
    ServedModel& model = FindModel(parsed.model);
    std::vector<engine::Request> requests = openai::PrepareEmbedding(parsed, model.context());
    std::unique_ptr<AccessGrant> grant;
    if (caller) {
      std::int64_t estimated = 0;
      for (engine::Request& r : requests) {
        estimated += static_cast<std::int64_t>(r.prompt.size());
        r.tenant = caller->tenant();
        r.priority = caller->priority();
      }
      grant = caller->Admit(model.id(), estimated);
    }
    auto call = std::make_shared<EmbeddingCall>(model, parsed.base64, responder, metrics_);
    if (grant) call->SetAccessGrant(std::move(grant), *settle_worker_);
    call->Run(std::move(requests));
  });
}

void OpenAiService::ListModels(const HttpRequest& request, Responder responder) const {
  Answer(responder, [&] {
    Authenticate(request);
    std::vector<openai::Json> list;
    for (const ServedModel* model : models_) {
      list.push_back(openai::ModelObject(model->id(), model->created()));
    }
    responder.SendJson(200, Dump(openai::ModelList(list)));
  });
}

void OpenAiService::GetModel(const HttpRequest& request, Responder responder) const {
  Answer(responder, [&] {
    Authenticate(request);
    const ServedModel& model = FindModel(request.PathParam("id").value_or(""));
    responder.SendJson(200, Dump(openai::ModelObject(model.id(), model.created())));
  });
}

void OpenAiService::Tokenize(const HttpRequest& request, Responder responder) const {
  Answer(responder, [&] {
    const openai::TokenizeRequest parsed = openai::ParseTokenizeRequest(request.body);
    const ServedModel& model = FindModelOrOnly(parsed.model);
    const openai::ModelContext context = model.context();
    const std::vector<std::int32_t> tokens = openai::Tokenize(parsed, context);
    openai::Json body = openai::Json::object();
    body["tokens"] = tokens;
    body["count"] = tokens.size();
    body["max_model_len"] = context.context_size;
    responder.SendJson(200, Dump(body));
  });
}

void OpenAiService::Detokenize(const HttpRequest& request, Responder responder) const {
  Answer(responder, [&] {
    const openai::DetokenizeRequest parsed = openai::ParseDetokenizeRequest(request.body);
    const ServedModel& model = FindModelOrOnly(parsed.model);
    openai::Json body = openai::Json::object();
    body["prompt"] = openai::Detokenize(parsed, model.context());
    responder.SendJson(200, Dump(body));
  });
}

void OpenAiService::ApplyTemplate(const HttpRequest& request, Responder responder) const {
  Answer(responder, [&] {
    const openai::ApplyTemplateRequest parsed = openai::ParseApplyTemplateRequest(request.body);
    const ServedModel& model = FindModelOrOnly(parsed.model);
    openai::Json body = openai::Json::object();
    body["prompt"] = openai::ApplyTemplate(parsed, model.context());
    responder.SendJson(200, Dump(body));
  });
}

void OpenAiService::Ready(const HttpRequest&, Responder responder) const {
  if (accepting_) {
    responder.SendJson(200, R"({"status":"ready"})");
  } else {
    responder.SendError(503, "shutting down", "server_error");
  }
}

}  // namespace kiln::server::api
