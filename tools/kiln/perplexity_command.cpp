// kiln perplexity MODEL --file TEXT [--ctx N]: tokenizes a text file and prints the model's
// perplexity on it (engine::ComputePerplexity, llama.cpp's chunked second-half convention).
#include <fmt/format.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>

#include "commands.h"
#include "kiln/base/error.h"
#include "kiln/engine/perplexity.h"
#include "kiln/model/model.h"
#include "kiln/tokenizer/tokenizer.h"
#include "model_path.h"

namespace kiln::cli {
namespace {

struct PerplexityOptions {
  std::string model = "kiln-demo";
  std::string file;
  int context = 512;
  int threads = 0;
};

void Perplexity(const PerplexityOptions& o) {
  std::ifstream in(o.file, std::ios::binary);
  if (!in) Fail("cannot read the text file '{}'", o.file);
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  const model::Model model = model::Model::Load(ResolveModelPath(o.model));
  const auto tok = tokenizer::Tokenizer::FromGguf(model.file());
  const std::vector<std::int32_t> tokens = tok->Encode(text, {.add_special = false});
  const auto& special = tok->vocab().special;
  const std::optional<std::int32_t> bos = special.add_bos ? special.bos : std::nullopt;
  const int threads = o.threads > 0
                          ? o.threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  kernels::ThreadPool pool(threads);
  const auto start = std::chrono::steady_clock::now();
  const engine::PerplexityResult r = engine::ComputePerplexity(model, tokens, o.context, bos, pool);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (std::size_t i = 0; i < r.chunk_perplexity.size(); ++i) {
    fmt::print(stderr, "[{}] {:.4f}\n", i + 1, r.chunk_perplexity[i]);
  }
  fmt::print("perplexity: {:.4f} (mean NLL {:.6f} over {} tokens, {} chunks of {})\n", r.perplexity,
             r.mean_nll, r.scored_tokens, r.chunks, o.context);
  fmt::print(stderr, "kiln: {} tokens in {:.2f} s ({:.1f} tok/s)\n",
             static_cast<long long>(r.chunks) * o.context, seconds,
             r.chunks * o.context / std::max(seconds, 1e-9));
}

}  // namespace

void RegisterPerplexityCommand(CLI::App& app) {
  auto options = std::make_shared<PerplexityOptions>();
  CLI::App* cmd = app.add_subcommand("perplexity", "Perplexity of a model on a text file");
  cmd->add_option("model", options->model, "GGUF model file, or kiln-demo");
  cmd->add_option("-f,--file", options->file, "Text file")->required();
  cmd->add_option("-c,--ctx", options->context, "Tokens per chunk (default 512)");
  cmd->add_option("-t,--threads", options->threads, "Threads (default: all cores)");
  cmd->callback([options] { Perplexity(*options); });
}

}  // namespace kiln::cli
