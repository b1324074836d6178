#include "kiln/platform/postgres_connection.h"

#include <fmt/format.h>

#include <memory>
#include <pqxx/pqxx>

#include "kiln/base/error.h"

namespace kiln::platform {
namespace {

class PostgresConnection final : public SqlConnection {
 public:
  explicit PostgresConnection(const std::string& url) : url_(RedactDatabaseUrl(url)) {
    try {
      connection_ = std::make_unique<pqxx::connection>(url);
    } catch (const std::exception& e) {
      Fail("cannot connect to PostgreSQL at '{}': {}", url_, e.what());
    }
  }

  ~PostgresConnection() override { Rollback(); }

  SqlDialect dialect() const override { return SqlDialect::kPostgres; }

  SqlResult Execute(std::string_view sql, const std::vector<SqlValue>& params) override {
    // libpqxx takes parameters as C strings (nullptr for NULL); the server infers their types
    // from the statement.
    std::vector<std::string> text(params.size());
    std::vector<const char*> args(params.size(), nullptr);
    for (std::size_t i = 0; i < params.size(); ++i) {
      const SqlValue& v = params[i];
      if (std::holds_alternative<std::nullptr_t>(v)) continue;
      if (const auto* s = std::get_if<std::string>(&v)) {
        text[i] = *s;
      } else if (const auto* n = std::get_if<std::int64_t>(&v)) {
        text[i] = std::to_string(*n);
      } else {
        text[i] = fmt::format("{}", std::get<double>(v));
      }
      args[i] = text[i].c_str();
    }
    try {
      pqxx::result r;
      const std::string query(sql);
      if (transaction_) {
        r = transaction_->exec_params(query, pqxx::prepare::make_dynamic_params(args));
      } else {
        pqxx::nontransaction autocommit(*connection_);
        r = autocommit.exec_params(query, pqxx::prepare::make_dynamic_params(args));
      }
      return Convert(r);
    } catch (const pqxx::sql_error& e) {
      Fail("PostgreSQL statement failed ({}): {}", url_, e.what());
    } catch (const pqxx::broken_connection& e) {
      Fail("lost the connection to PostgreSQL at '{}': {}", url_, e.what());
    }
  }

  void ExecuteScript(std::string_view sql) override {
    try {
      if (transaction_) {
        transaction_->exec(std::string(sql));
      } else {
        pqxx::nontransaction autocommit(*connection_);
        autocommit.exec(std::string(sql));
      }
    } catch (const std::exception& e) {
      Fail("PostgreSQL script failed ({}): {}", url_, e.what());
    }
  }

  void BeginWrite() override {
    if (transaction_) Fail("internal error: nested PostgreSQL transaction");
    transaction_ = std::make_unique<pqxx::work>(*connection_);
  }

  void Commit() override {
    try {
      transaction_->commit();
      transaction_.reset();
    } catch (const std::exception& e) {
      transaction_.reset();
      Fail("PostgreSQL commit failed ({}): {}", url_, e.what());
    }
  }

  void Rollback() noexcept override {
    if (!transaction_) return;
    try {
      transaction_->abort();
    } catch (...) {
      // The connection may be gone; dropping the transaction object is all that is left to do.
    }
    transaction_.reset();
  }

 private:
  static SqlResult Convert(const pqxx::result& r) {
    SqlResult out;
    out.affected_rows = r.affected_rows();
    out.rows.reserve(r.size());
    for (const auto& row : r) {
      SqlRow converted;
      converted.values.reserve(row.size());
      for (const auto& field : row) {
        if (field.is_null()) {
          converted.values.emplace_back(nullptr);
        } else {
          converted.values.emplace_back(std::string(field.c_str(), field.size()));
        }
      }
      out.rows.push_back(std::move(converted));
    }
    return out;
  }

  std::string url_;  // redacted, for messages
  std::unique_ptr<pqxx::connection> connection_;
  std::unique_ptr<pqxx::work> transaction_;
};

}  // namespace

std::unique_ptr<SqlConnection> OpenPostgresConnection(const std::string& url) {
  return std::make_unique<PostgresConnection>(url);
}

}  // namespace kiln::platform
