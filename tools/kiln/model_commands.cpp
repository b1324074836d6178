// kiln model info FILE [--json]: prints gguf::Summarize's view of a model, as aligned
// "key: value" lines and a quantization table, or as one JSON object.
#include <fmt/format.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "commands.h"
#include "kiln/gguf/gguf_file.h"
#include "kiln/gguf/model_summary.h"

namespace kiln::cli {
namespace {

struct InfoOptions {
  std::string path;
  bool json = false;
};

template <typename T>
nlohmann::json OrNull(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

nlohmann::json ToJson(const gguf::ModelSummary& s) {
  nlohmann::json special = nlohmann::json::object();
  for (const gguf::SpecialToken& t : s.special_tokens) {
    special[t.role] = {{"id", t.id}, {"text", OrNull(t.text)}};
  }
  nlohmann::json quantization = nlohmann::json::array();
  for (const gguf::TensorTypeUsage& u : s.quantization) {
    quantization.push_back({{"type", gguf::NameOf(u.type)},
                            {"tensors", u.tensor_count},
                            {"elements", u.elements},
                            {"bytes", u.bytes}});
  }
  return {
      {"path", s.path},
      {"gguf_version", s.gguf_version},
      {"file_size", s.file_size},
      {"alignment", s.alignment},
      {"metadata_count", s.metadata_count},
      {"tensor_count", s.tensor_count},
      {"architecture", s.architecture},
      {"name", OrNull(s.name)},
      {"parameter_count", s.parameter_count},
      {"tensor_bytes", s.tensor_bytes},
      {"bits_per_weight", s.bits_per_weight()},
      {"context_length", OrNull(s.context_length)},
      {"block_count", OrNull(s.block_count)},
      {"embedding_length", OrNull(s.embedding_length)},
      {"feed_forward_length", OrNull(s.feed_forward_length)},
      {"head_count", OrNull(s.head_count)},
      {"head_count_kv", OrNull(s.head_count_kv)},
      {"key_length", OrNull(s.key_length)},
      {"value_length", OrNull(s.value_length)},
      {"rope_freq_base", OrNull(s.rope_freq_base)},
      {"norm_eps", OrNull(s.norm_eps)},
      {"vocab_size", OrNull(s.vocab_size)},
      {"tokenizer_model", OrNull(s.tokenizer_model)},
      {"tokenizer_pre", OrNull(s.tokenizer_pre)},
      {"special_tokens", special},
      {"has_chat_template", s.has_chat_template},
      {"file_type", s.file_type},
      {"file_type_id", OrNull(s.file_type_id)},
      {"file_type_guessed", s.file_type_guessed},
      {"quantization", quantization},
  };
}

std::string Bytes(std::uint64_t n) {
  if (n < 1024) return fmt::format("{} B", n);
  double v = static_cast<double>(n);
  const char* unit = "KiB";
  for (const char* u : {"KiB", "MiB", "GiB", "TiB"}) {
    v /= 1024;
    unit = u;
    if (v < 1024) break;
  }
  return fmt::format("{:.2f} {}", v, unit);
}

std::string Count(std::uint64_t n) {
  if (n >= 1'000'000'000) return fmt::format("{:.2f} B", static_cast<double>(n) / 1e9);
  if (n >= 1'000'000) return fmt::format("{:.2f} M", static_cast<double>(n) / 1e6);
  if (n >= 1'000) return fmt::format("{:.2f} K", static_cast<double>(n) / 1e3);
  return fmt::format("{}", n);
}

template <typename T>
std::string Show(const std::optional<T>& v) {
  return v ? fmt::format("{}", *v) : "-";
}

void PrintLine(std::string_view key, std::string_view value) {
  fmt::print("{:<22}{}\n", fmt::format("{}:", key), value);
}

void PrintHuman(const gguf::ModelSummary& s) {
  PrintLine("file", s.path);
  PrintLine("file size", fmt::format("{} ({} bytes)", Bytes(s.file_size), s.file_size));
  PrintLine("gguf version", fmt::format("{}", s.gguf_version));
  PrintLine("metadata entries", fmt::format("{}", s.metadata_count));
  PrintLine("tensors", fmt::format("{}", s.tensor_count));
  PrintLine("architecture", s.architecture.empty() ? "-" : s.architecture);
  PrintLine("name", Show(s.name));
  PrintLine("parameters", fmt::format("{} ({})", Count(s.parameter_count), s.parameter_count));
  PrintLine("file type", s.file_type.empty()   ? "-"
                         : s.file_type_guessed ? s.file_type + " (guessed)"
                                               : s.file_type);
  PrintLine("bits per weight", fmt::format("{:.2f}", s.bits_per_weight()));
  PrintLine("context length", Show(s.context_length));
  PrintLine("layers", Show(s.block_count));
  PrintLine("embedding length", Show(s.embedding_length));
  PrintLine("feed-forward length", Show(s.feed_forward_length));
  PrintLine("heads", Show(s.head_count));
  PrintLine("kv heads", Show(s.head_count_kv));
  PrintLine("key length", Show(s.key_length));
  PrintLine("value length", Show(s.value_length));
  PrintLine("rope freq base", s.rope_freq_base ? fmt::format("{:g}", *s.rope_freq_base) : "-");
  PrintLine("norm epsilon", s.norm_eps ? fmt::format("{:g}", *s.norm_eps) : "-");
  PrintLine("vocabulary size", Show(s.vocab_size));
  PrintLine("tokenizer", Show(s.tokenizer_model));
  PrintLine("pre-tokenizer", Show(s.tokenizer_pre));
  for (const gguf::SpecialToken& t : s.special_tokens) {
    std::string text = t.text ? fmt::format("{:?}", *t.text) : "(not in the vocabulary)";
    PrintLine(fmt::format("{} token", t.role), fmt::format("{} {}", t.id, text));
  }
  PrintLine("chat template", s.has_chat_template ? "yes" : "no");
  if (s.quantization.empty()) return;

  fmt::print("\n{:<10}{:>9}{:>16}{:>14}{:>8}\n", "type", "tensors", "parameters", "bytes", "share");
  for (const gguf::TensorTypeUsage& u : s.quantization) {
    double share = s.tensor_bytes == 0
                       ? 0.0
                       : 100.0 * static_cast<double>(u.bytes) / static_cast<double>(s.tensor_bytes);
    fmt::print("{:<10}{:>9}{:>16}{:>14}{:>7.1f}%\n", gguf::NameOf(u.type), u.tensor_count,
               u.elements, Bytes(u.bytes), share);
  }
}

void RunInfo(const InfoOptions& options) {
  gguf::GgufFile file = gguf::GgufFile::Open(options.path);
  gguf::ModelSummary summary = gguf::Summarize(file);
  if (options.json) {
    // Metadata strings need not be valid UTF-8; replace bad bytes rather than fail.
    fmt::print("{}\n",
               ToJson(summary).dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
  } else {
    PrintHuman(summary);
  }
}

}  // namespace

void RegisterModelCommands(CLI::App& app) {
  CLI::App* model = app.add_subcommand("model", "Inspect model files");
  model->require_subcommand(1);
  CLI::App* info = model->add_subcommand(
      "info", "Show a GGUF model's architecture, size, tokenizer and quantization mix");
  auto options = std::make_shared<InfoOptions>();
  info->add_option("file", options->path, "GGUF model file")->required();
  info->add_flag("--json", options->json, "Print one JSON object instead of text");
  info->callback([options] { RunInfo(*options); });
}

}  // namespace kiln::cli
