// Encode and decode throughput of the SentencePiece tokenizer on the phi-3 vocabulary.
#include <benchmark/benchmark.h>

#include <string>

#include "kiln/gguf/gguf_file.h"
#include "kiln/tokenizer/tokenizer.h"
#include "kiln/tokenizer/tokenizer_kinds.h"

namespace {

using kiln::tokenizer::Tokenizer;

const Tokenizer& Phi3() {
  static const auto tokenizer = kiln::tokenizer::detail::CreateSentencePieceTokenizer(
      kiln::tokenizer::Vocab::FromGguf(kiln::gguf::GgufFile::Open(
          std::string(KILN_FIXTURES_DIR) + "/models/tiny-llama-q8_0.gguf")));
  return *tokenizer;
}

std::string Text(std::size_t bytes) {
  const std::string sample =
      "The quick brown fox jumps over the lazy dog. Grüße aus Köln! 我能吞下玻璃而不伤身体。"
      "for (int i = 0; i < n; ++i) { sum += a[i]; }\n🦙🚀 Съешь же ещё этих мягких булок. ";
  std::string text;
  while (text.size() < bytes) text += sample;
  return text;
}

void BM_Encode(benchmark::State& state) {
  const Tokenizer& t = Phi3();
  std::string text = Text(static_cast<std::size_t>(state.range(0)));
  std::size_t tokens = 0;
  for (auto _ : state) {
    auto ids = t.Encode(text);
    tokens = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.size()));
  state.counters["tokens"] = static_cast<double>(tokens);
}
BENCHMARK(BM_Encode)->Arg(1 << 10)->Arg(1 << 16)->Arg(1 << 20);

void BM_EncodeNoSpaces(benchmark::State& state) {
  const Tokenizer& t = Phi3();
  std::string text(static_cast<std::size_t>(state.range(0)), 'a');
  for (auto _ : state) benchmark::DoNotOptimize(t.Encode(text).data());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.size()));
}
BENCHMARK(BM_EncodeNoSpaces)->Arg(1 << 16)->Arg(1 << 20);

void BM_Decode(benchmark::State& state) {
  const Tokenizer& t = Phi3();
  auto ids = t.Encode(Text(1 << 16));
  for (auto _ : state) benchmark::DoNotOptimize(t.Decode(ids).data());
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(ids.size()));
}
BENCHMARK(BM_Decode);

}  // namespace
