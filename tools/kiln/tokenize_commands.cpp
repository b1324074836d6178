// kiln tokenize / kiln detokenize: the model's tokenizer from the command line.
#include <fmt/format.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "commands.h"
#include "kiln/base/error.h"
#include "kiln/gguf/gguf_file.h"
#include "kiln/tokenizer/tokenizer.h"

namespace kiln::cli {
namespace {

struct TokenizeFlags {
  std::string model;
  std::string text;
  std::string file;
  bool no_add_special = false;
  bool parse_special = false;
  bool json = false;
};

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Fail("cannot read '{}'", path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void RunTokenize(const TokenizeFlags& flags) {
  std::string input = flags.file.empty() ? flags.text : ReadWholeFile(flags.file);
  auto file = gguf::GgufFile::Open(flags.model);
  auto tokenizer = tokenizer::Tokenizer::FromGguf(file);
  auto ids = tokenizer->Encode(input, {.add_special = !flags.no_add_special,
                                       .parse_special = flags.parse_special});
  if (flags.json) {
    nlohmann::json out = nlohmann::json::array();
    for (auto id : ids) {
      std::string bytes = tokenizer->TokenToBytes(id, {.render_special = true});
      // Pieces may be part of a UTF-8 character; dump() below replaces invalid bytes with U+FFFD.
      out.push_back({{"id", id}, {"piece", tokenizer->vocab().pieces[id]}, {"text", bytes}});
    }
    fmt::print("{}\n", out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    return;
  }
  fmt::print("{}\n", fmt::join(ids, " "));
}

std::vector<tokenizer::TokenId> ParseIds(const std::string& text) {
  std::vector<tokenizer::TokenId> ids;
  std::string token;
  auto flush = [&] {
    if (token.empty()) return;
    std::size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(token, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != token.size() || v < 0 || v > INT32_MAX) Fail("'{}' is not a token id", token);
    ids.push_back(static_cast<tokenizer::TokenId>(v));
    token.clear();
  };
  for (char c : text) {
    if (c == ',' || c == ' ' || c == '\n' || c == '\t' || c == '[' || c == ']') {
      flush();
    } else {
      token.push_back(c);
    }
  }
  flush();
  return ids;
}

}  // namespace

void RegisterTokenizeCommands(CLI::App& app) {
  auto flags = std::make_shared<TokenizeFlags>();
  CLI::App* tok = app.add_subcommand("tokenize", "Print the token ids of a text");
  tok->add_option("model", flags->model, "GGUF model or vocabulary file")->required();
  auto* text = tok->add_option("--text", flags->text, "text to tokenize");
  auto* file = tok->add_option("--file", flags->file, "file whose contents to tokenize");
  text->excludes(file);
  tok->add_flag("--no-add-special", flags->no_add_special, "do not add BOS/EOS");
  tok->add_flag("--parse-special", flags->parse_special,
                "match control tokens written in the text (as chat templates need)");
  tok->add_flag("--json", flags->json, "print ids with their pieces as JSON");
  tok->callback([flags] { RunTokenize(*flags); });

  auto model = std::make_shared<std::string>();
  auto ids = std::make_shared<std::vector<std::string>>();
  auto render_special = std::make_shared<bool>(false);
  CLI::App* detok = app.add_subcommand("detokenize", "Print the text of token ids");
  detok->add_option("model", *model, "GGUF model or vocabulary file")->required();
  detok->add_option("ids", *ids, "token ids, separated by commas or spaces")->required();
  detok->add_flag("--render-special", *render_special, "print the text of control tokens too");
  detok->callback([model, ids, render_special] {
    std::string joined;
    for (const auto& s : *ids) joined += s + " ";
    auto parsed = ParseIds(joined);
    auto file = gguf::GgufFile::Open(*model);
    auto tokenizer = tokenizer::Tokenizer::FromGguf(file);
    fmt::print("{}\n", tokenizer->Decode(parsed, {.render_special = *render_special}));
  });
}

}  // namespace kiln::cli
