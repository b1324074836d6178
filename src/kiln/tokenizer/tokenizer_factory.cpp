#include "kiln/base/error.h"
#include "kiln/gguf/gguf_file.h"
#include "kiln/tokenizer/tokenizer.h"
#include "kiln/tokenizer/tokenizer_kinds.h"

namespace kiln::tokenizer {

std::unique_ptr<Tokenizer> Tokenizer::Create(Vocab vocab) {
  switch (vocab.kind) {
    case TokenizerKind::kSentencePiece: return detail::CreateSentencePieceTokenizer(std::move(vocab));
    case TokenizerKind::kBytePairBpe: return detail::CreateBytePairTokenizer(std::move(vocab));
  }
  Fail("unsupported tokenizer kind");
}

std::unique_ptr<Tokenizer> Tokenizer::FromGguf(const gguf::GgufFile& file) {
  return Create(Vocab::FromGguf(file));
}

}  // namespace kiln::tokenizer
