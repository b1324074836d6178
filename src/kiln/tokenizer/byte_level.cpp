#include "kiln/tokenizer/byte_level.h"

#include <array>

namespace kiln::tokenizer::detail {
namespace {

// Bytes GPT-2 considered printable: '!'..'~', '¡'..'¬', '®'..'ÿ'.
constexpr bool IsPrintable(unsigned b) {
  return (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
}

struct Alphabet {
  std::array<char32_t, 256> to_codepoint{};
  std::array<std::int16_t, 0x144> to_byte{};  // the alphabet ends below U+0144 (256 + 68)
  constexpr Alphabet() {
    for (auto& b : to_byte) b = -1;
    unsigned next = 0x100;
    for (unsigned b = 0; b < 256; ++b) {
      to_codepoint[b] = IsPrintable(b) ? b : next++;
      to_byte[to_codepoint[b]] = static_cast<std::int16_t>(b);
    }
  }
};

constexpr Alphabet kAlphabet;

void AppendUtf8(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else {  // the alphabet lies below U+0800
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

}  // namespace

char32_t ByteToCodepoint(std::uint8_t byte) {
  return kAlphabet.to_codepoint[byte];
}

int CodepointToByte(char32_t cp) {
  return cp < kAlphabet.to_byte.size() ? kAlphabet.to_byte[cp] : -1;
}

std::string EncodeBytes(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) AppendUtf8(ByteToCodepoint(static_cast<std::uint8_t>(c)), out);
  return out;
}

std::string DecodeBytes(std::string_view piece, bool* exact) {
  std::string out;
  out.reserve(piece.size());
  if (exact != nullptr) *exact = true;
  std::size_t i = 0;
  while (i < piece.size()) {
    auto lead = static_cast<unsigned char>(piece[i]);
    int byte = -1;
    std::size_t len = 1;
    if (lead < 0x80) {
      byte = CodepointToByte(lead);
    } else if ((lead & 0xe0) == 0xc0 && i + 1 < piece.size() &&
               (static_cast<unsigned char>(piece[i + 1]) & 0xc0) == 0x80) {
      len = 2;
      byte = CodepointToByte(((lead & 0x1fu) << 6) | (piece[i + 1] & 0x3f));
    } else {  // a longer character: never in the alphabet; copy it whole
      while (i + len < piece.size() &&
             (static_cast<unsigned char>(piece[i + len]) & 0xc0) == 0x80) {
        ++len;
      }
    }
    if (byte >= 0) {
      out += static_cast<char>(byte);
    } else {
      out.append(piece, i, len);
      if (exact != nullptr) *exact = false;
    }
    i += len;
  }
  return out;
}

}  // namespace kiln::tokenizer::detail
