// PreTokenizer: splits text into the words that byte-level BPE encodes one at a time, using the
// regular expressions that a vocabulary's tokenizer.ggml.pre names (Hugging Face's Split
// pre-tokenizers, as llama.cpp maps them), compiled with PCRE2 (UTF, Unicode properties, JIT).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::tokenizer {

// Which regular expressions a pre-tokenizer name stands for.
struct PreTokenizerSpec {
  std::string_view family;  // canonical name of the regex family ("gpt-2", "llama3", ...)
  std::vector<std::string_view> patterns;  // applied in order, each splitting the previous pieces
  bool ignore_merges = false;  // a word that is itself a token is emitted whole (HF ignore_merges)
};

// The spec for a tokenizer.ggml.pre value. Names that llama.cpp knows but Kiln cannot reproduce
// exactly throw kiln::Error; names nobody knows fall back to "default" with a logged warning
// (what llama.cpp does for a file without the key), because refusing to load an otherwise
// usable model over a new pre-tokenizer name would be worse than slightly different splits.
PreTokenizerSpec FindPreTokenizerSpec(std::string_view pre);

// The tokenizer.ggml.pre values FindPreTokenizerSpec supports exactly, sorted.
std::vector<std::string_view> SupportedPreTokenizers();

class PreTokenizer {
 public:
  // Compiles the patterns; kiln::Error naming the pattern if PCRE2 rejects one.
  explicit PreTokenizer(const PreTokenizerSpec& spec);
  static PreTokenizer ForName(std::string_view pre) {
    return PreTokenizer(FindPreTokenizerSpec(pre));
  }
  ~PreTokenizer();
  PreTokenizer(PreTokenizer&&) noexcept;
  PreTokenizer& operator=(PreTokenizer&&) noexcept;

  // Appends the pieces of `text` to `out`: non-empty, in order, concatenating to `text`.
  // Each pattern splits every piece into its matches and the text between them (Hugging Face's
  // "isolated" behaviour). Bytes that are not valid UTF-8 become one-byte pieces of their own,
  // so any input is split losslessly. Thread-safe.
  void Split(std::string_view text, std::vector<std::string_view>& out) const;
  std::vector<std::string_view> Split(std::string_view text) const;

  std::string_view family() const { return family_; }
  bool ignore_merges() const { return ignore_merges_; }

 private:
  struct Regex;
  void SplitValid(std::string_view text, std::vector<std::string_view>& out) const;

  std::string family_;
  bool ignore_merges_ = false;
  std::vector<std::unique_ptr<Regex>> regexes_;
};

namespace detail {
// Rewrites \s and \S to Unicode White_Space: PCRE2's UCP \s also matches U+180E, which neither
// Hugging Face (Oniguruma) nor llama.cpp count as whitespace.
std::string ToPcre2Pattern(std::string_view pattern);
// Length of the longest prefix of `text` that is valid UTF-8 (no overlongs, surrogates or
// code points above U+10FFFF), as PCRE2 requires of its subjects.
std::size_t ValidUtf8Prefix(std::string_view text);
}  // namespace detail

}  // namespace kiln::tokenizer
