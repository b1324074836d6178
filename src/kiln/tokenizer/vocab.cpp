#include "kiln/tokenizer/vocab.h"

#include <algorithm>
#include <array>
#include <limits>

#include "kiln/base/error.h"
#include "kiln/gguf/gguf_file.h"

namespace kiln::tokenizer {
namespace {

// Texts of tokens that end generation in common chat formats (llama.cpp's list, plus DeepSeek's
// end of sentence). Generation stops on them even when the file's eos id names another token.
constexpr std::array<std::string_view, 21> kEndOfGenerationTexts = {
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<|return|>",
    "<|call|>",
    "<|flush|>",
    "<|calls|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "</s>",
    "<|eom_id|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "[EOS]",
    "<|end_of_text|>",
    "<end_of_utterance>",
    "<eos>",
    "<turn|>",
    "<|tool_response>",
    "<｜end▁of▁sentence｜>",
};

// Fill-in-the-middle markers. Those that pad or separate files also end generation.
constexpr std::array<std::string_view, 23> kFillInMiddleTexts = {
    "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<PRE>", "<|code_prefix|>", "<|prefix|>",
    "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<SUF>", "<|code_suffix|>", "<|suffix|>",
    "<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<MID>", "<|code_middle|>", "<|middle|>",
    "<|fim_pad|>",    "<fim-pad>",    "<fim_pad>",    "<PAD>", "[PAD]",
};
constexpr std::array<std::string_view, 11> kFillInMiddleEndTexts = {
    "<|fim_pad|>",   "<fim-pad>",  "<fim_pad>", "<PAD>",      "[PAD]",        "<|fim_repo|>",
    "<|repo_name|>", "<fim-repo>", "<REPO>",    "<reponame>", "<|file_sep|>",
};

// gpt-oss (harmony) structure tokens: always rendered, so the response parser can see them.
constexpr std::array<std::string_view, 4> kAlwaysRenderedTexts = {"<|channel|>", "<|message|>",
                                                                  "<|start|>", "<|constrain|>"};

template <std::size_t N>
bool IsOneOf(std::string_view text, const std::array<std::string_view, N>& list) {
  return std::find(list.begin(), list.end(), text) != list.end();
}

// Corrects token types and collects the end-of-generation tokens as llama.cpp does, because
// converters often write chat and fill-in-the-middle markers as normal or user-defined tokens.
// As control tokens they are matched in text only with parse_special and decode to nothing by
// default. (The oracle tokenizations rely on it: phi-3's user-defined "</s>" is not matched in
// plain text.)
void ApplyTokenTypeFixups(Vocab& v) {
  SpecialTokens& sp = v.special;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::string& text = v.pieces[i];
    bool ends = IsOneOf(text, kEndOfGenerationTexts) || IsOneOf(text, kFillInMiddleEndTexts);
    if (ends) sp.end_of_generation.push_back(static_cast<TokenId>(i));
    if (ends || IsOneOf(text, kFillInMiddleTexts)) v.types[i] = TokenType::kControl;
    if (IsOneOf(text, kAlwaysRenderedTexts)) v.types[i] = TokenType::kUserDefined;
  }
  for (auto id : {sp.eos, sp.eot, sp.eom}) {
    if (id) sp.end_of_generation.push_back(*id);
  }
  auto find_end = [&](std::string_view text) -> std::optional<TokenId> {
    for (TokenId id : sp.end_of_generation) {
      if (v.pieces[id] == text) return id;
    }
    return std::nullopt;
  };
  auto no_longer_ends = [&](TokenId id, TokenType new_type) {
    std::erase(sp.end_of_generation, id);
    v.types[id] = new_type;
  };
  // Harmony (gpt-oss) and solar-open end a message with <|end|> but generation goes on.
  if (auto end = find_end("<|end|>"); end && ((find_end("<|return|>") && find_end("<|call|>")) ||
                                              (find_end("<|calls|>") && find_end("<|flush|>")))) {
    no_longer_ends(*end, TokenType::kUserDefined);
  }
  // Gemma 4 uses </s> as ordinary text.
  if (auto s = find_end("</s>"); s && find_end("<|tool_response>")) {
    no_longer_ends(*s, TokenType::kNormal);
  }
  std::sort(sp.end_of_generation.begin(), sp.end_of_generation.end());
  sp.end_of_generation.erase(std::unique(sp.end_of_generation.begin(), sp.end_of_generation.end()),
                             sp.end_of_generation.end());
}

std::optional<TokenId> ReadTokenId(const gguf::GgufFile& file, std::string_view key,
                                   std::size_t vocab_size) {
  const gguf::Value* v = file.Find(key);
  if (v == nullptr) return std::nullopt;
  std::int64_t id;
  try {
    id = v->AsInt();
  } catch (const Error& e) {
    Fail("{}: metadata '{}': {}", file.path(), key, e.what());
  }
  // Some converters write -1 (or 2^32-1 as uint32) for "no such token".
  if (id < 0 || id == 0xffffffffLL) return std::nullopt;
  if (static_cast<std::uint64_t>(id) >= vocab_size) {
    Fail("{}: metadata '{}' is token id {}, but the vocabulary has only {} tokens", file.path(),
         key, id, vocab_size);
  }
  return static_cast<TokenId>(id);
}

}  // namespace

std::optional<TokenId> Vocab::Find(std::string_view piece) const {
  auto it = piece_to_id.find(std::string(piece));
  if (it == piece_to_id.end()) return std::nullopt;
  return it->second;
}

Vocab Vocab::FromGguf(const gguf::GgufFile& file) {
  Vocab v;
  const std::string& path = file.path();
  auto model = file.GetString("tokenizer.ggml.model");
  if (!model) Fail("{}: the file has no tokenizer (tokenizer.ggml.model is missing)", path);
  v.model = *model;
  if (v.model == "llama") {
    v.kind = TokenizerKind::kSentencePiece;
  } else if (v.model == "gpt2") {
    v.kind = TokenizerKind::kBytePairBpe;
  } else {
    Fail(
        "{}: tokenizer model '{}' is not supported (supported: 'llama' SentencePiece, 'gpt2' "
        "byte-level BPE)",
        path, v.model);
  }
  v.pre = file.GetString("tokenizer.ggml.pre").value_or("default");

  const gguf::Array& tokens = file.RequireArray("tokenizer.ggml.tokens");
  if (tokens.element_type != gguf::ValueType::kString) {
    Fail("{}: tokenizer.ggml.tokens must be an array of strings", path);
  }
  if (tokens.items.empty()) Fail("{}: tokenizer.ggml.tokens is empty", path);
  if (tokens.items.size() > static_cast<std::size_t>(std::numeric_limits<TokenId>::max())) {
    Fail("{}: tokenizer.ggml.tokens has too many entries ({})", path, tokens.items.size());
  }
  const std::size_t n = tokens.items.size();
  v.pieces.reserve(n);
  v.piece_to_id.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    v.pieces.push_back(tokens.items[i].AsString());
    // The first id wins for duplicate pieces (llama.cpp refuses such files).
    v.piece_to_id.emplace(v.pieces.back(), static_cast<TokenId>(i));
  }

  if (const gguf::Array* scores = file.GetArray("tokenizer.ggml.scores")) {
    if (scores->items.size() != n) {
      Fail("{}: tokenizer.ggml.scores has {} entries but there are {} tokens", path,
           scores->items.size(), n);
    }
    v.scores.reserve(n);
    for (const gguf::Value& s : scores->items) v.scores.push_back(static_cast<float>(s.AsDouble()));
  }

  v.types.assign(n, TokenType::kNormal);
  if (const gguf::Array* types = file.GetArray("tokenizer.ggml.token_type")) {
    if (types->items.size() != n) {
      Fail("{}: tokenizer.ggml.token_type has {} entries but there are {} tokens", path,
           types->items.size(), n);
    }
    for (std::size_t i = 0; i < n; ++i) {
      std::int64_t t = types->items[i].AsInt();
      if (t < 0 || t > static_cast<std::int64_t>(TokenType::kByte)) {
        Fail("{}: tokenizer.ggml.token_type[{}] = {} is not a known token type (0..6)", path, i, t);
      }
      v.types[i] = static_cast<TokenType>(t);
    }
  }

  if (const gguf::Array* merges = file.GetArray("tokenizer.ggml.merges")) {
    v.merges.reserve(merges->items.size());
    for (const gguf::Value& m : merges->items) v.merges.push_back(m.AsString());
  }
  if (v.kind == TokenizerKind::kBytePairBpe && v.merges.empty()) {
    Fail("{}: a byte-level BPE vocabulary needs tokenizer.ggml.merges, which is missing", path);
  }

  SpecialTokens& sp = v.special;
  sp.bos = ReadTokenId(file, "tokenizer.ggml.bos_token_id", n);
  sp.eos = ReadTokenId(file, "tokenizer.ggml.eos_token_id", n);
  sp.eot = ReadTokenId(file, "tokenizer.ggml.eot_token_id", n);
  sp.eom = ReadTokenId(file, "tokenizer.ggml.eom_token_id", n);
  sp.unk = ReadTokenId(file, "tokenizer.ggml.unknown_token_id", n);
  sp.sep = ReadTokenId(file, "tokenizer.ggml.seperator_token_id", n);  // sic, as GGUF spells it
  sp.pad = ReadTokenId(file, "tokenizer.ggml.padding_token_id", n);
  if (v.kind == TokenizerKind::kSentencePiece) {
    // SentencePiece conventions when the file is silent: <unk>=0, <s>=1, </s>=2, BOS added.
    if (!sp.unk && n > 0) sp.unk = 0;
    if (!sp.bos && n > 1) sp.bos = 1;
    if (!sp.eos && n > 2) sp.eos = 2;
  }
  sp.add_bos = file.GetBool("tokenizer.ggml.add_bos_token")
                   .value_or(v.kind == TokenizerKind::kSentencePiece);
  sp.add_eos = file.GetBool("tokenizer.ggml.add_eos_token").value_or(false);
  v.add_space_prefix = file.GetBool("tokenizer.ggml.add_space_prefix")
                           .value_or(v.kind == TokenizerKind::kSentencePiece);

  ApplyTokenTypeFixups(v);

  v.chat_template = file.GetString("tokenizer.chat_template");
  return v;
}

}  // namespace kiln::tokenizer
