// GPT-2's byte-level alphabet: each of the 256 byte values written as a printable Unicode
// character (bytes_to_unicode in GPT-2's encoder.py), so that byte-level BPE vocabularies store
// any byte sequence as text. Internal to the tokenizer layer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace kiln::tokenizer::detail {

// The code point that stands for `byte`: printable Latin-1 bytes stand for themselves, the
// others for U+0100 onwards in byte order (so ' ' is 'Ġ' U+0120 and '\n' is 'Ċ' U+010A).
char32_t ByteToCodepoint(std::uint8_t byte);

// The byte that `cp` stands for, or -1 when it is not in the alphabet.
int CodepointToByte(char32_t cp);

// `bytes` written in the alphabet (what a vocabulary piece for them looks like).
std::string EncodeBytes(std::string_view bytes);

// The bytes a vocabulary piece stands for. Characters outside the alphabet (found in pieces that
// were added to a vocabulary as plain text) are kept as their UTF-8. Sets *exact to false when
// that happened, i.e. when EncodeBytes(result) would not give `piece` back.
std::string DecodeBytes(std::string_view piece, bool* exact = nullptr);

}  // namespace kiln::tokenizer::detail
