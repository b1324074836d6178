#include "kiln/server/openai_error.h"

#include <nlohmann/json.hpp>

namespace kiln::server {

std::string_view ErrorTypeForStatus(int status) {
  switch (status) {
    case 401:
      return "authentication_error";
    case 403:
      return "permission_error";
    case 429:
      return "rate_limit_error";
    default:
      return status >= 500 ? "server_error" : "invalid_request_error";
  }
}

std::string OpenAiErrorBody(std::string_view message, std::string_view type,
                            std::optional<std::string_view> param,
                            std::optional<std::string_view> code) {
  nlohmann::ordered_json error;
  error["message"] = std::string(message);
  error["type"] = std::string(type);
  error["param"] = param ? nlohmann::ordered_json(std::string(*param)) : nullptr;
  error["code"] = code ? nlohmann::ordered_json(std::string(*code)) : nullptr;
  nlohmann::ordered_json body;
  body["error"] = std::move(error);
  // Replace invalid UTF-8 (e.g. echoed from a request) instead of throwing.
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace kiln::server
