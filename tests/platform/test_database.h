// Databases for the platform tests: a fresh SQLite file in a temporary directory, or a fresh
// database on a private PostgreSQL server that this test binary starts on first use (initdb
// into a temporary directory, its own port and socket directory) and stops when it exits.
#pragma once

#include <gtest/gtest.h>

#include <string>

namespace kiln::testing {

enum class Backend { kSqlite, kPostgres };

std::string BackendName(const ::testing::TestParamInfo<Backend>& info);

// One empty database, removed (SQLite file) or left to the server's teardown (PostgreSQL).
class TestDatabase {
 public:
  explicit TestDatabase(Backend backend);
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;
  const std::string& url() const { return url_; }
  const std::string& directory() const { return directory_; }  // a scratch directory

 private:
  std::string directory_;
  std::string url_;
};

// A temporary directory removed on destruction.
class TempDirectory {
 public:
  TempDirectory();
  ~TempDirectory();
  TempDirectory(const TempDirectory&) = delete;
  TempDirectory& operator=(const TempDirectory&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace kiln::testing
