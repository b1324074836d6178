// UTF-8 structure checks shared by the tokenizers and the incremental decoder. Internal to the
// layer: well-formedness as Unicode defines it (no overlongs, surrogates or code points past
// U+10FFFF), byte by byte so that partial characters can be recognised.
#pragma once

#include <cstddef>
#include <string_view>

namespace kiln::tokenizer::detail {

// Length of the UTF-8 sequence a lead byte starts, or 0 for a byte that cannot start one.
inline std::size_t Utf8SequenceLength(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

// Whether `byte` may stand at position `index` (1..3) of the sequence `lead` starts. The second
// byte's range is what excludes overlong forms, surrogates and code points past U+10FFFF
// (Unicode table 3-7).
inline bool IsValidUtf8Continuation(unsigned char lead, std::size_t index, unsigned char byte) {
  if (index == 1) {
    switch (lead) {
      case 0xe0:
        return byte >= 0xa0 && byte <= 0xbf;
      case 0xed:
        return byte >= 0x80 && byte <= 0x9f;
      case 0xf0:
        return byte >= 0x90 && byte <= 0xbf;
      case 0xf4:
        return byte >= 0x80 && byte <= 0x8f;
      default:
        break;
    }
  }
  return byte >= 0x80 && byte <= 0xbf;
}

// The length of the well-formed character at text[pos], or 0 when the bytes there are not one.
inline std::size_t WellFormedUtf8Length(std::string_view text, std::size_t pos) {
  auto lead = static_cast<unsigned char>(text[pos]);
  std::size_t len = Utf8SequenceLength(lead);
  if (len == 0 || pos + len > text.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    if (!IsValidUtf8Continuation(lead, k, static_cast<unsigned char>(text[pos + k]))) return 0;
  }
  return len;
}

}  // namespace kiln::tokenizer::detail
