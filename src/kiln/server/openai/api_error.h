// ApiError: a request failure as an OpenAI-compatible client expects it, an HTTP status plus the
// body {"error": {"message", "type", "param", "code"}}. Request parsing and preparation throw it;
// the HTTP routes catch it and send ToJson() with status().
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "kiln/base/error.h"

namespace kiln::server::openai {

class ApiError : public Error {
 public:
  // `param` names the offending request field ("messages[0].role"), empty when none does;
  // `code` is OpenAI's machine-readable code ("model_not_found"), empty for null; `type` defaults
  // from the status (invalid_request_error for 4xx, server_error for 5xx).
  ApiError(int status, std::string message, std::string param = {}, std::string code = {},
           std::string type = {});

  int status() const { return status_; }
  const std::string& param() const { return param_; }
  const std::string& code() const { return code_; }
  const std::string& type() const { return type_; }

  // {"error": {"message": ..., "type": ..., "param": ... | null, "code": ... | null}}
  nlohmann::ordered_json ToJson() const;

 private:
  int status_;
  std::string param_;
  std::string code_;
  std::string type_;
};

// 400 invalid_request_error.
ApiError InvalidRequest(std::string message, std::string param = {}, std::string code = {});
// 400 "Invalid type for 'param': expected X, but got Y instead." (code invalid_type).
ApiError InvalidType(std::string_view param, std::string_view expected, std::string_view got);
// 400 for a field Kiln understands but does not implement yet (code unsupported_parameter).
ApiError Unsupported(std::string_view param, std::string_view what);
// 404 "The model `x` does not exist" (param model, code model_not_found).
ApiError ModelNotFound(std::string_view model);

}  // namespace kiln::server::openai
