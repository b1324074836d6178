#include "kiln/template/string_ops.h"

#include "kiln/template/fail.h"
#include "kiln/template/utf8.h"

namespace kiln::jinja {
namespace {

bool IsCased(uint32_t cp) {
  return utf8::ToUpper(cp) != cp || utf8::ToLower(cp) != cp;
}

// Splits on runs of whitespace, at most maxsplit times, from the left.
std::vector<std::string> SplitWhitespace(std::string_view s, int64_t maxsplit) {
  std::vector<std::string> out;
  size_t i = 0;
  while (true) {
    // Skip whitespace.
    while (i < s.size()) {
      size_t next = i;
      if (!utf8::IsSpace(utf8::Next(s, next))) break;
      i = next;
    }
    if (i >= s.size()) break;
    if (maxsplit >= 0 && static_cast<int64_t>(out.size()) == maxsplit) {
      out.emplace_back(s.substr(i));
      break;
    }
    const size_t start = i;
    while (i < s.size()) {
      size_t next = i;
      if (utf8::IsSpace(utf8::Next(s, next))) break;
      i = next;
    }
    out.emplace_back(s.substr(start, i - start));
  }
  return out;
}

std::vector<std::string> RSplitWhitespace(std::string_view s, int64_t maxsplit) {
  std::vector<std::string> out;
  std::string_view rest = s;
  while (true) {
    rest = utf8::StripWhitespace(rest, utf8::StripSide::kRight);
    if (rest.empty()) break;
    if (maxsplit >= 0 && static_cast<int64_t>(out.size()) == maxsplit) {
      out.emplace_back(rest);
      break;
    }
    // Find the start of the last word.
    const std::vector<size_t> bounds = utf8::Boundaries(rest);
    size_t k = bounds.size() - 1;
    while (k > 0) {
      size_t at = bounds[k - 1];
      if (utf8::IsSpace(utf8::Next(rest, at))) break;
      --k;
    }
    out.emplace_back(rest.substr(bounds[k]));
    rest = rest.substr(0, bounds[k]);
  }
  return {out.rbegin(), out.rend()};
}

}  // namespace

std::vector<std::string> PySplit(std::string_view s, std::optional<std::string_view> sep,
                                 int64_t maxsplit, bool from_right) {
  if (!sep) return from_right ? RSplitWhitespace(s, maxsplit) : SplitWhitespace(s, maxsplit);
  if (sep->empty()) RuntimeFail("empty separator");
  std::vector<std::string> out;
  if (!from_right) {
    size_t start = 0;
    while (maxsplit < 0 || static_cast<int64_t>(out.size()) < maxsplit) {
      const size_t at = s.find(*sep, start);
      if (at == std::string_view::npos) break;
      out.emplace_back(s.substr(start, at - start));
      start = at + sep->size();
    }
    out.emplace_back(s.substr(start));
    return out;
  }
  size_t end = s.size();
  while (maxsplit < 0 || static_cast<int64_t>(out.size()) < maxsplit) {
    if (end < sep->size()) break;
    const size_t at = s.rfind(*sep, end - sep->size());
    if (at == std::string_view::npos) break;
    out.emplace_back(s.substr(at + sep->size(), end - at - sep->size()));
    end = at;
  }
  out.emplace_back(s.substr(0, end));
  return {out.rbegin(), out.rend()};
}

std::string PyReplace(std::string_view s, std::string_view old, std::string_view replacement,
                      int64_t count, size_t max_bytes) {
  // Count the matches first so an oversized result is rejected before it is built.
  std::vector<size_t> positions;
  if (old.empty()) {
    const std::vector<size_t> bounds = utf8::Boundaries(s);
    for (size_t b : bounds) {
      if (count >= 0 && static_cast<int64_t>(positions.size()) >= count) break;
      positions.push_back(b);
    }
  } else {
    for (size_t at = s.find(old); at != std::string_view::npos; at = s.find(old, at + old.size())) {
      if (count >= 0 && static_cast<int64_t>(positions.size()) >= count) break;
      positions.push_back(at);
    }
  }
  const double size = static_cast<double>(s.size()) + static_cast<double>(positions.size()) *
                                                          (static_cast<double>(replacement.size()) -
                                                           static_cast<double>(old.size()));
  if (size > static_cast<double>(max_bytes)) {
    LimitFail("replace() would build a string of {:.0f} bytes, over the limit of {}", size,
              max_bytes);
  }
  std::string out;
  out.reserve(static_cast<size_t>(size));
  size_t last = 0;
  for (size_t at : positions) {
    out.append(s.substr(last, at - last));
    out.append(replacement);
    last = at + old.size();
  }
  out.append(s.substr(last));
  return out;
}

std::string PyTitle(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool previous_cased = false;
  for (size_t i = 0; i < s.size();) {
    const uint32_t cp = utf8::Next(s, i);
    utf8::Append(out, previous_cased ? utf8::ToLower(cp) : utf8::ToUpper(cp));
    previous_cased = IsCased(cp);
  }
  return out;
}

std::string PyCapitalize(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool first = true;
  for (size_t i = 0; i < s.size();) {
    const uint32_t cp = utf8::Next(s, i);
    utf8::Append(out, first ? utf8::ToUpper(cp) : utf8::ToLower(cp));
    first = false;
  }
  return out;
}

int64_t PyCount(std::string_view s, std::string_view sub) {
  if (sub.empty()) return static_cast<int64_t>(utf8::Length(s)) + 1;
  int64_t n = 0;
  for (size_t at = s.find(sub); at != std::string_view::npos; at = s.find(sub, at + sub.size()))
    ++n;
  return n;
}

}  // namespace kiln::jinja
