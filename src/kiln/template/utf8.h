// UTF-8 helpers for the template engine: Python treats strings as sequences of code points, so
// lengths, indexing, slicing and case mapping must too. Invalid bytes are kept as-is: each one
// decodes to a private "escape" code point (0xDC80 + byte) that encodes back to the same byte.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::jinja::utf8 {

// Decodes the code point starting at s[i] and advances i past it.
uint32_t Next(std::string_view s, size_t& i);

// Appends the UTF-8 encoding of cp (escape code points become their original byte).
void Append(std::string& out, uint32_t cp);

bool IsAscii(std::string_view s);

// Number of code points.
size_t Length(std::string_view s);

// Byte offset of every code point boundary, including the end (size Length(s) + 1).
std::vector<size_t> Boundaries(std::string_view s);

std::vector<uint32_t> Decode(std::string_view s);
std::string Encode(const std::vector<uint32_t>& cps);

// Python's str.isspace / isalpha / isdigit / isalnum for one code point.
bool IsSpace(uint32_t cp);
bool IsAlpha(uint32_t cp);
bool IsDigit(uint32_t cp);
inline bool IsAlnum(uint32_t cp) {
  return IsAlpha(cp) || IsDigit(cp);
}
bool IsUpper(uint32_t cp);
bool IsLower(uint32_t cp);

// Simple case mappings for ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic.
uint32_t ToUpper(uint32_t cp);
uint32_t ToLower(uint32_t cp);

std::string Upper(std::string_view s);
std::string Lower(std::string_view s);

// Python's str.splitlines(): splits on \n, \r, \r\n, \v, \f, \x1c-\x1e, \x85, \u2028, \u2029.
std::vector<std::string> SplitLines(std::string_view s, bool keep_ends = false);

// Python's str.strip() family with no argument (whitespace) or with a set of characters.
enum class StripSide { kLeft, kRight, kBoth };
std::string_view StripWhitespace(std::string_view s, StripSide side);
std::string_view StripChars(std::string_view s, std::string_view chars, StripSide side);

}  // namespace kiln::jinja::utf8
