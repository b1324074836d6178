// libFuzzer target for byte-level BPE: encoding arbitrary bytes (special tokens parsed or not)
// must decode back to the same bytes, every pre-tokenizer must split losslessly, and decoding
// arbitrary id sequences must either succeed or throw kiln::Error for an out-of-range id.
// The tiny-qwen2 vocabulary (GPT-2's, all 256 byte tokens) is loaded once from the fixtures:
// $KILN_FIXTURES_DIR, else the KILN_FIXTURES_DIR the build defines, else the first
// shared/fixtures found walking up from the executable.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/base/error.h"
#include "kiln/gguf/gguf_file.h"
#include "kiln/tokenizer/pretokenizer.h"
#include "kiln/tokenizer/tokenizer.h"
#include "kiln/tokenizer/tokenizer_kinds.h"

namespace {

namespace fs = std::filesystem;
using kiln::tokenizer::TokenId;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_tokenizer: property violated: %s\n", what);
    std::abort();
  }
}

fs::path FixturesDir() {
  if (const char* env = std::getenv("KILN_FIXTURES_DIR")) return env;
#ifdef KILN_FIXTURES_DIR
  if (fs::exists(KILN_FIXTURES_DIR)) return KILN_FIXTURES_DIR;
#endif
  std::error_code ec;
  fs::path dir = fs::read_symlink("/proc/self/exe", ec).parent_path();
  for (; !dir.empty() && dir != dir.root_path(); dir = dir.parent_path()) {
    if (fs::exists(dir / "shared" / "fixtures" / "models")) return dir / "shared" / "fixtures";
  }
  std::fprintf(stderr, "fuzz_tokenizer: cannot find the fixtures; set KILN_FIXTURES_DIR\n");
  std::abort();
}

struct Fixture {
  std::unique_ptr<kiln::tokenizer::Tokenizer> tokenizer;
  std::vector<kiln::tokenizer::PreTokenizer> pretokenizers;

  Fixture() {
    fs::path model = FixturesDir() / "models" / "tiny-qwen2-q8_0.gguf";
    tokenizer = kiln::tokenizer::detail::CreateBytePairTokenizer(
        kiln::tokenizer::Vocab::FromGguf(kiln::gguf::GgufFile::Open(model.string())));
    for (std::string_view name : kiln::tokenizer::SupportedPreTokenizers()) {
      pretokenizers.push_back(kiln::tokenizer::PreTokenizer::ForName(name));
    }
  }
};

const Fixture& GetFixture() {
  static const Fixture fixture;
  return fixture;
}

bool IsValidUtf8(std::string_view text) {
  return kiln::tokenizer::detail::ValidUtf8Prefix(text) == text.size();
}

void FuzzEncode(const Fixture& f, std::string_view text, bool parse_special, bool add_special) {
  const auto& t = *f.tokenizer;
  std::vector<TokenId> ids = t.Encode(text, {add_special, parse_special});
  for (TokenId id : ids) Check(t.vocab().IsValid(id), "Encode returned an invalid id");
  if (add_special) return;  // BOS/EOS, where a vocabulary adds them, are not in the text
  // Byte-level BPE with all 256 byte tokens is lossless for any bytes, valid UTF-8 or not.
  Check(t.Decode(ids, {.render_special = true}) == text, "Decode(Encode(text)) != text");
  if (!parse_special) Check(t.Decode(ids) == text, "Decode without special tokens != text");
  if (IsValidUtf8(text)) {
    kiln::tokenizer::IncrementalDecoder stream(t, {.render_special = true});
    std::string streamed;
    for (TokenId id : ids) streamed += stream.Push(id);
    streamed += stream.Flush();
    Check(streamed == text, "incremental decoding != text");
  }
}

void FuzzPreTokenizer(const Fixture& f, std::size_t which, std::string_view text) {
  const auto& p = f.pretokenizers[which % f.pretokenizers.size()];
  std::string joined;
  for (std::string_view piece : p.Split(text)) {
    Check(!piece.empty(), "empty pre-token");
    joined += piece;
  }
  Check(joined == text, "pre-tokens do not concatenate to the text");
}

void FuzzDecode(const Fixture& f, const std::uint8_t* data, std::size_t size, bool raw) {
  const auto& t = *f.tokenizer;
  const auto n = static_cast<std::int64_t>(t.vocab().size());
  std::vector<TokenId> ids;
  bool all_valid = true;
  if (raw) {  // whole int32 range
    for (std::size_t i = 0; i + 4 <= size; i += 4) {
      std::int32_t v;
      std::memcpy(&v, data + i, 4);
      ids.push_back(v);
    }
  } else {  // mostly valid ids, with some just outside the range on either side
    for (std::size_t i = 0; i + 2 <= size; i += 2) {
      std::uint16_t v;
      std::memcpy(&v, data + i, 2);
      ids.push_back(static_cast<TokenId>(static_cast<std::int64_t>(v) * (n + 64) / 65536 - 32));
    }
  }
  for (TokenId id : ids) all_valid = all_valid && t.vocab().IsValid(id);
  for (bool render : {false, true}) {
    try {
      std::string text = t.Decode(ids, {.render_special = render});
      Check(all_valid, "Decode accepted an out-of-range id");
    } catch (const kiln::Error&) {
      Check(!all_valid, "Decode threw for valid ids");
    }
  }
  kiln::tokenizer::IncrementalDecoder stream(t);
  for (TokenId id : ids) {
    try {
      stream.Push(id);
      Check(t.vocab().IsValid(id), "IncrementalDecoder accepted an out-of-range id");
    } catch (const kiln::Error&) {
      Check(!t.vocab().IsValid(id), "IncrementalDecoder threw for a valid id");
    }
  }
  stream.Flush();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  GetFixture();
  return 0;
}

// Byte 0 chooses: bits 0-1 the property (0, 1: encode; 2: pre-tokenizer; 3: decode ids),
// bits 2-3 its options, bits 2-7 the pre-tokenizer. The rest is the input.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const Fixture& f = GetFixture();
  const std::uint8_t control = data[0];
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (control & 3) {
    case 0:
    case 1:
      FuzzEncode(f, body, (control & 4) != 0, (control & 8) != 0);
      break;
    case 2:
      FuzzPreTokenizer(f, control >> 2, body);
      break;
    case 3:
      FuzzDecode(f, data + 1, size - 1, (control & 4) != 0);
      break;
  }
  return 0;
}
