#include "kiln/loadgen/runner.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <random>

#include "kiln/base/error.h"

namespace kiln::loadgen {
namespace {

namespace asio = boost::asio;

// State shared by the coroutines of one level; they all run on one thread, so no locks.
struct LevelState {
  const RunOptions& options;
  std::span<const BenchPrompt> prompts;
  asio::ip::tcp::resolver::results_type endpoints;
  Clock::time_point origin;
  std::size_t next = 0;
  std::size_t total = 0;  // 0 when bounded by duration only
  std::vector<RequestRecord> records;
  const ProgressCallback& progress;

  bool MayStart() const {
    if (options.max_requests > 0 && next >= static_cast<std::size_t>(options.max_requests)) {
      return false;
    }
    if (options.duration_s > 0 &&
        std::chrono::duration<double>(Clock::now() - origin).count() >= options.duration_s) {
      return false;
    }
    return true;
  }

  StreamRequest RequestFor(std::size_t i) const {
    const BenchPrompt& p = prompts[i % prompts.size()];
    StreamRequest r;
    r.path = options.chat ? "/v1/chat/completions" : "/v1/completions";
    r.body = BuildRequestBody(options, p);
    r.api_key = options.api_key;
    r.timeout = options.timeout;
    r.expected_output_tokens = p.output_len;
    return r;
  }

  asio::awaitable<void> SendOne(std::size_t i) {
    const StreamRequest request = RequestFor(i);
    records.push_back(co_await SendStreamingRequest(options.url, endpoints, request, origin));
    if (progress) progress(records.size(), total);
  }
};

asio::awaitable<void> ClosedLoopWorker(LevelState& state) {
  while (state.MayStart()) co_await state.SendOne(state.next++);
}

asio::awaitable<void> OpenLoopArrivals(LevelState& state, double rate, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::exponential_distribution<double> gap(rate);
  asio::steady_timer timer(co_await asio::this_coro::executor);
  Clock::time_point at = state.origin;
  while (true) {
    if (!state.MayStart()) break;
    const std::size_t i = state.next++;
    asio::co_spawn(co_await asio::this_coro::executor, state.SendOne(i), asio::detached);
    at += std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(gap(rng)));
    timer.expires_at(at);
    co_await timer.async_wait(asio::use_awaitable);
  }
}

}  // namespace

std::string BuildRequestBody(const RunOptions& options, const BenchPrompt& prompt) {
  nlohmann::json body = {{"model", options.model},
                         {"stream", true},
                         {"stream_options", {{"include_usage", true}}},
                         {"max_tokens", prompt.output_len},
                         {"temperature", 0}};
  if (options.ignore_eos) body["ignore_eos"] = true;
  if (options.chat) {
    body["messages"] = prompt.messages.is_null()
                           ? nlohmann::json::array({{{"role", "user"}, {"content", prompt.prompt}}})
                           : prompt.messages;
  } else {
    if (!prompt.messages.is_null()) {
      Fail("a dataset with \"messages\" needs the chat endpoint (drop --endpoint completions)");
    }
    body["prompt"] = prompt.prompt;
  }
  return body.dump();
}

LevelResult RunLevel(const RunOptions& options, const LoadLevel& level,
                     std::span<const BenchPrompt> prompts, const Slo& slo,
                     const ProgressCallback& progress) {
  if (prompts.empty()) Fail("the benchmark has no prompts to send");
  if (options.max_requests <= 0 && options.duration_s <= 0) {
    Fail("give --requests or --duration (or both) so that a level ends");
  }
  if (!level.open_loop && level.concurrency < 1) Fail("concurrency must be at least 1");
  if (level.open_loop && !(level.request_rate > 0)) Fail("--request-rate must be positive");

  asio::io_context io;
  LevelState state{options,
                   prompts,
                   ResolveServer(options.url),
                   Clock::now(),
                   0,
                   options.max_requests > 0 ? static_cast<std::size_t>(options.max_requests) : 0,
                   {},
                   progress};
  state.origin = Clock::now();
  if (level.open_loop) {
    asio::co_spawn(io, OpenLoopArrivals(state, level.request_rate, options.seed), asio::detached);
  } else {
    for (int w = 0; w < level.concurrency; ++w) {
      asio::co_spawn(io, ClosedLoopWorker(state), asio::detached);
    }
  }
  io.run();  // returns when every request has completed
  const double duration = std::chrono::duration<double>(Clock::now() - state.origin).count();

  LevelResult result;
  result.summary = Summarize(state.records, duration, slo);
  result.summary.mode = level.open_loop ? "open" : "closed";
  result.summary.concurrency = level.open_loop ? 0 : level.concurrency;
  result.summary.request_rate = level.open_loop ? level.request_rate : 0;
  result.records = std::move(state.records);
  return result;
}

TokenCounter ServerTokenCounter(const RunOptions& options) {
  auto count = [options](const std::string& text) -> std::int64_t {
    const nlohmann::json body = {{"model", options.model}, {"prompt", text}, {"content", text}};
    const HttpReply reply = PostJson(options.url, "/tokenize", body.dump(), options.api_key,
                                     std::chrono::milliseconds(30'000));
    if (reply.status != 200) return -1;
    const auto j = nlohmann::json::parse(reply.body, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) return -1;
    if (auto it = j.find("tokens"); it != j.end() && it->is_array()) {
      return static_cast<std::int64_t>(it->size());
    }
    if (auto it = j.find("count"); it != j.end() && it->is_number_integer()) {
      return it->get<std::int64_t>();
    }
    return -1;
  };
  if (count("hello world") <= 0) return {};
  return [count](const std::string& text) {
    const std::int64_t n = count(text);
    if (n < 0) Fail("the server's /tokenize stopped answering while building prompts");
    return n;
  };
}

}  // namespace kiln::loadgen
