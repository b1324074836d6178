// seed_openai_request DIR: writes valid and nearly-valid request bodies for fuzz_openai_request
// (first byte: the endpoint, as the target reads it).
#include <fstream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const std::vector<std::pair<char, std::string>> seeds = {
      {0, R"({"model": "m", "messages": [{"role": "user", "content": "Hello!"}]})"},
      {0, R"({"model": "m", "messages": [{"role": "system", "content": "Be brief."},
             {"role": "user", "content": [{"type": "text", "text": "Hi"}]},
             {"role": "assistant", "content": null}, {"role": "user", "content": "again"}],
             "temperature": 0.7, "top_p": 0.9, "n": 2, "stop": ["\n", "END"], "max_tokens": 16,
             "presence_penalty": 0.5, "frequency_penalty": 0.1, "logit_bias": {"50256": -100},
             "logprobs": true, "top_logprobs": 3, "seed": 42, "user": "u", "stream": true,
             "stream_options": {"include_usage": true}, "top_k": 40, "min_p": 0.05,
             "repetition_penalty": 1.1, "ignore_eos": false,
             "chat_template_kwargs": {"enable_thinking": false}})"},
      {0, R"({"model": "m", "messages": [{"role": "user", "content": "x"}], "tools": [{"type":
             "function", "function": {"name": "f"}}], "response_format": {"type": "json_object"}})"},
      {1, R"({"model": "m", "prompt": "Once upon a time", "max_tokens": 8, "logprobs": 2})"},
      {1, R"({"model": "m", "prompt": [[15496, 11], [40]], "n": 2, "stop": "x", "echo": false})"},
      {1, R"({"model": "m", "prompt": ["a", "<|im_start|>b"], "best_of": 1, "suffix": ""})"},
      {2, R"({"model": "m", "input": ["hello", "world"], "encoding_format": "base64"})"},
      {2, R"({"model": "m", "input": [1, 2, 3], "dimensions": 4})"},
      {3, R"({"prompt": "Hello <|im_end|>", "add_special_tokens": false})"},
      {3, R"({"messages": [{"role": "user", "content": "Hi"}], "add_generation_prompt": true})"},
      {4, R"({"tokens": [15496, 11, 995, 50257]})"},
      {5, R"({"messages": [{"role": "user", "content": "Hi"}], "tools": [{"type": "function",
             "function": {"name": "get_weather", "parameters": {"type": "object"}}}]})"},
  };
  for (std::size_t i = 0; i < seeds.size(); ++i) {
    std::ofstream out(std::string(argv[1]) + "/seed-" + std::to_string(i), std::ios::binary);
    out.put(seeds[i].first);
    out << seeds[i].second;
  }
  return 0;
}
