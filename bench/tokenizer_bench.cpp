// Tokenizer throughput on one core: bytes of English-like text encoded (and decoded) per second.
// The text is generated deterministically (see EnglishCorpus), so runs are comparable.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

#include "kiln/gguf/gguf_file.h"
#include "kiln/tokenizer/pretokenizer.h"
#include "kiln/tokenizer/tokenizer.h"
#include "kiln/tokenizer/tokenizer_kinds.h"

namespace kiln::tokenizer {
namespace {

const std::string kFixtures = KILN_FIXTURES_DIR;

// About 1 MiB of English-like prose: sentences of 4-24 words drawn with a fixed-seed generator
// from ~200 common English words (Zipf-like: earlier words more often), with capitals, commas,
// numbers, quotes, contractions and paragraph breaks.
const std::string& EnglishCorpus() {
  static const std::string corpus = [] {
    static const char* const kWords[] = {
        "the",       "of",        "and",        "to",          "a",           "in",
        "is",        "it",        "you",        "that",        "he",          "was",
        "for",       "on",        "are",        "with",        "as",          "I",
        "his",       "they",      "be",         "at",          "one",         "have",
        "this",      "from",      "or",         "had",         "by",          "not",
        "word",      "but",       "what",       "some",        "we",          "can",
        "out",       "other",     "were",       "all",         "there",       "when",
        "up",        "use",       "your",       "how",         "said",        "an",
        "each",      "she",       "which",      "do",          "their",       "time",
        "if",        "will",      "way",        "about",       "many",        "then",
        "them",      "write",     "would",      "like",        "so",          "these",
        "her",       "long",      "make",       "thing",       "see",         "him",
        "two",       "has",       "look",       "more",        "day",         "could",
        "go",        "come",      "did",        "number",      "sound",       "no",
        "most",      "people",    "my",         "over",        "know",        "water",
        "than",      "call",      "first",      "who",         "may",         "down",
        "side",      "been",      "now",        "find",        "any",         "new",
        "work",      "part",      "take",       "get",         "place",       "made",
        "live",      "where",     "after",      "back",        "little",      "only",
        "round",     "man",       "year",       "came",        "show",        "every",
        "good",      "me",        "give",       "our",         "under",       "name",
        "very",      "through",   "just",       "form",        "sentence",    "great",
        "think",     "say",       "help",       "low",         "line",        "differ",
        "turn",      "cause",     "much",       "mean",        "before",      "move",
        "right",     "boy",       "old",        "too",         "same",        "tell",
        "does",      "set",       "three",      "want",        "air",         "well",
        "also",      "play",      "small",      "end",         "put",         "home",
        "read",      "hand",      "port",       "large",       "spell",       "add",
        "even",      "land",      "here",       "must",        "big",         "high",
        "such",      "follow",    "act",        "why",         "ask",         "men",
        "change",    "went",      "light",      "kind",        "off",         "need",
        "house",     "picture",   "try",        "us",          "again",       "animal",
        "point",     "mother",    "world",      "near",        "build",       "self",
        "earth",     "father",    "government", "information", "development", "understanding",
        "tokenizer", "inference", "it's",       "don't",       "we'll",       "they've",
        "isn't",     "Kiln",      "London",     "Monday"};
    constexpr std::size_t kCount = sizeof(kWords) / sizeof(kWords[0]);
    std::uint64_t state = 0x9E3779B97F4A7C15ull;
    auto next = [&state](std::uint64_t bound) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      return (state >> 33) % bound;
    };
    std::string text;
    text.reserve(1 << 20);
    while (text.size() < (1u << 20)) {
      const std::uint64_t words = 4 + next(21);
      for (std::uint64_t w = 0; w < words; ++w) {
        // Skew towards common words: the smaller of two draws.
        std::string word = kWords[std::min(next(kCount), next(kCount))];
        if (w == 0) word[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(word[0])));
        if (w > 0) text += ' ';
        if (next(40) == 0) {
          text += std::to_string(next(100000));
        } else if (next(60) == 0) {
          text += '"' + word + '"';
        } else {
          text += word;
        }
        if (w + 1 < words && next(9) == 0) text += ',';
      }
      text += next(12) == 0 ? "?" : ".";
      text += next(6) == 0 ? "\n\n" : " ";
    }
    return text;
  }();
  return corpus;
}

// About 1 MiB of made-up words (one to four of 48 syllables, so ~10^6 distinct words and few
// repeats): the same shape as EnglishCorpus, but almost every word misses the word cache and
// runs through the merges.
const std::string& RareWordCorpus() {
  static const std::string corpus = [] {
    static const char* const kSyllables[] = {
        "ka",  "lo",  "mi",  "ren", "tor", "vel", "quin", "bra", "sto", "pel", "dun", "gar",
        "ish", "ent", "ond", "ule", "ax",  "or",  "sen",  "tha", "wic", "zor", "ple", "mun",
        "tri", "fal", "gen", "hob", "jik", "nus", "ost",  "rav", "sil", "tek", "umb", "vor",
        "wes", "yal", "cro", "dre", "fle", "gri", "lum",  "mor", "nex", "pra", "qui", "sca"};
    constexpr std::size_t kCount = sizeof(kSyllables) / sizeof(kSyllables[0]);
    std::uint64_t state = 0x2545F4914F6CDD1Dull;
    auto next = [&state](std::uint64_t bound) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      return (state >> 33) % bound;
    };
    std::string text;
    text.reserve(1 << 20);
    while (text.size() < (1u << 20)) {
      const std::uint64_t words = 4 + next(21);
      for (std::uint64_t w = 0; w < words; ++w) {
        if (w > 0) text += ' ';
        const std::uint64_t syllables = 1 + next(4);
        for (std::uint64_t k = 0; k < syllables; ++k) text += kSyllables[next(kCount)];
        if (w + 1 < words && next(9) == 0) text += ',';
      }
      text += next(6) == 0 ? ".\n\n" : ". ";
    }
    return text;
  }();
  return corpus;
}

std::unique_ptr<Tokenizer> LoadBytePair(const std::string& file, const std::string& pre) {
  Vocab vocab = Vocab::FromGguf(gguf::GgufFile::Open(kFixtures + "/" + file));
  if (!pre.empty()) vocab.pre = pre;
  return detail::CreateBytePairTokenizer(std::move(vocab));
}

// `pre` overrides the file's pre-tokenizer: "llama3" on the gpt-2 vocabulary stands in for a
// Llama 3 vocabulary (same expression and whole-word lookup, no 128k-token file in the fixtures).
void BM_EncodeBytePair(benchmark::State& state, const std::string& file, const std::string& pre) {
  auto tokenizer = LoadBytePair(file, pre);
  const std::string& text = EnglishCorpus();
  std::size_t tokens = 0;
  for (auto _ : state) {
    std::vector<TokenId> ids = tokenizer->Encode(text, {.add_special = false});
    tokens = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
  state.counters["bytes_per_token"] = static_cast<double>(text.size()) / tokens;
}

void BM_EncodeRareWords(benchmark::State& state, const std::string& file) {
  auto tokenizer = LoadBytePair(file, "");
  const std::string& text = RareWordCorpus();
  for (auto _ : state) {
    std::vector<TokenId> ids = tokenizer->Encode(text, {.add_special = false});
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}

void BM_DecodeBytePair(benchmark::State& state, const std::string& file) {
  auto tokenizer = LoadBytePair(file, "");
  const std::string& text = EnglishCorpus();
  const std::vector<TokenId> ids = tokenizer->Encode(text, {.add_special = false});
  for (auto _ : state) {
    std::string decoded = tokenizer->Decode(ids);
    benchmark::DoNotOptimize(decoded.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}

// The regular expressions alone, to see how encoding time divides.
void BM_PreTokenize(benchmark::State& state, const std::string& pre) {
  PreTokenizer pretokenizer = PreTokenizer::ForName(pre);
  const std::string& text = EnglishCorpus();
  std::vector<std::string_view> pieces;
  for (auto _ : state) {
    pieces.clear();
    pretokenizer.Split(text, pieces);
    benchmark::DoNotOptimize(pieces.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}

BENCHMARK_CAPTURE(BM_EncodeBytePair, tiny_qwen2, "models/tiny-qwen2-q8_0.gguf", "")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EncodeBytePair, gpt2, "vocab/ggml-vocab-gpt-2.gguf", "")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EncodeBytePair, llama3_style, "vocab/ggml-vocab-gpt-2.gguf", "llama3")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EncodeBytePair, qwen2_style, "vocab/ggml-vocab-gpt-2.gguf", "qwen2")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EncodeBytePair, deepseek_llm, "vocab/ggml-vocab-deepseek-llm.gguf", "")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EncodeBytePair, starcoder, "vocab/ggml-vocab-starcoder.gguf", "")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EncodeRareWords, tiny_qwen2, "models/tiny-qwen2-q8_0.gguf")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_DecodeBytePair, gpt2, "vocab/ggml-vocab-gpt-2.gguf")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_PreTokenize, gpt2, "gpt-2")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_PreTokenize, llama3, "llama3")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_PreTokenize, deepseek_llm, "deepseek-llm")->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace kiln::tokenizer

BENCHMARK_MAIN();
