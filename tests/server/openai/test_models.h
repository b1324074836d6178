// Tokenizers and chat templates of the shared fixture models, loaded once per test binary.
#pragma once

#include <ctime>
#include <memory>
#include <string>

#include "kiln/gguf/gguf_file.h"
#include "kiln/server/openai/chat_template.h"
#include "kiln/server/openai/request_preparation.h"
#include "kiln/tokenizer/tokenizer.h"

namespace kiln::server::openai::testing {

inline std::string FixturePath(const std::string& relative) {
  return std::string(KILN_FIXTURES_DIR) + "/" + relative;
}

// A fixture model's tokenizer and template, as a served model has them.
struct FixtureModel {
  explicit FixtureModel(const std::string& file, int context_size = 4096)
      : tokenizer(tokenizer::Tokenizer::FromGguf(gguf::GgufFile::Open(FixturePath(file)))),
        chat_template(ChatTemplate::ForVocab(tokenizer->vocab(), file)),
        context{*tokenizer, chat_template, context_size,
                static_cast<int>(tokenizer->vocab().size())} {}

  std::unique_ptr<tokenizer::Tokenizer> tokenizer;
  ChatTemplate chat_template;
  ModelContext context;
};

inline const FixtureModel& Qwen2() {
  static const FixtureModel model("models/tiny-qwen2-q8_0.gguf");
  return model;
}

inline const FixtureModel& Llama() {
  static const FixtureModel model("models/tiny-llama-q8_0.gguf");
  return model;
}

// Renders with strftime_now pinned to 2024-07-26, as the Python renders in the fixtures were.
inline jinja::RenderOptions FixedDate() {
  jinja::RenderOptions options;
  options.clock = [] {
    std::tm tm{};
    tm.tm_year = 2024 - 1900;
    tm.tm_mon = 6;
    tm.tm_mday = 26;
    tm.tm_hour = 12;
    tm.tm_wday = 5;
    tm.tm_yday = 207;
    return tm;
  };
  return options;
}

}  // namespace kiln::server::openai::testing
