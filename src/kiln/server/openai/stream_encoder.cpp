#include "kiln/server/openai/stream_encoder.h"

namespace kiln::server::openai {

std::string SseFrame(std::string_view payload) {
  std::string frame;
  frame.reserve(payload.size() + 8);
  frame += "data: ";
  frame += payload;
  frame += "\n\n";
  return frame;
}

namespace {

std::string Dump(const Json& json) {
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace

StreamEncoder::StreamEncoder(ResponseOptions options, const tokenizer::Tokenizer& tokenizer)
    : options_(std::move(options)),
      tokenizer_(tokenizer),
      formatter_(tokenizer),
      text_offsets_(static_cast<std::size_t>(options_.requests * options_.choices_per_request)),
      usage_(static_cast<std::size_t>(options_.requests)) {}

Json StreamEncoder::Chunk() const {
  Json chunk = Json::object();
  chunk["id"] = options_.header.id;
  chunk["object"] = options_.kind == ApiKind::kChat ? "chat.completion.chunk" : "text_completion";
  chunk["created"] = options_.header.created;
  chunk["model"] = options_.header.model;
  chunk["system_fingerprint"] = options_.header.system_fingerprint;
  chunk["choices"] = Json::array();
  if (options_.include_usage) chunk["usage"] = nullptr;
  return chunk;
}

std::string StreamEncoder::ChoiceFrame(int index, Json delta_or_text, Json logprobs,
                                       Json finish_reason) const {
  Json chunk = Chunk();
  Json choice = Json::object();
  if (options_.kind == ApiKind::kChat) {
    choice["index"] = index;
    choice["delta"] = std::move(delta_or_text);
  } else {
    choice["text"] = std::move(delta_or_text);
    choice["index"] = index;
  }
  choice["logprobs"] = std::move(logprobs);
  choice["finish_reason"] = std::move(finish_reason);
  chunk["choices"].push_back(std::move(choice));
  return SseFrame(Dump(chunk));
}

std::string StreamEncoder::Start() {
  if (options_.kind != ApiKind::kChat) return {};
  std::string frames;
  const int choices = options_.requests * options_.choices_per_request;
  for (int i = 0; i < choices; ++i) {
    frames += ChoiceFrame(i, {{"role", "assistant"}, {"content", ""}, {"refusal", nullptr}}, Json(),
                          Json());
  }
  return frames;
}

std::string StreamEncoder::Add(int request_index, const engine::Event& event) {
  if (request_index < 0 || request_index >= options_.requests || event.choice < 0 ||
      event.choice >= options_.choices_per_request || done()) {
    return {};
  }
  const bool chat = options_.kind == ApiKind::kChat;
  const int index = request_index * options_.choices_per_request + event.choice;
  std::string frames;

  Json logprobs;
  if (options_.logprobs) {
    const auto reported = ReportedLogprobs(event, tokenizer_, options_.stop_token_ids);
    if (!reported.empty()) {
      if (chat) {
        Json content = Json::array();
        formatter_.AppendChat(reported, content);
        logprobs = {{"content", std::move(content)}, {"refusal", nullptr}};
      } else {
        logprobs = Json::object();
        formatter_.AppendCompletion(reported, logprobs,
                                    text_offsets_[static_cast<std::size_t>(index)]);
      }
    }
  }
  if (!event.text.empty() || !logprobs.is_null()) {
    Json body = chat ? Json{{"content", event.text}} : Json(event.text);
    frames += ChoiceFrame(index, std::move(body), std::move(logprobs), Json());
  }
  if (event.finished) {
    if (event.finish_reason == engine::FinishReason::kError) {
      Json error = Json::object();
      error["message"] = event.error.empty() ? "generation failed" : event.error;
      error["type"] = "server_error";
      error["param"] = nullptr;
      error["code"] = nullptr;
      frames += SseFrame(Dump(Json{{"error", std::move(error)}}));
    } else {
      frames += ChoiceFrame(index, chat ? Json::object() : Json(""), Json(),
                            Json(FinishReasonText(event.finish_reason)));
    }
  }
  usage_[static_cast<std::size_t>(request_index)] = event.usage;
  if (event.request_done) {
    ++requests_done_;
    if (done()) {
      if (options_.include_usage) {
        Json chunk = Chunk();
        chunk["usage"] = UsageJson(usage());
        frames += SseFrame(Dump(chunk));
      }
      frames += kSseDone;
    }
  }
  return frames;
}

engine::Usage StreamEncoder::usage() const {
  engine::Usage total;
  for (const engine::Usage& u : usage_) {
    total.prompt_tokens += u.prompt_tokens;
    total.cached_prompt_tokens += u.cached_prompt_tokens;
    total.completion_tokens += u.completion_tokens;
  }
  return total;
}

}  // namespace kiln::server::openai
