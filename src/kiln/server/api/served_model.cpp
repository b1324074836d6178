#include "kiln/server/api/served_model.h"

#include <fmt/format.h>

#include <chrono>
#include <filesystem>

#include "kiln/base/log.h"
#include "kiln/model/model_config.h"

namespace kiln::server::api {
namespace {

std::int64_t ModifiedSeconds(const std::string& path) {
  std::error_code error;
  const auto time = std::filesystem::last_write_time(path, error);
  if (error) return 0;
  const auto system = std::chrono::file_clock::to_sys(time);
  return std::chrono::duration_cast<std::chrono::seconds>(system.time_since_epoch()).count();
}

// FNV-1a: stable across runs and builds, unlike std::hash.
std::uint64_t Fnv1a(std::string_view text, std::uint64_t hash = 0xcbf29ce484222325ull) {
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 0x100000001b3ull;
  }
  return hash;
}

}  // namespace

std::string ModelIdForPath(const std::string& path) {
  std::string name = std::filesystem::path(path).filename().string();
  constexpr std::string_view kSuffix = ".gguf";
  if (name.size() > kSuffix.size() && name.ends_with(kSuffix)) {
    name.resize(name.size() - kSuffix.size());
  }
  return name;
}

ServedModel::ServedModel(const std::string& path, std::string id, engine::EngineOptions options)
    : id_(std::move(id)),
      created_(ModifiedSeconds(path)),
      model_(model::Model::Load(path)),
      tokenizer_(tokenizer::Tokenizer::FromGguf(model_.file())),
      chat_template_(openai::ChatTemplate::ForVocab(tokenizer_->vocab(), id_)) {
  std::error_code error;
  const auto size = std::filesystem::file_size(path, error);
  fingerprint_ = fmt::format(
      "fp_{:010x}",
      Fnv1a(fmt::format("kiln-0.1.0/{}/{}/{}", ModelIdForPath(path), error ? 0 : size, created_)) &
          0xffffffffffull);
  options.model_id = id_;
  engine_ = std::make_unique<engine::Engine>(model_, *tokenizer_, options);
  log::Info("model ready", {{"model", id_},
                            {"path", path},
                            {"context", engine_->options().context_size},
                            {"parallel", engine_->options().max_sequences},
                            {"threads", engine_->options().threads}});
}

ServedModel::~ServedModel() {
  engine_.reset();
}

openai::ModelContext ServedModel::context() const {
  return openai::ModelContext{*tokenizer_, chat_template_, engine_->options().context_size,
                              model_.config().vocab_size};
}

}  // namespace kiln::server::api
