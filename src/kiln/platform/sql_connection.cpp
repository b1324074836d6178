#include "kiln/platform/sql_connection.h"

#include <charconv>

#include "kiln/base/error.h"
#include "kiln/platform/postgres_connection.h"
#include "kiln/platform/sqlite_connection.h"

namespace kiln::platform {

bool SqlRow::IsNull(std::size_t i) const {
  return std::holds_alternative<std::nullptr_t>(values.at(i));
}

std::int64_t SqlRow::Int(std::size_t i) const {
  const SqlValue& v = values.at(i);
  if (const auto* n = std::get_if<std::int64_t>(&v)) return *n;
  if (const auto* d = std::get_if<double>(&v)) return static_cast<std::int64_t>(*d);
  if (const auto* s = std::get_if<std::string>(&v)) {
    std::int64_t out = 0;
    const auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), out);
    // PostgreSQL's SUM(bigint) is numeric and may print as "12.0000"-style text: take the
    // integer part.
    if (ec != std::errc{} || (end != s->data() + s->size() && *end != '.')) {
      Fail("database returned '{}' where a whole number was expected", *s);
    }
    return out;
  }
  return 0;
}

double SqlRow::Real(std::size_t i) const {
  const SqlValue& v = values.at(i);
  if (const auto* n = std::get_if<std::int64_t>(&v)) return static_cast<double>(*n);
  if (const auto* d = std::get_if<double>(&v)) return *d;
  if (const auto* s = std::get_if<std::string>(&v)) {
    try {
      return std::stod(*s);
    } catch (const std::exception&) {
      Fail("database returned '{}' where a number was expected", *s);
    }
  }
  return 0;
}

std::string SqlRow::Text(std::size_t i) const {
  const SqlValue& v = values.at(i);
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  if (const auto* n = std::get_if<std::int64_t>(&v)) return std::to_string(*n);
  if (const auto* d = std::get_if<double>(&v)) return fmt::format("{}", *d);
  return "";
}

namespace {
bool StartsWith(const std::string& s, std::string_view prefix) {
  return s.rfind(prefix, 0) == 0;
}
}  // namespace

std::unique_ptr<SqlConnection> OpenSqlConnection(const std::string& url) {
  if (StartsWith(url, "postgresql://") || StartsWith(url, "postgres://")) {
    return OpenPostgresConnection(url);
  }
  if (StartsWith(url, "sqlite://")) return OpenSqliteConnection(url.substr(9));
  if (StartsWith(url, "sqlite:")) return OpenSqliteConnection(url.substr(7));
  if (url.find("://") != std::string::npos) {
    Fail("unsupported database URL '{}': use postgresql://... or sqlite:PATH",
         RedactDatabaseUrl(url));
  }
  return OpenSqliteConnection(url);
}

std::string RedactDatabaseUrl(const std::string& url) {
  // postgresql://user:password@host/db -> postgresql://user:***@host/db
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const auto at = url.find('@', scheme + 3);
  if (at == std::string::npos) return url;
  const auto colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

}  // namespace kiln::platform
