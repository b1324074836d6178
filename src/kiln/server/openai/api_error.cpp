#include "kiln/server/openai/api_error.h"

#include <fmt/format.h>

namespace kiln::server::openai {
namespace {

std::string DefaultType(int status) {
  if (status >= 500) return "server_error";
  if (status == 401) return "authentication_error";
  if (status == 403) return "permission_error";
  if (status == 429) return "rate_limit_error";
  return "invalid_request_error";
}

}  // namespace

ApiError::ApiError(int status, std::string message, std::string param, std::string code,
                   std::string type)
    : Error(std::move(message)),
      status_(status),
      param_(std::move(param)),
      code_(std::move(code)),
      type_(type.empty() ? DefaultType(status) : std::move(type)) {}

nlohmann::ordered_json ApiError::ToJson() const {
  nlohmann::ordered_json error = nlohmann::ordered_json::object();
  error["message"] = what();
  error["type"] = type_;
  error["param"] = param_.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(param_);
  error["code"] = code_.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(code_);
  return {{"error", std::move(error)}};
}

ApiError InvalidRequest(std::string message, std::string param, std::string code) {
  return ApiError(400, std::move(message), std::move(param), std::move(code));
}

ApiError InvalidType(std::string_view param, std::string_view expected, std::string_view got) {
  return ApiError(
      400,
      fmt::format("Invalid type for '{}': expected {}, but got {} instead.", param, expected, got),
      std::string(param), "invalid_type");
}

ApiError Unsupported(std::string_view param, std::string_view what) {
  return ApiError(400, fmt::format("Unsupported parameter: '{}': {}", param, what),
                  std::string(param), "unsupported_parameter");
}

ApiError ModelNotFound(std::string_view model) {
  return ApiError(
      404, fmt::format("The model `{}` does not exist or you do not have access to it.", model),
      "model", "model_not_found");
}

}  // namespace kiln::server::openai
