#include "platform/test_database.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include "kiln/platform/sql_connection.h"

namespace kiln::testing {
namespace fs = std::filesystem;

namespace {

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string MakeTempDirectory(const char* prefix) {
  std::string pattern = (fs::path("/tmp") / (std::string(prefix) + "XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return pattern;
}

// The newest installed PostgreSQL's binaries (Debian: /usr/lib/postgresql/<major>/bin).
fs::path PostgresBinDirectory() {
  fs::path best;
  int best_major = -1;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    const int major = std::atoi(entry.path().filename().c_str());
    if (major > best_major && fs::exists(entry.path() / "bin" / "initdb")) {
      best_major = major;
      best = entry.path() / "bin";
    }
  }
  if (best.empty()) {
    throw std::runtime_error(
        "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): run "
        "scripts/install-deps.sh");
  }
  return best;
}

int FreeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("cannot find a free loopback port");
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

std::string ReadText(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The private server. PostgreSQL refuses to run as root, so as root its commands run as the
// `postgres` user (created by Debian's postgresql package), which owns the directory.
class PostgresServer {
 public:
  PostgresServer() {
    bin_ = PostgresBinDirectory();
    root_ = MakeTempDirectory("kiln-pg-");
    if (::geteuid() == 0) {
      const passwd* user = ::getpwnam("postgres");
      if (user == nullptr)
        throw std::runtime_error("running as root but there is no postgres user");
      if (::chown(root_.c_str(), user->pw_uid, user->pw_gid) != 0) {
        throw std::runtime_error("cannot hand the test directory to the postgres user");
      }
      as_user_ = "runuser -u postgres -- ";
    }
    port_ = FreeLoopbackPort();
    Run(ShellQuote((bin_ / "initdb").string()) + " -D " + ShellQuote(data()) +
        " -U postgres --auth=trust -E UTF8 --no-locale --no-sync");
    Run(ShellQuote((bin_ / "pg_ctl").string()) + " -D " + ShellQuote(data()) + " -l " +
        ShellQuote(root_ + "/server.log") + " -w -t 120 -o " +
        ShellQuote("-p " + std::to_string(port_) + " -k " + root_ +
                   " -c listen_addresses=127.0.0.1 -c max_connections=100") +
        " start");
    started_ = true;
  }

  ~PostgresServer() {
    if (started_) {
      try {
        Run(ShellQuote((bin_ / "pg_ctl").string()) + " -D " + ShellQuote(data()) +
            " -m immediate -w stop");
      } catch (const std::exception& e) {
        std::fprintf(stderr, "stopping the test PostgreSQL server: %s\n", e.what());
      }
    }
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  // A URL for `database` over the server's Unix socket.
  std::string Url(const std::string& database) const {
    return "postgresql:///" + database + "?host=" + root_ + "&port=" + std::to_string(port_) +
           "&user=postgres";
  }

  std::string CreateDatabase() {
    const std::string name = "kiln_test_" + std::to_string(++databases_);
    platform::OpenSqlConnection(Url("postgres"))->ExecuteScript("CREATE DATABASE " + name);
    return Url(name);
  }

 private:
  std::string data() const { return root_ + "/data"; }

  void Run(const std::string& command) {
    const std::string log = root_ + "/command.log";
    const std::string full = as_user_ + command + " > " + ShellQuote(log) + " 2>&1";
    if (std::system(full.c_str()) != 0) {
      throw std::runtime_error("`" + command + "` failed:\n" + ReadText(log) +
                               ReadText(root_ + "/server.log"));
    }
  }

  fs::path bin_;
  std::string root_;
  std::string as_user_;
  int port_ = 0;
  bool started_ = false;
  std::atomic<int> databases_{0};
};

// Owns the one server of this test binary: started by the first test that asks for it, stopped
// after the last test (GoogleTest tears environments down before the program exits).
class PostgresEnvironment : public ::testing::Environment {
 public:
  PostgresServer& Server() {
    std::lock_guard lock(mutex_);
    if (!server_) server_ = std::make_unique<PostgresServer>();
    return *server_;
  }
  void TearDown() override {
    std::lock_guard lock(mutex_);
    server_.reset();
  }

 private:
  std::mutex mutex_;
  std::unique_ptr<PostgresServer> server_;
};

PostgresEnvironment& Environment() {
  // GoogleTest owns registered environments and deletes them at exit.
  static PostgresEnvironment* const environment = [] {
    auto* e = new PostgresEnvironment;
    ::testing::AddGlobalTestEnvironment(e);
    return e;
  }();
  return *environment;
}

// Registers the environment before main() runs the tests, so that its TearDown runs.
[[maybe_unused]] const bool kRegistered = (Environment(), true);

}  // namespace

std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "Sqlite" : "Postgres";
}

TempDirectory::TempDirectory() : path_(MakeTempDirectory("kiln-test-")) {}

TempDirectory::~TempDirectory() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

TestDatabase::TestDatabase(Backend backend) : directory_(MakeTempDirectory("kiln-db-")) {
  if (backend == Backend::kSqlite) {
    url_ = "sqlite:" + directory_ + "/kiln.db";
  } else {
    url_ = Environment().Server().CreateDatabase();
  }
}

TestDatabase::~TestDatabase() {
  std::error_code ec;
  fs::remove_all(directory_, ec);
}

}  // namespace kiln::testing
