// One compiled template rendered from many threads at once: renders share the syntax tree and
// nothing else, so every thread must get exactly the single-threaded output.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "render_helpers.h"

namespace kiln::jinja {
namespace {

TEST(Threads, ConcurrentRendersOfOneTemplateAgree) {
  const Template tmpl = Template::Compile(
      "{% set ns = namespace(n=0, seen=[]) %}"
      "{% macro show(m) %}<{{ m.role }}:{{ m.content | trim }}>{% endmacro %}"
      "{% for m in messages %}{% set ns.n = ns.n + 1 %}{% set _ = ns.seen.append(m.role) %}"
      "{{ show(m) }}{% endfor %}{{ ns.n }}{{ ns.seen | unique | list }}{{ tools | tojson }}"
      "{{ strftime_now('%Y') }}");
  std::vector<nlohmann::ordered_json> contexts;
  std::vector<std::string> expected;
  for (int t = 0; t < 8; ++t) {
    nlohmann::ordered_json context;
    for (int i = 0; i <= t; ++i) {
      context["messages"].push_back({{"role", i % 2 ? "assistant" : "user"},
                                     {"content", " message " + std::to_string(i) + " "}});
    }
    context["tools"] = nlohmann::ordered_json::array({{{"name", "t" + std::to_string(t)}}});
    contexts.push_back(context);
    expected.push_back(tmpl.Render(context, testing::FixedDateOptions()));
  }
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 200; ++round) {
        if (tmpl.Render(contexts[t], testing::FixedDateOptions()) != expected[t]) ++mismatches;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_EQ(expected[1],
            "<user:message 0><assistant:message 1>2['user', 'assistant'][{\"name\": \"t1\"}]2024");
}

}  // namespace
}  // namespace kiln::jinja
