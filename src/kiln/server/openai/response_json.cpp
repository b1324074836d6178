#include "kiln/server/openai/response_json.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kiln/tokenizer/tokenizer.h"

namespace kiln::server::openai {
namespace {

// JSON has no infinity; OpenAI reports impossible tokens at -9999.
double FiniteLogprob(float logprob) {
  return std::isfinite(logprob) ? static_cast<double>(logprob) : -9999.0;
}

}  // namespace

IdGenerator::IdGenerator() : random_(std::random_device{}()) {}

std::string IdGenerator::Next(std::string_view prefix) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string id(prefix);
  std::lock_guard lock(mutex_);
  for (int i = 0; i < 24; ++i) id += kAlphabet[random_() % (sizeof(kAlphabet) - 1)];
  return id;
}

Json UsageJson(const engine::Usage& usage) {
  Json json = Json::object();
  json["prompt_tokens"] = usage.prompt_tokens;
  json["completion_tokens"] = usage.completion_tokens;
  json["total_tokens"] = usage.prompt_tokens + usage.completion_tokens;
  json["prompt_tokens_details"] = {{"cached_tokens", usage.cached_prompt_tokens}};
  return json;
}

LogprobsFormatter::LogprobsFormatter(const tokenizer::Tokenizer& tokenizer)
    : tokenizer_(tokenizer) {}

namespace {

Json TokenEntry(const tokenizer::Tokenizer& tokenizer, const engine::TokenLogprob& t) {
  tokenizer::DecodeOptions render;
  render.render_special = true;
  const std::string bytes = tokenizer.TokenToBytes(t.token, render);
  Json entry = Json::object();
  entry["token"] = ToValidUtf8(bytes);
  entry["logprob"] = FiniteLogprob(t.logprob);
  Json byte_list = Json::array();
  for (char c : bytes) byte_list.push_back(static_cast<unsigned char>(c));
  entry["bytes"] = std::move(byte_list);
  return entry;
}

}  // namespace

void LogprobsFormatter::AppendChat(std::span<const engine::TokenLogprobs> logprobs,
                                   Json& content) const {
  for (const engine::TokenLogprobs& token : logprobs) {
    Json entry = TokenEntry(tokenizer_, token.chosen);
    Json top = Json::array();
    for (const engine::TokenLogprob& alt : token.top) top.push_back(TokenEntry(tokenizer_, alt));
    entry["top_logprobs"] = std::move(top);
    content.push_back(std::move(entry));
  }
}

void LogprobsFormatter::AppendCompletion(std::span<const engine::TokenLogprobs> logprobs,
                                         Json& object, std::size_t& text_offset) const {
  for (const char* key : {"tokens", "token_logprobs", "top_logprobs", "text_offset"}) {
    if (!object.contains(key)) object[key] = Json::array();
  }
  tokenizer::DecodeOptions render;
  render.render_special = true;
  for (const engine::TokenLogprobs& token : logprobs) {
    const std::string bytes = tokenizer_.TokenToBytes(token.chosen.token, render);
    object["tokens"].push_back(ToValidUtf8(bytes));
    object["token_logprobs"].push_back(FiniteLogprob(token.chosen.logprob));
    Json top = Json::object();
    for (const engine::TokenLogprob& alt : token.top) {
      const std::string text = ToValidUtf8(tokenizer_.TokenToBytes(alt.token, render));
      if (!top.contains(text)) top[text] = FiniteLogprob(alt.logprob);
    }
    object["top_logprobs"].push_back(std::move(top));
    object["text_offset"].push_back(text_offset);
    text_offset += bytes.size();
  }
}

std::span<const engine::TokenLogprobs> ReportedLogprobs(const engine::Event& event,
                                                        const tokenizer::Tokenizer& tokenizer,
                                                        std::span<const std::int32_t> stop_ids) {
  std::span<const engine::TokenLogprobs> all(event.logprobs);
  if (all.empty() || !event.finished || event.finish_reason != engine::FinishReason::kStop) {
    return all;
  }
  const std::int32_t last = all.back().chosen.token;
  const auto& eog = tokenizer.vocab().special.end_of_generation;
  const bool is_stop = std::find(eog.begin(), eog.end(), last) != eog.end() ||
                       std::find(stop_ids.begin(), stop_ids.end(), last) != stop_ids.end();
  return is_stop ? all.first(all.size() - 1) : all;
}

std::string_view FinishReasonText(engine::FinishReason reason) {
  switch (reason) {
    case engine::FinishReason::kStop:
      return "stop";
    case engine::FinishReason::kLength:
      return "length";
    case engine::FinishReason::kCancelled:
      return "cancelled";
    case engine::FinishReason::kError:
      return "error";
  }
  return "stop";
}

std::string Base64Floats(std::span<const float> values) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string bytes(values.size() * sizeof(float), '\0');
  // The x86-64 and AArch64 targets Kiln builds for are little-endian, as the format wants.
  if (!values.empty()) std::memcpy(bytes.data(), values.data(), bytes.size());
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const auto b0 = static_cast<unsigned char>(bytes[i]);
    const auto b1 = static_cast<unsigned char>(bytes[i + 1]);
    const auto b2 = static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[b0 >> 2];
    out += kAlphabet[((b0 & 3) << 4) | (b1 >> 4)];
    out += kAlphabet[((b1 & 15) << 2) | (b2 >> 6)];
    out += kAlphabet[b2 & 63];
  }
  if (const std::size_t rest = bytes.size() - i; rest > 0) {
    const auto b0 = static_cast<unsigned char>(bytes[i]);
    const auto b1 = rest == 2 ? static_cast<unsigned char>(bytes[i + 1]) : 0;
    out += kAlphabet[b0 >> 2];
    out += kAlphabet[((b0 & 3) << 4) | (b1 >> 4)];
    out += rest == 2 ? kAlphabet[(b1 & 15) << 2] : '=';
    out += '=';
  }
  return out;
}

Json EmbeddingResponse(std::string_view model, const std::vector<std::vector<float>>& embeddings,
                       bool base64, int prompt_tokens) {
  Json data = Json::array();
  for (std::size_t i = 0; i < embeddings.size(); ++i) {
    Json item = Json::object();
    item["object"] = "embedding";
    item["index"] = i;
    if (base64) {
      item["embedding"] = Base64Floats(embeddings[i]);
    } else {
      item["embedding"] = embeddings[i];
    }
    data.push_back(std::move(item));
  }
  Json response = Json::object();
  response["object"] = "list";
  response["data"] = std::move(data);
  response["model"] = model;
  response["usage"] = {{"prompt_tokens", prompt_tokens}, {"total_tokens", prompt_tokens}};
  return response;
}

Json ModelObject(std::string_view id, std::int64_t created) {
  Json model = Json::object();
  model["id"] = id;
  model["object"] = "model";
  model["created"] = created;
  model["owned_by"] = "kiln";
  return model;
}

Json ModelList(const std::vector<Json>& models) {
  Json list = Json::object();
  list["object"] = "list";
  list["data"] = models;
  return list;
}

}  // namespace kiln::server::openai
