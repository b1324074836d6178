// Parsing of the request bodies declared in requests.h.
#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "kiln/server/openai/api_error.h"
#include "kiln/server/openai/requests.h"

namespace kiln::server::openai {
namespace {

constexpr std::int64_t kInt32Max = std::numeric_limits<std::int32_t>::max();
constexpr std::size_t kMaxCompletionPrompts = 256;
constexpr std::size_t kMaxEmbeddingInputs = 2048;  // OpenAI's limit

ApiError Missing(std::string_view param) {
  return InvalidRequest(fmt::format("Missing required parameter: '{}'.", param), std::string(param),
                        "missing_required_parameter");
}

// A double as float without undefined behaviour: out-of-range values become +-infinity, which
// SamplingParams::Validate then refuses with the parameter's range in the message.
float ToFloat(double value) {
  if (std::isnan(value)) return std::numeric_limits<float>::quiet_NaN();
  if (value > std::numeric_limits<float>::max()) return std::numeric_limits<float>::infinity();
  if (value < -std::numeric_limits<float>::max()) return -std::numeric_limits<float>::infinity();
  return static_cast<float>(value);
}

std::string RequiredModel(const FieldReader& fields) {
  std::optional<std::string> model = fields.String("model");
  if (!model || model->empty()) throw Missing("model");
  return *model;
}

void ReadFloat(const FieldReader& fields, std::string_view key, float& out) {
  if (std::optional<double> v = fields.Number(key)) out = ToFloat(*v);
}

std::vector<std::string> ReadStop(const FieldReader& fields) {
  const Json* stop = fields.Get("stop");
  if (stop == nullptr) return {};
  if (stop->is_string()) return {stop->get<std::string>()};
  if (!stop->is_array()) {
    throw InvalidType("stop", "a string or an array of strings", JsonTypeName(*stop));
  }
  std::vector<std::string> out;
  for (std::size_t i = 0; i < stop->size(); ++i) {
    const Json& s = (*stop)[i];
    if (!s.is_string()) throw InvalidType(fmt::format("stop[{}]", i), "a string", JsonTypeName(s));
    out.push_back(s.get<std::string>());
  }
  return out;
}

std::vector<std::int32_t> ReadTokenIds(const Json& array, std::string_view field) {
  std::vector<std::int32_t> ids;
  ids.reserve(array.size());
  for (std::size_t i = 0; i < array.size(); ++i) {
    const std::optional<std::int64_t> id = AsInteger(array[i]);
    if (!id || *id < 0 || *id > kInt32Max) {
      throw InvalidRequest(
          fmt::format("Invalid '{}[{}]': token ids are non-negative integers, got {}.", field, i,
                      array[i].dump(-1, ' ', false, Json::error_handler_t::replace)),
          fmt::format("{}[{}]", field, i), "invalid_value");
    }
    ids.push_back(static_cast<std::int32_t>(*id));
  }
  return ids;
}

// string | [string, ...] | [int, ...] | [[int, ...], ...]
std::vector<PromptInput> ReadPrompts(const FieldReader& fields, std::string_view key,
                                     std::size_t max_count) {
  const Json* value = fields.Get(key);
  if (value == nullptr) throw Missing(key);
  if (value->is_string()) return {PromptInput{value->get<std::string>(), {}}};
  if (!value->is_array()) {
    throw InvalidType(key, "a string, an array of strings or an array of token ids",
                      JsonTypeName(*value));
  }
  if (value->empty()) {
    throw InvalidRequest(fmt::format("Invalid '{}': empty array. Expected an array with minimum "
                                     "length 1, but got an empty array instead.",
                                     key),
                         std::string(key), "empty_array");
  }
  if ((*value)[0].is_number()) return {PromptInput{std::nullopt, ReadTokenIds(*value, key)}};
  if (value->size() > max_count) {
    throw InvalidRequest(fmt::format("Invalid '{}': at most {} inputs per request, got {}.", key,
                                     max_count, value->size()),
                         std::string(key), "invalid_value");
  }
  std::vector<PromptInput> prompts;
  for (std::size_t i = 0; i < value->size(); ++i) {
    const Json& item = (*value)[i];
    const std::string name = fmt::format("{}[{}]", key, i);
    if (item.is_string()) {
      prompts.push_back({item.get<std::string>(), {}});
    } else if (item.is_array() && !item.empty()) {
      prompts.push_back({std::nullopt, ReadTokenIds(item, name)});
    } else {
      throw InvalidType(name, "a string or a non-empty array of token ids", JsonTypeName(item));
    }
  }
  return prompts;
}

// Fields both chat and text completions take. `max_tokens_keys` in order of precedence.
void ReadGeneration(const FieldReader& fields, GenerationOptions& options) {
  engine::SamplingParams& p = options.params;
  ReadFloat(fields, "temperature", p.temperature);
  ReadFloat(fields, "top_p", p.top_p);
  ReadFloat(fields, "min_p", p.min_p);
  ReadFloat(fields, "typical_p", p.typical_p);
  ReadFloat(fields, "presence_penalty", p.presence_penalty);
  ReadFloat(fields, "frequency_penalty", p.frequency_penalty);
  ReadFloat(fields, "repetition_penalty", p.repetition_penalty);
  if (auto v = fields.Integer("top_k", -1, kInt32Max)) p.top_k = static_cast<std::int32_t>(*v);
  if (auto v = fields.Integer("n", 1, engine::SamplingParams::kMaxN)) {
    p.n = static_cast<std::int32_t>(*v);
  }
  if (auto v = fields.Integer("seed", std::numeric_limits<std::int64_t>::min(),
                              std::numeric_limits<std::int64_t>::max())) {
    p.seed = static_cast<std::uint64_t>(*v);
  }
  for (const char* key : {"max_completion_tokens", "max_tokens"}) {
    if (auto v = fields.Integer(key, 1, kInt32Max)) {
      p.max_tokens = static_cast<std::int32_t>(*v);
      options.max_tokens_field = key;
      break;
    }
  }
  p.stop = ReadStop(fields);
  if (const Json* ids = fields.Array("stop_token_ids")) {
    p.stop_token_ids = ReadTokenIds(*ids, "stop_token_ids");
  }
  if (auto v = fields.Bool("ignore_eos")) p.ignore_eos = *v;
  if (const Json* bias = fields.Object("logit_bias")) {
    for (const auto& [key, value] : bias->items()) {
      std::int64_t id = -1;
      std::size_t used = 0;
      try {
        id = std::stoll(key, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (key.empty() || used != key.size() || id < 0 || id > kInt32Max) {
        throw InvalidRequest(
            fmt::format("Invalid 'logit_bias': keys must be token ids, got '{}'.", key),
            "logit_bias", "invalid_value");
      }
      if (!value.is_number()) {
        throw InvalidType(fmt::format("logit_bias.{}", key), "a number", JsonTypeName(value));
      }
      p.logit_bias[static_cast<std::int32_t>(id)] = ToFloat(value.get<double>());
    }
  }
  if (auto v = fields.Bool("stream")) options.stream = *v;
  if (const Json* stream_options = fields.Object("stream_options")) {
    if (!options.stream) {
      throw InvalidRequest(
          "The 'stream_options' parameter is only allowed when 'stream' is "
          "enabled.",
          "stream_options", "invalid_value");
    }
    FieldReader so(*stream_options, "stream_options.");
    if (auto v = so.Bool("include_usage")) options.include_usage = *v;
  }
  if (auto v = fields.String("user")) options.user = *v;
}

void RefuseIfPresent(const FieldReader& fields, std::string_view key, std::string_view why) {
  if (fields.Has(key)) throw Unsupported(key, why);
}

void RefuseChatFeatures(const FieldReader& fields) {
  if (const Json* tools = fields.Get("tools"); tools != nullptr) {
    if (!tools->is_array()) throw InvalidType("tools", "an array", JsonTypeName(*tools));
    if (!tools->empty()) {
      throw Unsupported("tools", "tool calling is not supported yet; leave out 'tools'.");
    }
  }
  if (const Json* choice = fields.Get("tool_choice");
      choice != nullptr && !(choice->is_string() && *choice == "none")) {
    throw Unsupported("tool_choice", "tool calling is not supported yet.");
  }
  RefuseIfPresent(fields, "functions", "function calling is not supported.");
  RefuseIfPresent(fields, "function_call", "function calling is not supported.");
  RefuseIfPresent(fields, "audio", "audio output is not supported.");
  RefuseIfPresent(fields, "prediction", "predicted outputs are not supported.");
  RefuseIfPresent(fields, "web_search_options", "web search is not supported.");
  RefuseIfPresent(fields, "reasoning_effort", "reasoning effort is not supported.");
  if (const Json* format = fields.Object("response_format")) {
    FieldReader rf(*format, "response_format.");
    const std::string type = rf.String("type").value_or("text");
    if (type != "text") {
      throw Unsupported("response_format",
                        fmt::format("response_format of type '{}' (structured output) is not "
                                    "supported yet; only 'text' is.",
                                    type));
    }
  }
  if (const Json* modalities = fields.Array("modalities")) {
    for (const Json& m : *modalities) {
      if (!(m.is_string() && m == "text")) {
        throw Unsupported("modalities", "only the 'text' modality is supported.");
      }
    }
  }
}

std::string ContentText(const Json* content, const std::string& name) {
  if (content->is_string()) return content->get<std::string>();
  if (!content->is_array()) {
    throw InvalidType(name, "a string or an array of content parts", JsonTypeName(*content));
  }
  std::string text;
  for (std::size_t j = 0; j < content->size(); ++j) {
    const Json& part = (*content)[j];
    const std::string part_name = fmt::format("{}[{}]", name, j);
    if (!part.is_object()) throw InvalidType(part_name, "an object", JsonTypeName(part));
    FieldReader pf(part, part_name + ".");
    const std::optional<std::string> type = pf.String("type");
    if (!type) throw Missing(pf.Name("type"));
    if (*type != "text") {
      throw Unsupported(
          pf.Name("type"),
          fmt::format("content parts of type '{}' are not supported; only 'text' is.", *type));
    }
    const std::optional<std::string> part_text = pf.String("text");
    if (!part_text) throw Missing(pf.Name("text"));
    if (!text.empty()) text += '\n';
    text += *part_text;
  }
  return text;
}

Json ChatTemplateKwargs(const FieldReader& fields) {
  const Json* kwargs = fields.Object("chat_template_kwargs");
  return kwargs != nullptr ? *kwargs : Json();
}

}  // namespace

Json NormalizeMessages(const Json* messages, std::string_view field) {
  if (messages == nullptr) throw Missing(field);
  if (!messages->is_array()) throw InvalidType(field, "an array", JsonTypeName(*messages));
  if (messages->empty()) {
    throw InvalidRequest(fmt::format("Invalid '{}': empty array. Expected an array with minimum "
                                     "length 1, but got an empty array instead.",
                                     field),
                         std::string(field), "empty_array");
  }
  Json out = Json::array();
  for (std::size_t i = 0; i < messages->size(); ++i) {
    const Json& message = (*messages)[i];
    const std::string name = fmt::format("{}[{}]", field, i);
    if (!message.is_object()) throw InvalidType(name, "an object", JsonTypeName(message));
    FieldReader fields(message, name + ".");
    std::optional<std::string> role = fields.String("role");
    if (!role) throw Missing(fields.Name("role"));
    if (*role == "developer") role = "system";
    if (*role == "function") {
      throw Unsupported(fields.Name("role"), "function messages are not supported.");
    }
    if (*role != "system" && *role != "user" && *role != "assistant" && *role != "tool") {
      throw InvalidRequest(
          fmt::format("Invalid value: '{}'. Supported values are: 'system', 'assistant', 'user', "
                      "'tool', and 'developer'.",
                      ToValidUtf8(*role)),
          fields.Name("role"), "invalid_value");
    }
    const Json* content = fields.Get("content");
    std::string text;
    if (content != nullptr) {
      text = ContentText(content, fields.Name("content"));
    } else if (*role != "assistant") {
      throw Missing(fields.Name("content"));
    }
    Json normalized = message;
    normalized["role"] = *role;
    normalized["content"] = std::move(text);
    out.push_back(std::move(normalized));
  }
  return out;
}

ChatCompletionRequest ParseChatCompletionRequest(std::string_view body) {
  const Json json = ParseRequestBody(body);
  const FieldReader fields(json);
  ChatCompletionRequest request;
  request.model = RequiredModel(fields);
  RefuseChatFeatures(fields);
  request.messages = NormalizeMessages(fields.Get("messages"));
  ReadGeneration(fields, request.options);
  engine::SamplingParams& p = request.options.params;
  if (auto v = fields.Bool("logprobs")) p.logprobs = *v;
  if (auto v = fields.Integer("top_logprobs", 0, engine::SamplingParams::kMaxTopLogprobs)) {
    p.top_logprobs = static_cast<std::int32_t>(*v);
  }
  if (auto v = fields.Bool("add_generation_prompt")) request.add_generation_prompt = *v;
  request.chat_template_kwargs = ChatTemplateKwargs(fields);
  return request;
}

CompletionRequest ParseCompletionRequest(std::string_view body) {
  const Json json = ParseRequestBody(body);
  const FieldReader fields(json);
  CompletionRequest request;
  request.model = RequiredModel(fields);
  request.prompts = ReadPrompts(fields, "prompt", kMaxCompletionPrompts);
  ReadGeneration(fields, request.options);
  engine::SamplingParams& p = request.options.params;
  if (auto v = fields.Integer("logprobs", 0, engine::SamplingParams::kMaxTopLogprobs)) {
    p.logprobs = true;
    p.top_logprobs = static_cast<std::int32_t>(*v);
  }
  if (auto echo = fields.Bool("echo"); echo && *echo) {
    throw Unsupported("echo", "echoing the prompt is not supported yet.");
  }
  if (auto suffix = fields.String("suffix"); suffix && !suffix->empty()) {
    throw Unsupported("suffix", "insertion with a suffix is not supported.");
  }
  if (auto best_of = fields.Integer("best_of", 1, engine::SamplingParams::kMaxN);
      best_of && *best_of != p.n) {
    throw Unsupported("best_of", "best_of must equal n (Kiln returns every completion).");
  }
  return request;
}

EmbeddingRequest ParseEmbeddingRequest(std::string_view body) {
  const Json json = ParseRequestBody(body);
  const FieldReader fields(json);
  EmbeddingRequest request;
  request.model = RequiredModel(fields);
  request.inputs = ReadPrompts(fields, "input", kMaxEmbeddingInputs);
  if (auto format = fields.String("encoding_format")) {
    if (*format == "base64") {
      request.base64 = true;
    } else if (*format != "float") {
      throw InvalidRequest(fmt::format("Invalid value: '{}'. Supported values are: 'float' and "
                                       "'base64'.",
                                       *format),
                           "encoding_format", "invalid_value");
    }
  }
  if (fields.Has("dimensions")) {
    throw Unsupported("dimensions",
                      "Kiln returns the model's full embedding size; leave out 'dimensions'.");
  }
  if (auto v = fields.String("user")) request.user = *v;
  return request;
}

TokenizeRequest ParseTokenizeRequest(std::string_view body) {
  const Json json = ParseRequestBody(body);
  const FieldReader fields(json);
  TokenizeRequest request;
  request.model = fields.String("model").value_or("");
  request.prompt = fields.String("prompt");
  if (!request.prompt) request.prompt = fields.String("content");  // llama.cpp's name
  if (fields.Has("messages")) {
    if (request.prompt) {
      throw InvalidRequest("Give either 'prompt' or 'messages', not both.", "messages");
    }
    request.messages = NormalizeMessages(fields.Get("messages"));
  } else if (!request.prompt) {
    throw Missing("prompt");
  }
  if (auto v = fields.Bool("add_special_tokens")) request.add_special = *v;
  if (auto v = fields.Bool("add_special")) request.add_special = *v;
  if (auto v = fields.Bool("add_generation_prompt")) request.add_generation_prompt = *v;
  return request;
}

DetokenizeRequest ParseDetokenizeRequest(std::string_view body) {
  const Json json = ParseRequestBody(body);
  const FieldReader fields(json);
  DetokenizeRequest request;
  request.model = fields.String("model").value_or("");
  const Json* tokens = fields.Array("tokens");
  if (tokens == nullptr) throw Missing("tokens");
  request.tokens = ReadTokenIds(*tokens, "tokens");
  return request;
}

ApplyTemplateRequest ParseApplyTemplateRequest(std::string_view body) {
  const Json json = ParseRequestBody(body);
  const FieldReader fields(json);
  ApplyTemplateRequest request;
  request.model = fields.String("model").value_or("");
  request.messages = NormalizeMessages(fields.Get("messages"));
  if (auto v = fields.Bool("add_generation_prompt")) request.add_generation_prompt = *v;
  if (const Json* tools = fields.Array("tools")) request.tools = *tools;
  request.chat_template_kwargs = ChatTemplateKwargs(fields);
  return request;
}

}  // namespace kiln::server::openai
