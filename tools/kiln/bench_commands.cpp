// kiln bench serve | model | --compare A.json B.json: flags in, library calls, tables out.
// The load generator lives in kiln/loadgen, the model benchmark in kiln/modelbench.
#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>

#include "commands.h"
#include "kiln/base/error.h"
#include "kiln/loadgen/html_report.h"
#include "kiln/loadgen/serve_benchmark.h"
#include "kiln/model/model.h"
#include "kiln/modelbench/model_benchmark.h"
#include "model_path.h"

namespace kiln::cli {
namespace {

struct ServeFlags {
  std::string url = "http://127.0.0.1:8080";
  std::string model;
  std::string api_key;
  std::string endpoint = "chat";
  std::vector<int> concurrency = {1};
  std::vector<double> request_rates;
  std::int64_t requests = 0;
  double duration = 0;
  std::string dataset = "synthetic";
  int input_len = 512, output_len = 128, shared_prefix_len = 0;
  double range_ratio = 0;
  std::uint64_t seed = 0;
  bool no_ignore_eos = false, no_server_tokenizer = false;
  double timeout_s = 600;
  std::optional<double> slo_ttft_ms, slo_tpot_ms;
  std::string out, html;
};

void RunServe(const ServeFlags& f) {
  loadgen::ServeBenchOptions o;
  o.run.url = loadgen::ParseServerUrl(f.url);
  o.run.model = f.model;
  o.run.api_key = f.api_key;
  if (f.endpoint != "chat" && f.endpoint != "completions") {
    Fail("--endpoint must be chat or completions, got '{}'", f.endpoint);
  }
  o.run.chat = f.endpoint == "chat";
  o.run.ignore_eos = !f.no_ignore_eos;
  o.run.max_requests = f.requests > 0 || f.duration > 0 ? f.requests : 100;
  o.run.duration_s = f.duration;
  o.run.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(f.timeout_s * 1000));
  o.run.seed = f.seed;
  o.concurrency = f.concurrency;
  o.request_rates = f.request_rates;
  o.dataset = f.dataset;
  o.synthetic = {.count = 0,
                 .input_len = f.input_len,
                 .output_len = f.output_len,
                 .range_ratio = f.range_ratio,
                 .shared_prefix_len = f.shared_prefix_len,
                 .seed = f.seed};
  o.use_server_tokenizer = !f.no_server_tokenizer;
  o.slo = {.ttft_ms = f.slo_ttft_ms, .tpot_ms = f.slo_tpot_ms};

  const bool tty = ::isatty(STDERR_FILENO) != 0;
  std::string label;
  loadgen::ServeBenchCallbacks cb;
  cb.on_message = [](const std::string& m) { fmt::print(stderr, "kiln bench: {}\n", m); };
  bool header_printed = false;
  cb.on_level_start = [&](const loadgen::LoadLevel& level) {
    label = level.open_loop ? fmt::format("r={:g}/s", level.request_rate)
                            : fmt::format("c={}", level.concurrency);
    if (!header_printed) {
      fmt::print("{}", loadgen::TableHeader());
      std::fflush(stdout);
      header_printed = true;
    }
  };
  if (tty) {
    cb.on_progress = [&](std::size_t done, std::size_t total) {
      fmt::print(stderr, "\r{:>9} {}", label, loadgen::ProgressBar(done, total));
      std::fflush(stderr);
    };
  }
  cb.on_level_done = [&](const loadgen::LevelResult& level) {
    if (tty) fmt::print(stderr, "\r\033[K");
    fmt::print("{}", loadgen::TableRow(level.summary));
    std::fflush(stdout);
  };
  const loadgen::BenchReport report = loadgen::RunServeBenchmark(o, cb);
  fmt::print("(latencies in ms; goodput = requests/s meeting the SLO)\n");
  for (const auto& level : report.levels) {
    for (const auto& r : level.records) {
      if (!r.ok) {
        fmt::print(stderr, "kiln bench: {} failed request(s) at {}; first: {}\n",
                   level.summary.failed, loadgen::LevelLabel(level.summary), r.error);
        break;
      }
    }
  }
  if (!f.out.empty()) loadgen::WriteReport(report, f.out);
  if (!f.html.empty()) loadgen::WriteHtmlReport(report, f.html);
}

struct ModelFlags {
  std::string model = "kiln-demo";
  modelbench::ModelBenchOptions options;
  int bandwidth_mib = 1024;
  std::string json;
};

void RunModel(ModelFlags f) {
  const std::string path = ResolveModelPath(f.model);
  const model::Model m = model::Model::Load(path);
  f.options.bandwidth_bytes = static_cast<std::size_t>(f.bandwidth_mib) << 20;
  const bool tty = ::isatty(STDERR_FILENO) != 0;
  const auto result = modelbench::RunModelBenchmark(m, path, f.options, [&](const std::string& w) {
    if (tty) {
      fmt::print(stderr, "\r\033[K{}", w);
      std::fflush(stderr);
    }
  });
  if (tty) fmt::print(stderr, "\r\033[K");
  fmt::print("{}", modelbench::FormatModelBench(result));
  if (!f.json.empty()) {
    std::ofstream out(f.json);
    out << modelbench::ToJson(result).dump(1) << '\n';
    if (!out) Fail("cannot write '{}'", f.json);
  }
}

}  // namespace

void RegisterBenchCommands(CLI::App& app) {
  CLI::App* bench = app.add_subcommand(
      "bench", "Benchmark a serving endpoint (serve), a model (model), or compare two reports");
  auto compare = std::make_shared<std::vector<std::string>>();
  bench->add_option("--compare", *compare, "Two `bench serve` JSON reports to show side by side")
      ->expected(2);
  bench->require_subcommand(0, 1);
  bench->callback([bench, compare] {
    if (!compare->empty()) {
      const auto a = loadgen::ReadReport((*compare)[0]);
      const auto b = loadgen::ReadReport((*compare)[1]);
      fmt::print("{}", loadgen::FormatComparison(a, (*compare)[0], b, (*compare)[1]));
    } else if (bench->get_subcommands().empty()) {
      throw CLI::CallForHelp();
    }
  });

  auto s = std::make_shared<ServeFlags>();
  CLI::App* serve = bench->add_subcommand(
      "serve", "Load-test any OpenAI-compatible server (streaming chat or completions)");
  serve->add_option("--url", s->url, "Server root, http://HOST:PORT[/prefix]")
      ->capture_default_str();
  serve->add_option("--model", s->model, "Model id to put in requests")->required();
  serve->add_option("--api-key", s->api_key, "Sent as Authorization: Bearer KEY");
  serve->add_option("--endpoint", s->endpoint, "chat or completions")->capture_default_str();
  serve->add_option("--concurrency", s->concurrency, "Closed-loop levels, e.g. 1,4,16,64")
      ->delimiter(',')
      ->capture_default_str();
  serve
      ->add_option("--request-rate", s->request_rates,
                   "Open-loop Poisson arrival rates in requests/s (instead of --concurrency)")
      ->delimiter(',');
  serve->add_option("--requests", s->requests,
                    "Requests per level (default 100 without --duration)");
  serve->add_option("--duration", s->duration, "Seconds per level; no request starts after it");
  serve->add_option("--dataset", s->dataset, "synthetic, or a JSONL file of prompts")
      ->capture_default_str();
  serve->add_option("--input-len", s->input_len, "Synthetic prompt tokens")->capture_default_str();
  serve->add_option("--output-len", s->output_len, "max_tokens per request")->capture_default_str();
  serve->add_option("--range-ratio", s->range_ratio, "Lengths uniform in len*(1-r)..len*(1+r)")
      ->capture_default_str();
  serve->add_option("--shared-prefix-len", s->shared_prefix_len,
                    "Tokens of a prefix shared by every synthetic prompt");
  serve->add_option("--seed", s->seed, "Seed for prompts and arrival times")->capture_default_str();
  serve->add_flag("--no-ignore-eos", s->no_ignore_eos, "Do not send ignore_eos");
  serve->add_flag("--no-server-tokenizer", s->no_server_tokenizer,
                  "Size prompts from words even when the server offers /tokenize");
  serve->add_option("--timeout", s->timeout_s, "Seconds per request")->capture_default_str();
  serve->add_option("--slo-ttft-ms", s->slo_ttft_ms, "Goodput: TTFT limit in ms");
  serve->add_option("--slo-tpot-ms", s->slo_tpot_ms, "Goodput: TPOT limit in ms");
  serve->add_option("--out", s->out, "Write the JSON report (every request's figures)");
  serve->add_option("--html", s->html, "Write a self-contained HTML report with charts");
  serve->callback([s] { RunServe(*s); });

  auto m = std::make_shared<ModelFlags>();
  CLI::App* model = bench->add_subcommand(
      "model", "Prompt-processing and generation speed of a model file (or kiln-demo)");
  model->add_option("model", m->model, "GGUF path or kiln-demo")->capture_default_str();
  model->add_option("-p,--prompt", m->options.prompt_tokens, "Prompt tokens")
      ->capture_default_str();
  model->add_option("-n,--gen", m->options.generated_tokens, "Generated tokens")
      ->capture_default_str();
  model->add_option("-b,--batch", m->options.batches, "Batch sizes, e.g. 1,8,32")
      ->delimiter(',')
      ->capture_default_str();
  model->add_option("-t,--threads", m->options.threads, "Thread counts, e.g. 1,2")
      ->delimiter(',')
      ->capture_default_str();
  model->add_option("-r,--repetitions", m->options.repetitions, "Runs of each test")
      ->capture_default_str();
  model->add_option("--bandwidth-mib", m->bandwidth_mib, "Buffer size for the bandwidth probe")
      ->capture_default_str();
  model->add_option("--json", m->json, "Write the results as JSON");
  model->callback([m] { RunModel(*m); });
}

}  // namespace kiln::cli
