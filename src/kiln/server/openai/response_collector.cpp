#include "kiln/server/openai/response_collector.h"

namespace kiln::server::openai {

ResponseCollector::ResponseCollector(ResponseOptions options, const tokenizer::Tokenizer& tokenizer)
    : options_(std::move(options)),
      tokenizer_(tokenizer),
      formatter_(tokenizer),
      choices_(static_cast<std::size_t>(options_.requests * options_.choices_per_request)),
      usage_(static_cast<std::size_t>(options_.requests)) {
  for (Choice& choice : choices_) {
    choice.logprobs = options_.kind == ApiKind::kChat ? Json::array() : Json::object();
  }
}

bool ResponseCollector::Add(int request_index, const engine::Event& event) {
  if (request_index < 0 || request_index >= options_.requests || event.choice < 0 ||
      event.choice >= options_.choices_per_request) {
    return done();  // not ours; the engine never sends these
  }
  Choice& choice = choices_[static_cast<std::size_t>(request_index * options_.choices_per_request +
                                                     event.choice)];
  choice.text += event.text;
  if (options_.logprobs) {
    const auto reported = ReportedLogprobs(event, tokenizer_, options_.stop_token_ids);
    if (options_.kind == ApiKind::kChat) {
      formatter_.AppendChat(reported, choice.logprobs);
    } else {
      formatter_.AppendCompletion(reported, choice.logprobs, choice.text_offset);
    }
  }
  if (event.finished) {
    choice.finish_reason = FinishReasonText(event.finish_reason);
    if (event.finish_reason == engine::FinishReason::kError && !error_) {
      error_ = event.error.empty() ? "generation failed" : event.error;
    }
  }
  usage_[static_cast<std::size_t>(request_index)] = event.usage;
  if (event.request_done) ++requests_done_;
  return done();
}

engine::Usage ResponseCollector::usage() const {
  engine::Usage total;
  for (const engine::Usage& u : usage_) {
    total.prompt_tokens += u.prompt_tokens;
    total.cached_prompt_tokens += u.cached_prompt_tokens;
    total.completion_tokens += u.completion_tokens;
  }
  return total;
}

Json ResponseCollector::Build() const {
  const bool chat = options_.kind == ApiKind::kChat;
  Json response = Json::object();
  response["id"] = options_.header.id;
  response["object"] = chat ? "chat.completion" : "text_completion";
  response["created"] = options_.header.created;
  response["model"] = options_.header.model;
  Json choices = Json::array();
  for (std::size_t i = 0; i < choices_.size(); ++i) {
    const Choice& c = choices_[i];
    Json choice = Json::object();
    choice["index"] = i;
    Json logprobs;  // null unless requested
    if (chat) {
      choice["message"] = {{"role", "assistant"}, {"content", c.text}, {"refusal", nullptr}};
      if (options_.logprobs) logprobs = {{"content", c.logprobs}, {"refusal", nullptr}};
    } else {
      choice["text"] = c.text;
      if (options_.logprobs) {
        logprobs = c.logprobs;
        for (const char* key : {"tokens", "token_logprobs", "top_logprobs", "text_offset"}) {
          if (!logprobs.contains(key)) logprobs[key] = Json::array();
        }
      }
    }
    choice["logprobs"] = std::move(logprobs);
    choice["finish_reason"] = c.finish_reason.empty() ? Json() : Json(c.finish_reason);
    choices.push_back(std::move(choice));
  }
  response["choices"] = std::move(choices);
  response["usage"] = UsageJson(usage());
  response["system_fingerprint"] = options_.header.system_fingerprint;
  return response;
}

}  // namespace kiln::server::openai
