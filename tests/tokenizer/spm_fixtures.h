// Shared by the SentencePiece tokenizer tests: the fixture vocabularies, a multilingual corpus and
// a strict UTF-8 check.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kiln/gguf/gguf_file.h"
#include "kiln/tokenizer/tokenizer.h"
#include "kiln/tokenizer/tokenizer_kinds.h"

namespace kiln::tokenizer::testing {

inline const std::string kFixtures = KILN_FIXTURES_DIR;

// Fixture paths relative to kFixtures.
inline const char* const kTinyLlama = "/models/tiny-llama-q8_0.gguf";
inline const char* const kLlamaSpm = "/vocab/ggml-vocab-llama-spm.gguf";
inline const char* const kPhi3 = "/vocab/ggml-vocab-phi-3.gguf";
inline const char* const kBaichuan = "/vocab/ggml-vocab-baichuan.gguf";
inline const std::vector<const char*> kAllSpmFixtures = {kTinyLlama, kLlamaSpm, kPhi3, kBaichuan};

// One tokenizer per fixture, built on first use and never changed afterwards.
inline const Tokenizer& SpmTokenizer(const char* fixture) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
  auto& slot = cache[fixture];
  if (!slot) {
    slot = detail::CreateSentencePieceTokenizer(
        Vocab::FromGguf(gguf::GgufFile::Open(kFixtures + fixture)));
  }
  return *slot;
}

// Text that Decode(Encode(text)) must give back unchanged: many scripts, emoji sequences, rare
// characters that only byte fallback can encode, and every kind of whitespace.
inline const std::vector<std::string>& RoundTripCorpus() {
  static const std::vector<std::string> corpus = {
      "Hello world",
      " Hello world",
      "   leading and trailing spaces   ",
      "a  b   c    d",
      "The quick brown fox jumps over the lazy dog.",
      "Grüße aus Köln! Straße, Äpfel, Öl, Übermut.",
      "Où est la bibliothèque ? Ça coûte 5 € — très cher.",
      "¿Dónde está el baño? ¡Olé! Niño, año, señor.",
      "Съешь же ещё этих мягких французских булок, да выпей чаю.",
      "Ξεσκεπάζω την ψυχοφθόρα βδελυγμία.",
      "我能吞下玻璃而不伤身体。今天天气很好，我们去公园散步吧！",
      "私はガラスを食べられます。それは私を傷つけません。カタカナとひらがな",
      "나는 유리를 먹을 수 있어요. 그래도 아프지 않아요. 안녕하세요",
      "أنا قادر على أكل الزجاج و هذا لا يؤلمني.",
      "אני יכול לאכול זכוכית וזה לא מזיק לי.",
      "मैं काँच खा सकता हूँ और मुझे उससे कोई चोट नहीं पहुंचती.",
      "ฉันกินกระจกได้ แต่มันไม่ทำให้ฉันเจ็บ",
      "កាន់តែពិសេសអាចខលចេញ",
      "Tôi có thể ăn thủy tinh mà không hại gì.",
      "🦙🚀🙂 👨‍👩‍👧‍👦 👍🏽 🏳️‍🌈 ✔️ ©®™ 🇯🇵",
      "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕓𝕠𝕝𝕕 𐍈 𓀀 𠀋 𪚥",
      "e\xCC\x81 combining vs \xC3\xA9, a\xCC\x8A\xCC\x81",
      "zero\xE2\x80\x8Bwidth\xE2\x80\x8C\xE2\x80\x8Djoiners",
      "non\xC2\xA0"
      "breaking\xE2\x80\x89thin\xE3\x80\x80ideographic",
      "tabs\tand\nnewlines\r\nand\rreturns\n\n\n",
      "\t\tdef f(x):\n\t\t    return x**2  # square\n",
      "for (int i = 0; i < n; ++i) { sum += a[i] * b[i]; }",
      "https://example.com/path?q=1&r=two#frag <html><body></body></html>",
      "control \x01\x02\x1f\x7f bytes",
      std::string("embedded\0nul", 12),
      "1 12 123 1234 12345 3.14159 -42 1e10 0x1F",
      "Math: ∀x∈ℝ, ∃y: x²+y²=1 ∑∫√∞ ≤≥≠ αβγδ",
      "<s> </s> <unk> <|end|> <|user|> literal markers",
      "ŉ ǅ ẞ ﬁ ﬀ Ⅻ ① ⁴ ₂ ½",
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
      " ",
      "\n",
  };
  return corpus;
}

// Whether `s` is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
inline bool IsValidUtf8(const std::string& s) {
  for (std::size_t i = 0; i < s.size();) {
    auto b = static_cast<unsigned char>(s[i]);
    std::size_t len;
    unsigned char lo = 0x80, hi = 0xbf;  // allowed range of the second byte
    if (b < 0x80) {
      len = 1;
    } else if (b >= 0xc2 && b <= 0xdf) {
      len = 2;
    } else if (b >= 0xe0 && b <= 0xef) {
      len = 3;
      if (b == 0xe0) lo = 0xa0;
      if (b == 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      len = 4;
      if (b == 0xf0) lo = 0x90;
      if (b == 0xf4) hi = 0x8f;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      auto c = static_cast<unsigned char>(s[i + k]);
      if (k == 1 ? (c < lo || c > hi) : (c < 0x80 || c > 0xbf)) return false;
    }
    i += len;
  }
  return true;
}

}  // namespace kiln::tokenizer::testing
