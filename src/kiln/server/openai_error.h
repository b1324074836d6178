// Error bodies in OpenAI's schema: {"error": {"message", "type", "param", "code"}}. The HTTP
// server uses them for its own errors (404, 405, 413, ...) and the API layer for everything else,
// so every error a client sees has the same shape.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace kiln::server {

// The `type` OpenAI uses for a status: "invalid_request_error" for 4xx (with a few specific ones:
// 401 "authentication_error", 403 "permission_error", 429 "rate_limit_error"), "server_error"
// for 5xx.
std::string_view ErrorTypeForStatus(int status);

// The JSON text of an error body; `param` and `code` are null when absent.
std::string OpenAiErrorBody(std::string_view message, std::string_view type,
                            std::optional<std::string_view> param = std::nullopt,
                            std::optional<std::string_view> code = std::nullopt);

}  // namespace kiln::server
