// `kiln bench` as a user runs it: serve against the OpenAI-format test fixture, --compare of two
// reports, `bench model` on the demo model, and against a real `kiln serve`.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "kiln/loadgen/http_client.h"
#include "openai_test_server.h"
#include "tools/kiln_process.h"

extern char** environ;

namespace kiln::loadgen {
namespace {

using kiln::testing::RunKiln;
using testing::OpenAiTestServer;

nlohmann::json ReadJson(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

std::string Temp(const std::string& name) {
  return ::testing::TempDir() + "kiln_bench_" + name;
}

TEST(BenchServeCli, ClosedLoopLevelsReportAndHtml) {
  OpenAiTestServer server({.first_token_delay = std::chrono::milliseconds(5),
                           .token_delay = std::chrono::milliseconds(2)});
  const std::string out = Temp("serve.json"), html = Temp("serve.html");
  const auto r = RunKiln("bench serve --url " + server.url() +
                         " --model fixture --concurrency 1,3 --requests 6 --input-len 20"
                         " --output-len 5 --seed 4 --slo-ttft-ms 1000 --out " +
                         out + " --html " + html);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("c=1"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("c=3"), std::string::npos) << r.output;
  const auto j = ReadJson(out);
  ASSERT_EQ(j["levels"].size(), 2u);
  const auto stats = server.stats();
  EXPECT_EQ(stats.requests, 12);
  std::int64_t out_tokens = 0, in_tokens = 0;
  for (const auto& level : j["levels"]) {
    EXPECT_EQ(level["summary"]["completed"], 6);
    EXPECT_EQ(level["summary"]["output_tokens"], 30);
    EXPECT_EQ(level["summary"]["slo_met"], 6);
    EXPECT_EQ(level["requests"].size(), 6u);
    out_tokens += level["summary"]["output_tokens"].get<std::int64_t>();
    in_tokens += level["summary"]["input_tokens"].get<std::int64_t>();
  }
  EXPECT_EQ(out_tokens, stats.completion_tokens);
  EXPECT_EQ(in_tokens, stats.prompt_tokens);
  // Prompts were sized with the fixture's /tokenize (a word a token): 20 tokens each, and the
  // server's usage agrees.
  EXPECT_EQ(j["settings"]["prompt_lengths_from"], "server /tokenize");
  EXPECT_EQ(j["levels"][0]["requests"][0]["prompt_tokens"], 20);
  EXPECT_EQ(j["levels"][1]["summary"]["concurrency"], 3);
  EXPECT_GT(stats.tokenize_calls, 6);
  EXPECT_TRUE(std::filesystem::file_size(html) > 1000);
  std::filesystem::remove(out);
  std::filesystem::remove(html);
}

TEST(BenchServeCli, OpenLoopJsonlDatasetAndCompare) {
  const std::string data = Temp("data.jsonl");
  {
    std::ofstream d(data);
    d << R"({"prompt": "one two three", "output_len": 4})"
      << "\n"
      << R"({"messages": [{"role": "user", "content": "a b"}], "output_len": 2})"
      << "\n";
  }
  const std::string a = Temp("a.json"), b = Temp("b.json");
  {
    OpenAiTestServer fast({.first_token_delay = std::chrono::milliseconds(2),
                           .token_delay = std::chrono::milliseconds(1)});
    const auto r = RunKiln("bench serve --url " + fast.url() +
                           " --model m --request-rate 50 "
                           "--requests 10 --dataset " +
                           data + " --out " + a);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(fast.stats().completion_tokens, 5 * 4 + 5 * 2);
  }
  {
    OpenAiTestServer slow({.first_token_delay = std::chrono::milliseconds(40),
                           .token_delay = std::chrono::milliseconds(10)});
    const auto r = RunKiln("bench serve --url " + slow.url() +
                           " --model m --request-rate 50 "
                           "--requests 10 --dataset " +
                           data + " --out " + b);
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  const auto ja = ReadJson(a), jb = ReadJson(b);
  EXPECT_EQ(ja["levels"][0]["summary"]["mode"], "open");
  EXPECT_EQ(ja["levels"][0]["summary"]["output_tokens"], 30);
  const auto cmp = RunKiln("bench --compare " + a + " " + b);
  ASSERT_EQ(cmp.exit_code, 0) << cmp.output;
  EXPECT_NE(cmp.output.find("r=50/s"), std::string::npos) << cmp.output;
  // TTFT on the slow fixture is many times the fast one's.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(cmp.output, m,
                                std::regex("TTFT mean ms +([0-9.]+) +([0-9.]+) +([0-9.]+)x")))
      << cmp.output;
  EXPECT_GT(std::stod(m[3]), 3.0) << cmp.output;
  EXPECT_NE(RunKiln("bench --compare " + a + " " + data).exit_code, 0);
  std::filesystem::remove(a);
  std::filesystem::remove(b);
  std::filesystem::remove(data);
}

TEST(BenchServeCli, UnreachableServerIsAClearError) {
  const auto r = RunKiln("bench serve --url http://127.0.0.1:1 --model m --requests 1", true);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("connect"), std::string::npos) << r.output;
  EXPECT_NE(RunKiln("bench serve --url https://x --model m", true).output.find("http://"),
            std::string::npos);
}

TEST(BenchModelCli, DemoModelFiguresAndJson) {
  const std::string dir = Temp("data"), json = Temp("model.json");
  ::setenv("KILN_DATA_DIR", dir.c_str(), 1);  // the demo model is synthesized there
  const auto r = RunKiln(
      "bench model kiln-demo -p 16 -n 4 -b 1,3 -t 1,2 -r 2 --bandwidth-mib 32 "
      "--json " +
          json,
      false);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("pp16"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("tg4 b3"), std::string::npos) << r.output;
  const auto j = ReadJson(json);
  ASSERT_EQ(j["results"].size(), 2u);
  for (const auto& t : j["results"]) {
    EXPECT_EQ(t["prompt_tokens_per_s"]["samples"].size(), 2u);
    EXPECT_GT(t["prompt_tokens_per_s"]["mean"].get<double>(), 0);
    ASSERT_EQ(t["generation"].size(), 2u);
    EXPECT_EQ(t["generation"][1]["batch"], 3);
    EXPECT_GT(t["generation"][0]["tokens_per_s"]["mean"].get<double>(), 0);
    EXPECT_GT(t["read_bandwidth_bytes_per_s"].get<double>(), 1e8);
    // The share is weight bytes read per batch-1 token times its rate, over the bandwidth (it
    // can pass 100% for a model that fits in cache, like the demo model).
    const double share = t["batch1_bandwidth_share"].get<double>();
    const double expected = j["weight_bytes"].get<double>() *
                            t["generation"][0]["tokens_per_s"]["mean"].get<double>() /
                            t["read_bandwidth_bytes_per_s"].get<double>();
    EXPECT_GT(share, 0);
    EXPECT_NEAR(share, expected, 1e-9 * expected);
  }
  EXPECT_GT(j["weight_bytes"].get<std::int64_t>(), 0);
  EXPECT_NE(RunKiln("bench model kiln-demo -p 100000 -n 1 -t 1 -r 1", true).output.find("context"),
            std::string::npos);
  std::filesystem::remove(json);
  std::filesystem::remove_all(dir);
}

// ---- End to end against the real `kiln serve` (issue 5), once the binary has it. ----

int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// The sum of every sample of a Prometheus metric family whose name contains `part`.
// The sum of every series of the metric `name` (all label sets), as Prometheus text exposes it.
double MetricSum(const std::string& text, const std::string& name) {
  double sum = 0;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (line.substr(0, line.find_first_of("{ ")) != name) continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

// GET over a plain socket with HTTP/1.0 (the whole body, then close).
std::string HttpGet(int port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  std::string reply;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    const std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (::write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
      char buf[8192];
      ssize_t n;
      while ((n = ::read(fd, buf, sizeof buf)) > 0) reply.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  const std::size_t body = reply.find("\r\n\r\n");
  return body == std::string::npos ? "" : reply.substr(body + 4);
}

TEST(BenchServeEndToEnd, AgainstKilnServeOnTheDemoModel) {
  const int port = FreePort();
  const std::string data_dir = Temp("serve_data");
  const std::string port_arg = std::to_string(port);
  const std::string env_data = "KILN_DATA_DIR=" + data_dir;
  std::vector<char*> env;
  for (char** e = environ; *e != nullptr; ++e) env.push_back(*e);
  env.push_back(const_cast<char*>(env_data.c_str()));
  env.push_back(nullptr);
  const char* argv[] = {KILN_BINARY, "serve",          "--host", "127.0.0.1",
                        "--port",    port_arg.c_str(), nullptr};
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, KILN_BINARY, nullptr, nullptr, const_cast<char**>(argv), env.data()),
            0);
  const ServerUrl url = ParseServerUrl("http://127.0.0.1:" + port_arg);
  bool ready = false;
  int status = 0;
  bool exited = false;
  for (int i = 0; i < 600 && !ready && !exited; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    exited = ::waitpid(pid, &status, WNOHANG) == pid;
    try {
      ready = PostJson(url, "/tokenize", R"({"model":"kiln-demo","prompt":"hi"})", "",
                       std::chrono::milliseconds(1000))
                  .status == 200;
    } catch (const std::exception&) {
    }
  }
  if (!ready && !exited) {
    ::kill(pid, SIGTERM);
    ::waitpid(pid, &status, 0);
  }
  ASSERT_TRUE(ready) << "kiln serve did not answer /tokenize on port " << port
                     << (exited ? " (it exited)" : "");
  const std::string out = Temp("e2e.json");
  const auto r = RunKiln("bench serve --url http://127.0.0.1:" + port_arg +
                         " --model kiln-demo --concurrency 1,4 --requests 8 --input-len 32 "
                         "--output-len 8 --out " +
                         out);
  const std::string metrics = HttpGet(port, "/metrics");
  ::kill(pid, SIGTERM);
  ::waitpid(pid, &status, 0);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto j = ReadJson(out);
  std::int64_t completion = 0, prompt = 0;
  for (const auto& level : j["levels"]) {
    EXPECT_EQ(level["summary"]["completed"], 8) << level["summary"].dump();
    EXPECT_EQ(level["summary"]["failed"], 0);
    EXPECT_EQ(level["summary"]["output_tokens"], 8 * 8);  // ignore_eos fixes the length
    for (const auto& req : level["requests"]) {
      EXPECT_TRUE(req["usage_reported"].get<bool>());
      EXPECT_EQ(req["prompt_tokens"].get<std::int64_t>() >= 32, true);
    }
    completion += level["summary"]["output_tokens"].get<std::int64_t>();
    prompt += level["summary"]["input_tokens"].get<std::int64_t>();
  }
  EXPECT_EQ(j["settings"]["prompt_lengths_from"], "server /tokenize");
  // The server's own counters agree with what the benchmark measured (nothing else ran on it
  // but the /tokenize calls, which generate nothing).
  EXPECT_EQ(MetricSum(metrics, "kiln_generation_tokens_total"), static_cast<double>(completion))
      << metrics;
  EXPECT_EQ(MetricSum(metrics, "kiln_prompt_tokens_total"), static_cast<double>(prompt)) << metrics;
  EXPECT_EQ(MetricSum(metrics, "kiln_requests_total"), 16.0) << metrics;
  std::filesystem::remove_all(data_dir);
}

}  // namespace
}  // namespace kiln::loadgen
