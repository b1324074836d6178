// kiln quantize IN OUT TYPE: rewrites a model with its weights in another encoding
// (model::QuantizeModel) and prints the resulting type mix and sizes.
#include <fmt/format.h>

#include <map>
#include <memory>
#include <string>
#include <thread>

#include "commands.h"
#include "kiln/gguf/file_type.h"
#include "kiln/model/quantize_model.h"

namespace kiln::cli {
namespace {

struct QuantizeOptions {
  std::string input, output, type;
  int threads = 0;
};

void Quantize(const QuantizeOptions& o) {
  const int threads = o.threads > 0
                          ? o.threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  kernels::ThreadPool pool(threads);
  const model::QuantizeReport report = model::QuantizeModel(o.input, o.output, o.type, pool);
  std::map<std::string_view, int> counts;
  for (const auto& [name, type] : report.tensor_types) ++counts[gguf::NameOf(type)];
  fmt::print("{} -> {} ({}): {:.1f} MiB -> {:.1f} MiB\n", o.input, o.output,
             gguf::FileTypeName(report.file_type).value_or("?"), report.input_bytes / 1048576.0,
             report.output_bytes / 1048576.0);
  for (const auto& [type, count] : counts) fmt::print("  {:>5} tensors {}\n", count, type);
}

}  // namespace

void RegisterQuantizeCommand(CLI::App& app) {
  auto options = std::make_shared<QuantizeOptions>();
  CLI::App* cmd = app.add_subcommand("quantize", "Re-encode a model's weights (q4_k_m, q8_0, ...)");
  cmd->add_option("input", options->input, "Input GGUF model")->required();
  cmd->add_option("output", options->output, "Output GGUF file")->required();
  cmd->add_option("type", options->type,
                  "q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k, q6_k, q4_k_m, q5_k_m, f16, bf16, f32")
      ->required();
  cmd->add_option("-t,--threads", options->threads, "Threads (default: all cores)");
  cmd->callback([options] { Quantize(*options); });
}

}  // namespace kiln::cli
