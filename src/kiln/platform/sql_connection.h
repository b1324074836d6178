// The narrow SQL interface the store is written against, so that one body of SQL serves both
// backends: SQLite (embedded, the default) and PostgreSQL (shared by several nodes). Statements
// use PostgreSQL's $1..$n placeholders; the SQLite backend maps them to ?1..?n.
// A connection is used by one thread at a time (the store pools them).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace kiln::platform {

enum class SqlDialect { kSqlite, kPostgres };

using SqlValue = std::variant<std::nullptr_t, std::int64_t, double, std::string>;

// One result row. PostgreSQL hands back text, SQLite typed values; the accessors read either.
struct SqlRow {
  std::vector<SqlValue> values;
  bool IsNull(std::size_t i) const;
  std::int64_t Int(std::size_t i) const;  // NULL reads as 0
  double Real(std::size_t i) const;
  std::string Text(std::size_t i) const;  // NULL reads as ""
};

struct SqlResult {
  std::vector<SqlRow> rows;
  std::int64_t affected_rows = 0;  // for INSERT / UPDATE / DELETE
};

class SqlConnection {
 public:
  virtual ~SqlConnection() = default;
  virtual SqlDialect dialect() const = 0;
  // One statement with $1..$n parameters.
  virtual SqlResult Execute(std::string_view sql, const std::vector<SqlValue>& params = {}) = 0;
  // Several statements without parameters (schema migrations).
  virtual void ExecuteScript(std::string_view sql) = 0;
  // A transaction that writes: it takes the write lock up front (SQLite BEGIN IMMEDIATE), so it
  // waits for other writers at the start instead of failing at its first write.
  virtual void BeginWrite() = 0;
  virtual void Commit() = 0;
  virtual void Rollback() noexcept = 0;
};

// Commits on Commit(); rolls back when left any other way (an exception).
class SqlTransaction {
 public:
  explicit SqlTransaction(SqlConnection& connection) : connection_(connection) {
    connection_.BeginWrite();
  }
  ~SqlTransaction() {
    if (!done_) connection_.Rollback();
  }
  SqlTransaction(const SqlTransaction&) = delete;
  SqlTransaction& operator=(const SqlTransaction&) = delete;
  void Commit() {
    connection_.Commit();
    done_ = true;
  }

 private:
  SqlConnection& connection_;
  bool done_ = false;
};

// Opens one connection. `url` is "postgresql://..." / "postgres://..." for PostgreSQL, else
// "sqlite:PATH" or a plain file path for SQLite (the parent directory is created if missing).
std::unique_ptr<SqlConnection> OpenSqlConnection(const std::string& url);

// The URL with any password masked, for messages and logs.
std::string RedactDatabaseUrl(const std::string& url);

}  // namespace kiln::platform
