#include "kiln/loadgen/sse_parser.h"

#include <nlohmann/json.hpp>

namespace kiln::loadgen {

std::vector<SseEvent> SseParser::Feed(std::string_view bytes) {
  std::vector<SseEvent> out;
  for (char c : bytes) {
    if (pending_cr_) {
      pending_cr_ = false;
      if (c == '\n') continue;  // the second half of a "\r\n" split across chunks
    }
    if (c == '\r' || c == '\n') {
      pending_cr_ = c == '\r';
      ProcessLine(line_, out);
      line_.clear();
    } else {
      line_ += c;
    }
  }
  return out;
}

bool SseParser::HasPartialEvent() const {
  return have_data_ || !line_.empty();
}

void SseParser::ProcessLine(std::string_view line, std::vector<SseEvent>& out) {
  if (line.empty()) {  // a blank line dispatches the event being built
    if (have_data_) out.push_back(std::move(current_));
    current_ = SseEvent{};
    have_data_ = false;
    return;
  }
  if (line.front() == ':') return;  // comment (keep-alive)
  const std::size_t colon = line.find(':');
  std::string_view field = line.substr(0, colon);
  std::string_view value;
  if (colon != std::string_view::npos) {
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    if (have_data_) current_.data += '\n';
    current_.data.append(value);
    have_data_ = true;
  } else if (field == "event") {
    current_.event = std::string(value);
  }
}

namespace {

bool HasText(const nlohmann::json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() && !it->get_ref<const std::string&>().empty();
}

std::string ErrorMessage(const nlohmann::json& error) {
  if (error.is_object() && error.contains("message") && error["message"].is_string()) {
    return error["message"].get<std::string>();
  }
  return error.dump();
}

}  // namespace

OpenAiStreamEvent InterpretStreamData(std::string_view data) {
  OpenAiStreamEvent ev;
  std::string_view trimmed = data;
  while (!trimmed.empty() && (trimmed.back() == ' ' || trimmed.back() == '\n')) {
    trimmed.remove_suffix(1);
  }
  if (trimmed == "[DONE]") {
    ev.done = true;
    return ev;
  }
  const nlohmann::json j = nlohmann::json::parse(trimmed, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    ev.error = "unparsable stream data: " + std::string(trimmed.substr(0, 200));
    return ev;
  }
  if (auto it = j.find("error"); it != j.end() && !it->is_null()) {
    ev.error = ErrorMessage(*it);
    return ev;
  }
  if (auto it = j.find("choices"); it != j.end() && it->is_array()) {
    for (const auto& choice : *it) {
      if (!choice.is_object()) continue;
      bool text = HasText(choice, "text");  // /v1/completions
      if (auto d = choice.find("delta"); d != choice.end() && d->is_object()) {
        text = text || HasText(*d, "content") || HasText(*d, "reasoning_content");
      }
      if (text) ++ev.content_pieces;
    }
  }
  if (auto it = j.find("usage"); it != j.end() && it->is_object()) {
    if (auto p = it->find("prompt_tokens"); p != it->end() && p->is_number_integer()) {
      ev.prompt_tokens = p->get<std::int64_t>();
    }
    if (auto c = it->find("completion_tokens"); c != it->end() && c->is_number_integer()) {
      ev.completion_tokens = c->get<std::int64_t>();
    }
  }
  return ev;
}

}  // namespace kiln::loadgen
