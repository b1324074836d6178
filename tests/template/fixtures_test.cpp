// The template engine against real chat templates: Python Jinja2's renders in the shared
// fixtures (renders.json) and in tests/template/data/python_renders.json (all 65 templates on
// 11 conversations, made by scripts/template_oracle.py), byte for byte.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "render_helpers.h"

namespace kiln::jinja {
namespace {

using testing::FixedDateOptions;

const std::string kTemplates = std::string(KILN_FIXTURES_DIR) + "/templates";
const std::string kOracle = std::string(KILN_TEST_DATA_DIR) + "/python_renders.json";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "cannot open " << path;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

nlohmann::ordered_json ReadJson(const std::string& path) {
  return nlohmann::ordered_json::parse(ReadFile(path));
}

std::vector<std::string> TemplateNames() {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(kTemplates)) {
    if (entry.path().extension() == ".jinja") names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

TEST(FixtureTemplates, RendersJsonMatchesPythonByteForByte) {
  const auto fixtures = ReadJson(kTemplates + "/renders.json");
  int outputs = 0;
  int errors = 0;
  for (const auto& fixture : fixtures) {
    const std::string name = fixture["template"].get<std::string>();
    const Template tmpl = Template::Compile(ReadFile(kTemplates + "/" + name));
    // The fixture carries the source too; it must be the file we compiled.
    EXPECT_EQ(fixture["source"].get<std::string>(), ReadFile(kTemplates + "/" + name)) << name;
    for (const auto& render : fixture["renders"]) {
      const std::string where = name + " / " + render["conversation"].get<std::string>();
      if (render.contains("error")) {
        EXPECT_THROW(tmpl.Render(render["context"], FixedDateOptions()), TemplateError) << where;
        ++errors;
      } else {
        EXPECT_EQ(tmpl.Render(render["context"], FixedDateOptions()),
                  render["output"].get<std::string>())
            << where;
        ++outputs;
      }
    }
  }
  EXPECT_EQ(outputs, 37);
  EXPECT_EQ(errors, 3);
}

// Where Kiln deliberately renders although Hugging Face's Python environment fails.
const std::map<std::string, std::string>& KnownSupersets() {
  static const std::map<std::string, std::string> kSupersets = {
      // ImmutableSandboxedEnvironment forbids list.append/pop; Kiln allows them.
      {"Kimi-K2-Instruct.jinja/tools", "list.append"},
      {"Kimi-K2-Instruct.jinja/multi-tool", "list.append"},
      {"Kimi-K2-Thinking.jinja/tools", "list.append"},
      {"Kimi-K2-Thinking.jinja/multi-tool", "list.append"},
      // from_json is not a Jinja2 filter; Kiln provides it (llama.cpp templates use it).
      {"deepseek-ai-DeepSeek-V3.2.jinja/multi-tool", "from_json"},
      {"deepseek-ai-DeepSeek-V4-Flash-0731.jinja/multi-tool", "from_json"},
      {"deepseek-ai-DeepSeek-V4.jinja/multi-tool", "from_json"},
      // map() returns a generator in Python, which json.dumps rejects; Kiln returns a list.
      {"llama-cpp-deepseek-r1.jinja/tools", "map|tojson"},
      {"llama-cpp-deepseek-r1.jinja/multi-tool", "map|tojson"},
      {"llama-cpp-deepseek-r1.jinja/tools-system", "map|tojson"},
  };
  return kSupersets;
}

TEST(FixtureTemplates, AllTemplatesMatchPythonOnElevenConversations) {
  const auto oracle = ReadJson(kOracle);
  const auto& conversations = oracle["conversations"];
  std::map<std::string, Template> compiled;
  int same = 0;
  int both_raise = 0;
  int supersets = 0;
  for (const auto& render : oracle["renders"]) {
    const std::string name = render["template"].get<std::string>();
    const std::string conversation = render["conversation"].get<std::string>();
    const std::string where = name + "/" + conversation;
    auto it = compiled.find(name);
    if (it == compiled.end()) {
      it = compiled.emplace(name, Template::Compile(ReadFile(kTemplates + "/" + name))).first;
    }
    const auto& context = conversations[conversation];
    if (render.contains("output")) {
      EXPECT_EQ(it->second.Render(context, FixedDateOptions()), render["output"].get<std::string>())
          << where;
      ++same;
    } else if (KnownSupersets().count(where) != 0) {
      EXPECT_NO_THROW(it->second.Render(context, FixedDateOptions())) << where;
      ++supersets;
    } else {
      EXPECT_THROW(it->second.Render(context, FixedDateOptions()), TemplateError)
          << where << " should fail as in Python: " << render["error"];
      ++both_raise;
    }
  }
  EXPECT_EQ(compiled.size(), 65u);
  EXPECT_EQ(same, 618);
  EXPECT_EQ(both_raise, 87);
  EXPECT_EQ(supersets, static_cast<int>(KnownSupersets().size()));
}

TEST(FixtureTemplates, EveryTemplateCompilesAndRendersASimpleConversation) {
  const auto conversation = ReadJson(kOracle)["conversations"]["simple"];
  // Templates that legitimately refuse this conversation.
  const std::map<std::string, std::string> refusals = {
      // Gemma 2 has no system role and says so with raise_exception.
      {"google-gemma-2-2b-it.jinja", "System role not supported"},
      // Firefunction v2 needs `functions` (the tool list as JSON text) and `datetime`; it is
      // rendered with them below.
      {"fireworks-ai-llama-3-firefunction-v2.jinja", "'functions' is undefined"},
  };
  const auto names = TemplateNames();
  EXPECT_EQ(names.size(), 65u);
  for (const std::string& name : names) {
    const Template tmpl = Template::Compile(ReadFile(kTemplates + "/" + name));
    const auto refusal = refusals.find(name);
    if (refusal != refusals.end()) {
      try {
        tmpl.Render(conversation, FixedDateOptions());
        ADD_FAILURE() << name << " should refuse the conversation";
      } catch (const TemplateError& e) {
        EXPECT_EQ(e.detail(), refusal->second) << name;
      }
      continue;
    }
    const std::string out = tmpl.Render(conversation, FixedDateOptions());
    for (const auto& message : conversation["messages"]) {
      EXPECT_NE(out.find(message["content"].get<std::string>()), std::string::npos)
          << name << " lost a message: " << out;
    }
  }
}

TEST(FixtureTemplates, FirefunctionRendersWithItsExtraVariables) {
  auto context = ReadJson(kOracle)["conversations"]["simple"];
  context["functions"] = "[{\"name\": \"get_weather\"}]";
  context["datetime"] = "2024-07-26";
  const Template tmpl =
      Template::Compile(ReadFile(kTemplates + "/fireworks-ai-llama-3-firefunction-v2.jinja"));
  const std::string out = tmpl.Render(context, FixedDateOptions());
  EXPECT_NE(out.find("Available functions as JSON spec:\n[{\"name\": \"get_weather\"}]"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("Today is 2024-07-26."), std::string::npos) << out;
  EXPECT_NE(out.find("Tell me a joke."), std::string::npos) << out;
}

TEST(FixtureTemplates, GemmaRaisesTheTemplatesOwnMessage) {
  const Template tmpl = Template::Compile(ReadFile(kTemplates + "/google-gemma-2-2b-it.jinja"));
  const auto context = ReadJson(kOracle)["conversations"]["simple"];
  try {
    tmpl.Render(context, FixedDateOptions());
    FAIL() << "expected raise_exception";
  } catch (const TemplateError& e) {
    EXPECT_EQ(e.kind(), TemplateError::Kind::kRaised);
    EXPECT_EQ(e.detail(), "System role not supported");
    EXPECT_GT(e.line(), 0);
  }
}

}  // namespace
}  // namespace kiln::jinja
