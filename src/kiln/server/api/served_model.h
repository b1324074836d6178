// ServedModel: one model as `kiln serve` serves it: the loaded weights, its tokenizer and
// compiled chat template, and the engine that runs its requests, under the id clients name it by
// (the --alias, else the file's stem).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "kiln/engine/engine.h"
#include "kiln/model/model.h"
#include "kiln/server/openai/chat_template.h"
#include "kiln/server/openai/request_preparation.h"
#include "kiln/tokenizer/tokenizer.h"

namespace kiln::server::api {

class ServedModel {
 public:
  // Loads the GGUF file and starts its engine (options.model_id is set to `id`). kiln::Error
  // when the file cannot be loaded or the engine options cannot be honoured.
  ServedModel(const std::string& path, std::string id, engine::EngineOptions options);
  ~ServedModel();  // stops the engine first (cancelling what runs), then frees the model
  ServedModel(const ServedModel&) = delete;
  ServedModel& operator=(const ServedModel&) = delete;

  const std::string& id() const { return id_; }
  std::int64_t created() const { return created_; }  // the file's modification time, Unix s
  // Identifies this build of Kiln serving this model file ("fp_" + 10 hex digits).
  const std::string& system_fingerprint() const { return fingerprint_; }

  engine::Engine& engine() { return *engine_; }
  const tokenizer::Tokenizer& tokenizer() const { return *tokenizer_; }
  const openai::ChatTemplate& chat_template() const { return chat_template_; }
  // What request preparation needs: tokenizer, template, the engine's context size, vocabulary.
  openai::ModelContext context() const;

 private:
  std::string id_;
  std::int64_t created_ = 0;
  std::string fingerprint_;
  model::Model model_;
  std::unique_ptr<tokenizer::Tokenizer> tokenizer_;
  openai::ChatTemplate chat_template_;
  std::unique_ptr<engine::Engine> engine_;  // last: destroyed first
};

// The model id for a file path: its name without directories and without ".gguf".
std::string ModelIdForPath(const std::string& path);

}  // namespace kiln::server::api
