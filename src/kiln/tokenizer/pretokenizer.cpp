#include "kiln/tokenizer/pretokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <array>

#include "kiln/base/error.h"
#include "kiln/base/log.h"

namespace kiln::tokenizer {
namespace {

// The regular expressions, as Hugging Face's tokenizer.json files write them (where llama.cpp
// rewrote one for std::regex, its rewrite where the two agree, e.g. explicit [sS] instead of
// (?i:...) so that 'ſ' is no contraction). Non-ASCII characters are written as \x{...}.
// \s and \S mean Unicode White_Space (see detail::ToPcre2Pattern).

// GPT-2's: contractions, letters, digits, other symbols, each with an optional leading space.
constexpr std::string_view kGpt2 =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

constexpr std::string_view kLlama3 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// Qwen2's is Llama 3's with single digits.
constexpr std::string_view kQwen2 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// Qwen3.5 keeps combining marks with their letters.
constexpr std::string_view kQwen35 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

constexpr std::string_view kJais2 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s{512}(?!\S)|\s{256}(?!\S)|\s{128}(?!\S)|\s{64}(?!\S)|\s{32}(?!\S)|\s{16}(?!\S)|\s{8}(?!\S)|\s{4}(?!\S)|\s{1,2}(?!\S)|\s{1})";

constexpr std::string_view kSeedCoder =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+)";

constexpr std::string_view kBailingMoe =
    R"('(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+)";

// Qwen2's without the contractions, so Turkish apostrophe suffixes stay with their word.
constexpr std::string_view kUfakzeka =
    R"([^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

constexpr std::string_view kMiniCpm5 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}+| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// Mistral's Tekken and GPT-4o's: words split at lower-to-upper case changes.
constexpr std::string_view kTekken =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kGpt4o =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// DeepSeek LLM: newlines alone, then runs of cased letters (the class is the Cased_Letter set of
// its tokenizer.json), ASCII and full-width punctuation, trailing space, CJK, digits.
constexpr std::string_view kDeepSeekCasedLetters =
    R"(\s?[A-Za-z\x{B5}\x{C0}-\x{D6}\x{D8}-\x{F6}\x{F8}-\x{1BA}\x{1BC}-\x{1BF}\x{1C4}-\x{293})"
    R"(\x{295}-\x{2AF}\x{370}-\x{373}\x{376}\x{377}\x{37B}-\x{37D}\x{37F}\x{386}\x{388}-\x{38A})"
    R"(\x{38C}\x{38E}-\x{3A1}\x{3A3}-\x{3F5}\x{3F7}-\x{481}\x{48A}-\x{52F}\x{531}-\x{556})"
    R"(\x{10A0}-\x{10C5}\x{13A0}-\x{13F5}\x{13F8}-\x{13FD}\x{1C90}-\x{1CBA}\x{1CBD}-\x{1CBF})"
    R"(\x{1D00}-\x{1D2B}\x{1D6B}-\x{1D77}\x{1D79}-\x{1D9A}\x{1E00}-\x{1F15}\x{1F18}-\x{1F1D})"
    R"(\x{1F20}-\x{1F45}\x{1F48}-\x{1F4D}\x{1F50}-\x{1F57}\x{1F59}\x{1F5B}\x{1F5D})"
    R"(\x{1F5F}-\x{1F7D}\x{1F80}-\x{1FB4}\x{1FB6}-\x{1FBC}\x{1FBE}\x{1FC2}-\x{1FC4})"
    R"(\x{1FC6}-\x{1FCC}\x{1FD0}-\x{1FD3}\x{1FD6}-\x{1FDB}\x{1FE0}-\x{1FEC}\x{1FF2}-\x{1FF4})"
    R"(\x{1FF6}-\x{1FFC}\x{2102}\x{2107}\x{210A}-\x{2113}\x{2115}\x{2119}-\x{211D}\x{2124})"
    R"(\x{2126}\x{2128}\x{212A}-\x{212D}\x{212F}-\x{2134}\x{2139}\x{213C}-\x{213F})"
    R"(\x{2145}-\x{2149}\x{214E}\x{2183}\x{2184}\x{2C00}-\x{2C7B}\x{2C7E}-\x{2CE4})"
    R"(\x{2CEB}-\x{2CEE}\x{2CF2}\x{2CF3}\x{A640}-\x{A66D}\x{A680}-\x{A69B}\x{A722}-\x{A76F})"
    R"(\x{A771}-\x{A787}\x{A78B}-\x{A78E}\x{AB70}-\x{ABBF}\x{FB00}-\x{FB06}\x{FB13}-\x{FB17})"
    R"(\x{FF21}-\x{FF3A}\x{FF41}-\x{FF5A}\x{10400}-\x{1044F}\x{104B0}-\x{104D3})"
    R"(\x{104D8}-\x{104FB}\x{10C80}-\x{10CB2}\x{10CC0}-\x{10CF2}\x{118A0}-\x{118DF})"
    R"(\x{1E900}-\x{1E943}]+)";
constexpr std::string_view kDeepSeekPunctuation =
    R"(\s?[!-/:-~\x{FF01}-\x{FF0F}\x{FF1A}-\x{FF5E}\x{2018}-\x{201F}\x{3000}-\x{3002}]+)";
// CJK Unified Ideographs up to U+9FA5, everything from U+0800 up to them, and Hangul.
constexpr std::string_view kDeepSeekCjk =
    R"([\x{4E00}-\x{9FA5}\x{0800}-\x{4E00}\x{AC00}-\x{D7FF}]+)";

// DeepSeek V3: up to three digits, CJK and kana, then ASCII-punctuation-led words.
constexpr std::string_view kDeepSeekV3Cjk =
    R"([\x{4E00}-\x{9FA5}\x{3040}-\x{309F}\x{30A0}-\x{30FF}]+)";
constexpr std::string_view kDeepSeekV3Words =
    R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// BLOOM, Poro, GPT-3 Finnish: everything up to whitespace or sentence punctuation.
constexpr std::string_view kBloom =
    R"( ?[^(\s|.,!?\x{2026}\x{3002}\x{FF0C}\x{3001}\x{0964}\x{06D4}\x{060C})]+)";

constexpr std::string_view kYoutuCjk =
    R"([\x{AC00}-\x{D7A3}\x{3131}-\x{318E}]+|[\x{FF01}\x{2026}\x{201C}\x{201D}\x{2018}\x{2019}\x{2014}\x{FF1A}\x{FF1B}\x{FF0C}\x{3001}-\x{303F}\x{FE30}-\x{FE4F}]+|[\x{3105}-\x{312F}]+|[\x{4E00}-\x{9FA5}\x{3040}-\x{309F}\x{30A0}-\x{30FF}]+)";
constexpr std::string_view kYoutuWords =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

struct Family {
  std::string_view name;
  std::vector<std::string_view> patterns;
  bool ignore_merges;
  std::vector<std::string_view> aliases;  // other tokenizer.ggml.pre values that use it
};

// The pre-tokenizer names llama.cpp knows, grouped by the regular expressions they use.
const std::vector<Family>& Families() {
  static const std::vector<Family> families = {
      // llama.cpp's default: punctuation runs first, then GPT-2's words, then digits in threes.
      {"default", {R"([\p{P}\$\+<=>\^~\|]+)", kGpt2, R"(\p{N}+)", "[0-9][0-9][0-9]"}, false, {}},
      {"gpt-2",
       {kGpt2},
       false,
       {"phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0", "mellum",
        "modern-bert", "jina-v1-en", "jina-v2-code", "roberta-bpe", "exaone4", "mpt", "olmo",
        "jais", "trillion", "granite-docling"}},
      {"llama3",
       {kLlama3},
       true,
       {"llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2",
        "jina-v5-nano"}},
      {"dbrx", {kLlama3}, false, {"smaug-bpe", "chatglm-bpe", "glm4"}},
      {"qwen2",
       {kQwen2},
       false,
       {"deepseek-r1-qwen", "kormo", "f2llmv2", "megrez", "stablelm2", "hunyuan", "solar-open",
        "grok-2"}},
      {"qwen35", {kQwen35}, false, {}},
      {"jais-2", {kJais2}, false, {}},
      {"deepseek-llm",
       {R"([\r\n])", kDeepSeekCasedLetters, kDeepSeekPunctuation, R"(\s+$)", kDeepSeekCjk,
        R"(\p{N}+)"},
       false,
       {}},
      {"deepseek-coder",
       {R"([\r\n])", R"(\s?\p{L}+)", R"(\s?\p{P}+)", kDeepSeekCjk, R"(\p{N})"},
       false,
       {}},
      {"deepseek-v3",
       {R"(\p{N}{1,3})", kDeepSeekV3Cjk, kDeepSeekV3Words},
       false,
       {"hunyuan-dense", "joyai-llm", "hy_v4"}},
      {"falcon", {R"([\p{P}\$\+<=>\^~\|`]+)", kGpt2, "[0-9][0-9][0-9]"}, false, {}},
      {"starcoder",
       {R"(\p{N})", kGpt2},
       false,
       {"refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b", "mellum2"}},
      {"bloom", {kBloom}, false, {"poro-chat", "gpt3-finnish"}},
      {"viking", {kBloom, R"(\p{N})"}, false, {}},
      {"tekken", {kTekken}, true, {}},
      {"gpt-4o", {kGpt4o}, false, {"llama4", "kanana2", "talkie", "minimax-m2"}},
      {"seed-coder", {kSeedCoder}, false, {}},
      {"bailingmoe", {kBailingMoe}, false, {"bailingmoe2", "llada-moe"}},
      {"ufakzeka", {kUfakzeka}, false, {}},
      {"minicpm5", {R"(\p{N}{1,3})", kMiniCpm5}, true, {}},
      {"laguna", {R"([^\n]+|[\n]+)", kQwen2}, false, {}},
      {"youtu", {kYoutuCjk, kYoutuWords}, true, {}},
  };
  return families;
}

// Names llama.cpp handles with code of its own (or a different byte encoding) that these
// regular expressions would only approximate.
constexpr std::array<std::string_view, 13> kUnsupported = {"kimi-k2",
                                                           "afmoe",
                                                           "superbpe",
                                                           "chameleon",
                                                           "gemma4",
                                                           "sarvam-moe",
                                                           "whitespace",
                                                           "tiny_aya",
                                                           "cohere2moe",
                                                           "spark2_5",
                                                           "exaone-moe",
                                                           "granite-embed-multi-97m",
                                                           "granite-embed-multi-311m"};

const Family* FindFamily(std::string_view pre) {
  for (const Family& f : Families()) {
    if (f.name == pre) return &f;
    if (std::find(f.aliases.begin(), f.aliases.end(), pre) != f.aliases.end()) return &f;
  }
  return nullptr;
}

std::size_t Utf8Length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead < 0xe0) return 2;
  if (lead < 0xf0) return 3;
  return 4;
}

struct CodeDeleter {
  void operator()(pcre2_code* p) const { pcre2_code_free(p); }
};
struct MatchDataDeleter {
  void operator()(pcre2_match_data* p) const { pcre2_match_data_free(p); }
};
struct MatchContextDeleter {
  void operator()(pcre2_match_context* p) const { pcre2_match_context_free(p); }
};
struct JitStackDeleter {
  void operator()(pcre2_jit_stack* p) const { pcre2_jit_stack_free(p); }
};

std::string Pcre2Message(int code) {
  std::array<PCRE2_UCHAR, 256> buffer{};
  pcre2_get_error_message(code, buffer.data(), buffer.size());
  return std::string(reinterpret_cast<const char*>(buffer.data()));
}

}  // namespace

namespace detail {

std::string ToPcre2Pattern(std::string_view pattern) {
  std::string out;
  out.reserve(pattern.size() + 32);
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '\\' || i + 1 == pattern.size()) {
      out += pattern[i];
      continue;
    }
    char next = pattern[++i];  // an escape: \s, \S, or anything else copied as written
    if (next == 's') {
      out += R"(\p{White_Space})";
    } else if (next == 'S') {
      out += R"(\P{White_Space})";
    } else {
      out += '\\';
      out += next;
    }
  }
  return out;
}

std::size_t ValidUtf8Prefix(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len;
    unsigned char lo = 0x80, hi = 0xbf;  // allowed range of the second byte
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      if (c == 0xe0) lo = 0xa0;  // no overlongs
      if (c == 0xed) hi = 0x9f;  // no surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      if (c == 0xf0) lo = 0x90;  // no overlongs
      if (c == 0xf4) hi = 0x8f;  // nothing above U+10FFFF
    } else {
      return i;
    }
    if (i + len > n || s[i + 1] < lo || s[i + 1] > hi) return i;
    for (std::size_t k = 2; k < len; ++k) {
      if ((s[i + k] & 0xc0) != 0x80) return i;
    }
    i += len;
  }
  return n;
}

}  // namespace detail

PreTokenizerSpec FindPreTokenizerSpec(std::string_view pre) {
  if (std::find(kUnsupported.begin(), kUnsupported.end(), pre) != kUnsupported.end()) {
    std::string supported;
    for (std::string_view name : SupportedPreTokenizers()) {
      if (!supported.empty()) supported += ", ";
      supported += name;
    }
    Fail("pre-tokenizer '{}' (tokenizer.ggml.pre) is not supported; supported: {}", pre, supported);
  }
  const Family* family = FindFamily(pre);
  if (family == nullptr) {
    log::Warn("unknown pre-tokenizer, using 'default'; tokenization may differ from the model's",
              {{"pre", pre}});
    family = FindFamily("default");
  }
  return {family->name, family->patterns, family->ignore_merges};
}

std::vector<std::string_view> SupportedPreTokenizers() {
  std::vector<std::string_view> names;
  for (const Family& f : Families()) {
    names.push_back(f.name);
    names.insert(names.end(), f.aliases.begin(), f.aliases.end());
  }
  std::sort(names.begin(), names.end());
  return names;
}

struct PreTokenizer::Regex {
  std::string pattern;  // as written in the table, for messages
  std::unique_ptr<pcre2_code, CodeDeleter> code;
  bool jit = false;  // compiled to machine code: matched through the faster pcre2_jit_match
};

PreTokenizer::PreTokenizer(const PreTokenizerSpec& spec)
    : family_(spec.family), ignore_merges_(spec.ignore_merges) {
  for (std::string_view pattern : spec.patterns) {
    std::string compiled = detail::ToPcre2Pattern(pattern);
    int error = 0;
    PCRE2_SIZE offset = 0;
    // DOLLAR_ENDONLY: '$' means the end of the piece, never "before a final newline".
    pcre2_code* code =
        pcre2_compile(reinterpret_cast<PCRE2_SPTR>(compiled.data()), compiled.size(),
                      PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY, &error, &offset, nullptr);
    if (code == nullptr) {
      Fail("pre-tokenizer '{}': PCRE2 rejects pattern '{}' at offset {}: {}", family_, pattern,
           offset, Pcre2Message(error));
    }
    auto regex = std::make_unique<Regex>(Regex{std::string(pattern), {code, {}}});
    // Without JIT support (some platforms) pcre2_match interprets the pattern: slower, same result.
    regex->jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
    regexes_.push_back(std::move(regex));
  }
}

PreTokenizer::~PreTokenizer() = default;
PreTokenizer::PreTokenizer(PreTokenizer&&) noexcept = default;
PreTokenizer& PreTokenizer::operator=(PreTokenizer&&) noexcept = default;

namespace {

// Per-call matching state: match data, and a larger JIT stack made only when a pattern needs it.
class Matcher {
 public:
  Matcher() : data_(pcre2_match_data_create(1, nullptr)) {
    if (!data_) throw std::bad_alloc();
  }

  // Splits `piece` (valid UTF-8) by `code`: matches and the text between them, in order.
  void Split(const pcre2_code* code, bool jit, std::string_view pattern, std::string_view piece,
             std::vector<std::string_view>& out) {
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(piece.data());
    const std::size_t n = piece.size();
    std::size_t pos = 0;
    std::size_t gap = 0;  // start of text not yet emitted
    while (pos < n) {
      int rc =
          jit ? pcre2_jit_match(code, subject, n, pos, 0, data_.get(), context_.get())
              : pcre2_match(code, subject, n, pos, PCRE2_NO_UTF_CHECK, data_.get(), context_.get());
      if (rc == PCRE2_ERROR_JIT_STACKLIMIT && !context_) {
        GrowJitStack();
        continue;
      }
      if (rc == PCRE2_ERROR_NOMATCH) break;
      if (rc < 0) {
        Fail("pre-tokenizer pattern '{}' failed on a {}-byte piece: {}", pattern, n,
             Pcre2Message(rc));
      }
      const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(data_.get());
      const std::size_t start = ov[0];
      const std::size_t end = ov[1];
      if (end == start) {  // an empty match splits nothing; look again one character on
        pos = end + Utf8Length(static_cast<unsigned char>(piece[end < n ? end : n - 1]));
        continue;
      }
      if (start > gap) out.push_back(piece.substr(gap, start - gap));
      out.push_back(piece.substr(start, end - start));
      gap = pos = end;
    }
    if (gap < n) out.push_back(piece.substr(gap));
  }

 private:
  void GrowJitStack() {
    // The default 32 KiB JIT stack is enough for ordinary text; pathological inputs (very long
    // runs that a pattern backtracks over) get 64 MiB, allocated only when they happen.
    stack_.reset(pcre2_jit_stack_create(32 * 1024, 64 * 1024 * 1024, nullptr));
    context_.reset(pcre2_match_context_create(nullptr));
    if (!stack_ || !context_) throw std::bad_alloc();
    pcre2_jit_stack_assign(context_.get(), nullptr, stack_.get());
  }

  std::unique_ptr<pcre2_match_data, MatchDataDeleter> data_;
  std::unique_ptr<pcre2_jit_stack, JitStackDeleter> stack_;
  std::unique_ptr<pcre2_match_context, MatchContextDeleter> context_;
};

}  // namespace

void PreTokenizer::SplitValid(std::string_view text, std::vector<std::string_view>& out) const {
  if (text.empty()) return;
  Matcher matcher;
  if (regexes_.size() == 1) {
    const Regex& regex = *regexes_[0];
    matcher.Split(regex.code.get(), regex.jit, regex.pattern, text, out);
    return;
  }
  std::vector<std::string_view> current{text};
  std::vector<std::string_view> next;
  for (const auto& regex : regexes_) {
    next.clear();
    for (std::string_view piece : current) {
      matcher.Split(regex->code.get(), regex->jit, regex->pattern, piece, next);
    }
    current.swap(next);
  }
  out.insert(out.end(), current.begin(), current.end());
}

void PreTokenizer::Split(std::string_view text, std::vector<std::string_view>& out) const {
  while (!text.empty()) {
    std::size_t valid = detail::ValidUtf8Prefix(text);
    SplitValid(text.substr(0, valid), out);
    if (valid == text.size()) break;
    out.push_back(text.substr(valid, 1));  // a byte that is not UTF-8 stands alone
    text.remove_prefix(valid + 1);
  }
}

std::vector<std::string_view> PreTokenizer::Split(std::string_view text) const {
  std::vector<std::string_view> out;
  Split(text, out);
  return out;
}

}  // namespace kiln::tokenizer
