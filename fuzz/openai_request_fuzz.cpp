// libFuzzer target `fuzz_openai_request`: arbitrary bytes as the body of an OpenAI API request.
// The first byte picks the endpoint; the body is parsed and prepared for a real model (the
// tiny-qwen2 fixture's tokenizer and Qwen2.5 chat template). ApiError is the expected outcome
// for most inputs; any other exception, crash, hang, leak or sanitizer report is a bug.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "kiln/gguf/gguf_file.h"
#include "kiln/server/openai/api_error.h"
#include "kiln/server/openai/request_preparation.h"
#include "kiln/server/openai/requests.h"
#include "kiln/tokenizer/tokenizer.h"

namespace {

using namespace kiln::server::openai;

struct Model {
  Model()
      : tokenizer(kiln::tokenizer::Tokenizer::FromGguf(kiln::gguf::GgufFile::Open(
            std::string(KILN_FIXTURES_DIR) + "/models/tiny-qwen2-q8_0.gguf"))),
        chat_template(ChatTemplate::ForVocab(tokenizer->vocab(), "tiny-qwen2")),
        context{*tokenizer, chat_template, 256, static_cast<int>(tokenizer->vocab().size())} {}
  std::unique_ptr<kiln::tokenizer::Tokenizer> tokenizer;
  ChatTemplate chat_template;
  ModelContext context;
};

void Handle(std::uint8_t endpoint, std::string_view body, const ModelContext& model) {
  switch (endpoint % 6) {
    case 0:
      PrepareChatCompletion(ParseChatCompletionRequest(body), model);
      break;
    case 1:
      PrepareCompletion(ParseCompletionRequest(body), model);
      break;
    case 2:
      PrepareEmbedding(ParseEmbeddingRequest(body), model);
      break;
    case 3:
      Tokenize(ParseTokenizeRequest(body), model);
      break;
    case 4:
      Detokenize(ParseDetokenizeRequest(body), model);
      break;
    default:
      ApplyTemplate(ParseApplyTemplateRequest(body), model);
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Model* model = new Model();  // loaded once, kept for the process
  if (size == 0) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    Handle(data[0], body, model->context);
  } catch (const ApiError&) {
    // The request was refused with a client error: the expected outcome.
  }
  return 0;
}
