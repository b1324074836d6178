// End-to-end: starts the real `kiln serve` on a free loopback port and drives it with the
// official openai npm package (the node:test scripts beside this file), then stops it with
// SIGTERM and checks that it exits 0. `make test` installs the npm package first (npm ci).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "tools/kiln_process.h"

namespace {

using kiln::testing::RunKiln;
using kiln::testing::RunResult;

const std::string kE2eDir = KILN_E2E_DIR;

// A `kiln serve` child process; its stdout line "kiln: serving ... on http://host:port" gives
// the port it bound (it is started with --port 0).
class ServeProcess {
 public:
  explicit ServeProcess(std::vector<std::string> args) {
    int out[2];
    if (pipe(out) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      // The server's log (one line per request) goes to a file, not the test output.
      const int log = open(LogPath().c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (log >= 0) dup2(log, STDERR_FILENO);
      dup2(out[1], STDOUT_FILENO);
      close(out[0]);
      close(out[1]);
      std::vector<char*> argv;
      std::string binary = KILN_BINARY;
      argv.push_back(binary.data());
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(binary.c_str(), argv.data());
      _exit(127);
    }
    close(out[1]);
    stdout_ = out[0];
    port_ = ReadPort(std::chrono::seconds(120));
  }
  ~ServeProcess() {
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (stdout_ >= 0) close(stdout_);
  }

  int port() const { return port_; }
  static std::string LogPath() { return ::testing::TempDir() + "/kiln-e2e-serve.log"; }

  // SIGTERM, then the exit status (-1 when it had to be killed after `timeout`).
  int Terminate(std::chrono::seconds timeout) {
    kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        reaped_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return -1;
  }

 private:
  int ReadPort(std::chrono::seconds timeout) {
    std::string seen;
    const std::regex line(R"(kiln: serving .* on http://[^:]+:(\d+))");
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{stdout_, POLLIN, 0};
      if (poll(&p, 1, 200) <= 0) continue;
      std::array<char, 512> buffer;
      const ssize_t n = read(stdout_, buffer.data(), buffer.size());
      if (n <= 0) break;
      seen.append(buffer.data(), static_cast<std::size_t>(n));
      std::smatch match;
      if (std::regex_search(seen, match, line)) return std::stoi(match[1]);
    }
    ADD_FAILURE() << "kiln serve did not report its port; stdout: " << seen << "; its log is "
                  << LogPath();
    return 0;
  }

  pid_t pid_ = -1;
  int stdout_ = -1;
  int port_ = 0;
  bool reaped_ = false;
};

struct NodeResult {
  int status = -1;
  std::string output;
};

NodeResult RunNodeTests(const std::string& script, int port, const std::string& model) {
  const std::string command =
      "cd '" + kE2eDir + "' && KILN_BASE_URL=http://127.0.0.1:" + std::to_string(port) +
      " KILN_MODEL='" + model + "' node --test --test-reporter=spec '" + script + "' 2>&1";
  NodeResult result;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer;
  std::size_t n = 0;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
    result.output.append(buffer.data(), n);
  const int status = pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

void RequireOpenAiPackage() {
  ASSERT_TRUE(std::filesystem::exists(kE2eDir + "/node_modules/openai/package.json"))
      << "the openai npm package is not installed: run `make e2e-deps` (npm ci in " << kE2eDir
      << ")";
}

std::string DataDir() {
  const std::string dir = ::testing::TempDir() + "/kiln-e2e-data";
  std::filesystem::create_directories(dir);
  return dir;
}

TEST(ServeE2e, OpenAiClientAgainstTheDemoModel) {
  RequireOpenAiPackage();
  ServeProcess serve({"serve", "--host", "127.0.0.1", "--port", "0", "--data-dir", DataDir(),
                      "--parallel", "16", "--ctx-size", "1024", "--threads", "2"});
  ASSERT_GT(serve.port(), 0);
  const NodeResult result = RunNodeTests("api.test.mjs", serve.port(), "kiln-demo");
  EXPECT_EQ(result.status, 0) << result.output;
  EXPECT_EQ(serve.Terminate(std::chrono::seconds(30)), 0);
}

TEST(ServeE2e, OpenAiClientAgainstAFixtureModelWithItsOwnTemplate) {
  RequireOpenAiPackage();
  ServeProcess serve({"serve", std::string(KILN_FIXTURES_DIR) + "/models/tiny-qwen2-q8_0.gguf",
                      "--alias", "qwen-tiny", "--port", "0", "--parallel", "8", "--ctx-size",
                      "1024", "--threads", "2"});
  ASSERT_GT(serve.port(), 0);
  const NodeResult result = RunNodeTests("api.test.mjs", serve.port(), "qwen-tiny");
  EXPECT_EQ(result.status, 0) << result.output;
  EXPECT_EQ(serve.Terminate(std::chrono::seconds(30)), 0);
}

TEST(ServeE2e, ConcurrentStreamsAndCancellation) {
  RequireOpenAiPackage();
  ServeProcess serve({"serve", "--port", "0", "--data-dir", DataDir(), "--parallel", "32",
                      "--ctx-size", "512", "--threads", "2"});
  ASSERT_GT(serve.port(), 0);
  const NodeResult result = RunNodeTests("concurrency.test.mjs", serve.port(), "kiln-demo");
  EXPECT_EQ(result.status, 0) << result.output;
  std::cout << result.output;
  EXPECT_EQ(serve.Terminate(std::chrono::seconds(30)), 0);
}

// With an API key in the database: the client sees 401 and 429 as its own error types, and the
// ledger holds exactly the requests that were answered.
TEST(ServeE2e, OpenAiClientWithApiKeysAndARateLimit) {
  RequireOpenAiPackage();
  const std::string dir = ::testing::TempDir() + "/kiln-e2e-keys";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string db = "sqlite:" + dir + "/kiln.db";
  ASSERT_EQ(RunKiln("tenants create acme --rpm 4 --db '" + db + "'").exit_code, 0);
  const RunResult created = RunKiln("keys create --tenant acme --db '" + db + "'");
  ASSERT_EQ(created.exit_code, 0);
  std::smatch match;
  const std::regex secret_pattern("(kiln-[A-Za-z0-9_-]+)");  // base64url
  ASSERT_TRUE(std::regex_search(created.output, match, secret_pattern)) << "no secret printed";
  const std::string secret = match[1];

  ServeProcess serve({"serve", "--port", "0", "--data-dir", DataDir(), "--db", db, "--ctx-size",
                      "512", "--threads", "2"});
  ASSERT_GT(serve.port(), 0);
  ::setenv("KILN_API_KEY", secret.c_str(), 1);
  const NodeResult result = RunNodeTests("auth.test.mjs", serve.port(), "kiln-demo");
  ::unsetenv("KILN_API_KEY");
  EXPECT_EQ(result.status, 0) << result.output;
  EXPECT_EQ(serve.Terminate(std::chrono::seconds(30)), 0);

  const RunResult usage = RunKiln("usage --format json --db '" + db + "'");
  ASSERT_EQ(usage.exit_code, 0);
  EXPECT_NE(usage.output.find("\"requests\": 4,"), std::string::npos) << usage.output;
  // The server's log never carries the secret.
  std::ifstream log(ServeProcess::LogPath());
  const std::string logged((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_EQ(logged.find(secret), std::string::npos);
  EXPECT_NE(logged.find("API keys required"), std::string::npos) << logged;
}

}  // namespace
