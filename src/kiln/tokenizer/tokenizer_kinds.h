// Constructors of the concrete tokenizers, used by Tokenizer::Create. Internal to the layer.
#pragma once

#include <memory>

#include "kiln/tokenizer/tokenizer.h"

namespace kiln::tokenizer::detail {

std::unique_ptr<Tokenizer> CreateSentencePieceTokenizer(Vocab vocab);
std::unique_ptr<Tokenizer> CreateBytePairTokenizer(Vocab vocab);

}  // namespace kiln::tokenizer::detail
