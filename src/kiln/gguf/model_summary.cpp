#include "kiln/gguf/model_summary.h"

#include <algorithm>
#include <array>
#include <map>
#include <string_view>
#include <utility>

#include "kiln/base/error.h"
#include "kiln/gguf/file_type.h"

namespace kiln::gguf {
namespace {

// Runs `get` on a value, turning a type error into one that names the file and key.
template <typename F>
auto Checked(const GgufFile& file, std::string_view key, F&& get) {
  try {
    return get();
  } catch (const Error& e) {
    Fail("{}: metadata '{}': {}", file.path(), key, e.what());
  }
}

// `<arch>.<suffix>` as an unsigned integer. Some architectures give per-layer arrays (OpenELM's
// head counts and FFN widths); for those the largest entry stands for the model.
std::optional<std::uint64_t> ArchUInt(const GgufFile& file, const std::string& arch,
                                      std::string_view suffix) {
  if (arch.empty()) return std::nullopt;
  std::string key = fmt::format("{}.{}", arch, suffix);
  const Value* v = file.Find(key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_array()) return file.GetUInt(key);
  std::optional<std::uint64_t> largest;
  for (const Value& item : v->AsArray().items) {
    std::uint64_t n = Checked(file, key, [&] { return item.AsUInt(); });
    largest = std::max(largest.value_or(0), n);
  }
  return largest;
}

std::optional<double> ArchDouble(const GgufFile& file, const std::string& arch,
                                 std::string_view suffix) {
  if (arch.empty()) return std::nullopt;
  return file.GetDouble(fmt::format("{}.{}", arch, suffix));
}

struct SpecialTokenKey {
  std::string_view role;
  std::string_view key;
};

// The special-token keys llama.cpp reads, in the order people look for them. "seperator" is
// llama.cpp's spelling; the prefix/suffix/middle keys are the older names of the FIM tokens.
constexpr std::array<SpecialTokenKey, 18> kSpecialTokenKeys{{
    {"bos", "tokenizer.ggml.bos_token_id"},
    {"eos", "tokenizer.ggml.eos_token_id"},
    {"eot", "tokenizer.ggml.eot_token_id"},
    {"eom", "tokenizer.ggml.eom_token_id"},
    {"unk", "tokenizer.ggml.unknown_token_id"},
    {"sep", "tokenizer.ggml.seperator_token_id"},
    {"sep", "tokenizer.ggml.separator_token_id"},
    {"pad", "tokenizer.ggml.padding_token_id"},
    {"cls", "tokenizer.ggml.cls_token_id"},
    {"mask", "tokenizer.ggml.mask_token_id"},
    {"fim_pre", "tokenizer.ggml.fim_pre_token_id"},
    {"fim_suf", "tokenizer.ggml.fim_suf_token_id"},
    {"fim_mid", "tokenizer.ggml.fim_mid_token_id"},
    {"fim_pad", "tokenizer.ggml.fim_pad_token_id"},
    {"fim_rep", "tokenizer.ggml.fim_rep_token_id"},
    {"fim_sep", "tokenizer.ggml.fim_sep_token_id"},
    {"prefix", "tokenizer.ggml.prefix_token_id"},
    {"suffix", "tokenizer.ggml.suffix_token_id"},
}};

std::vector<SpecialToken> SpecialTokens(const GgufFile& file, const Array* tokens) {
  std::vector<SpecialToken> out;
  for (const SpecialTokenKey& k : kSpecialTokenKeys) {
    const Value* v = file.Find(k.key);
    if (v == nullptr) continue;
    SpecialToken token;
    token.role = std::string(k.role);
    token.id = Checked(file, k.key, [&] { return v->AsInt(); });
    if (tokens != nullptr && token.id >= 0 &&
        static_cast<std::uint64_t>(token.id) < tokens->items.size()) {
      const Value& text = tokens->items[static_cast<std::size_t>(token.id)];
      if (text.is_string()) token.text = text.AsString();
    }
    out.push_back(std::move(token));
  }
  return out;
}

// Weight matrices decide the file type; norms and biases are F32 in every file type. A file
// without matrices is judged by all its tensors.
void GuessFileType(const GgufFile& file, ModelSummary& s) {
  struct Tally {
    std::uint64_t matrices = 0, matrix_elements = 0, tensors = 0, elements = 0;
  };
  std::map<std::uint32_t, Tally> tally;
  bool any_matrix = false;
  for (const TensorInfo& t : file.tensors()) {
    Tally& c = tally[static_cast<std::uint32_t>(t.type)];
    ++c.tensors;
    c.elements += t.element_count;
    if (t.shape.size() >= 2) {
      ++c.matrices;
      c.matrix_elements += t.element_count;
      any_matrix = true;
    }
  }
  if (tally.empty()) return;
  auto key = [&](const Tally& c) {
    return any_matrix ? std::pair(c.matrices, c.matrix_elements) : std::pair(c.tensors, c.elements);
  };
  auto best = std::max_element(tally.begin(), tally.end(), [&](const auto& a, const auto& b) {
    return key(a.second) < key(b.second);
  });
  s.file_type_guessed = true;
  std::optional<std::uint32_t> id = FileTypeForWeightType(static_cast<TensorType>(best->first));
  s.file_type = id ? std::string(*FileTypeName(*id)) : "UNKNOWN";
  if (id) s.file_type_id = *id;
}

}  // namespace

ModelSummary Summarize(const GgufFile& file) {
  ModelSummary s;
  s.path = file.path();
  s.gguf_version = file.version();
  s.file_size = file.file_size();
  s.alignment = file.alignment();
  s.metadata_count = file.metadata().size();
  s.tensor_count = file.tensors().size();

  s.architecture = file.architecture();
  s.name = file.GetString("general.name");
  const std::string& arch = s.architecture;
  s.context_length = ArchUInt(file, arch, "context_length");
  s.block_count = ArchUInt(file, arch, "block_count");
  s.embedding_length = ArchUInt(file, arch, "embedding_length");
  s.feed_forward_length = ArchUInt(file, arch, "feed_forward_length");
  s.head_count = ArchUInt(file, arch, "attention.head_count");
  s.head_count_kv = ArchUInt(file, arch, "attention.head_count_kv");
  if (!s.head_count_kv) s.head_count_kv = s.head_count;
  s.key_length = ArchUInt(file, arch, "attention.key_length");
  if (!s.key_length && s.embedding_length && s.head_count && *s.head_count > 0) {
    s.key_length = *s.embedding_length / *s.head_count;
  }
  s.value_length = ArchUInt(file, arch, "attention.value_length");
  if (!s.value_length) s.value_length = s.key_length;
  s.rope_freq_base = ArchDouble(file, arch, "rope.freq_base");
  s.norm_eps = ArchDouble(file, arch, "attention.layer_norm_rms_epsilon");
  if (!s.norm_eps) s.norm_eps = ArchDouble(file, arch, "attention.layer_norm_epsilon");

  const Array* tokens = file.GetArray("tokenizer.ggml.tokens");
  if (tokens != nullptr) {
    s.vocab_size = tokens->items.size();
  } else {
    s.vocab_size = ArchUInt(file, arch, "vocab_size");
  }
  s.tokenizer_model = file.GetString("tokenizer.ggml.model");
  s.tokenizer_pre = file.GetString("tokenizer.ggml.pre");
  s.special_tokens = SpecialTokens(file, tokens);
  s.has_chat_template = file.GetString("tokenizer.chat_template").has_value();

  std::map<std::uint32_t, TensorTypeUsage> usage;
  for (const TensorInfo& t : file.tensors()) {
    s.parameter_count += t.element_count;
    s.tensor_bytes += t.byte_size;
    TensorTypeUsage& u = usage[static_cast<std::uint32_t>(t.type)];
    u.type = t.type;
    ++u.tensor_count;
    u.elements += t.element_count;
    u.bytes += t.byte_size;
  }
  for (const auto& [type, u] : usage) s.quantization.push_back(u);
  std::stable_sort(
      s.quantization.begin(), s.quantization.end(),
      [](const TensorTypeUsage& a, const TensorTypeUsage& b) { return a.bytes > b.bytes; });

  if (auto id = file.GetUInt("general.file_type")) {
    s.file_type_id = id;
    auto name = *id <= 0xffffffffu ? FileTypeName(static_cast<std::uint32_t>(*id)) : std::nullopt;
    s.file_type = name ? std::string(*name) : "UNKNOWN";
  } else {
    GuessFileType(file, s);
  }
  return s;
}

}  // namespace kiln::gguf
