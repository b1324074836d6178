#include "oracle.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace kiln::model::testing {
namespace {

OracleDistribution ParseTop(const nlohmann::json& top, double margin) {
  OracleDistribution d;
  for (const auto& entry : top) d.top.emplace_back(entry[0].get<int>(), entry[1].get<double>());
  d.margin = margin;
  return d;
}

}  // namespace

Oracle LoadOracle(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  nlohmann::json j = nlohmann::json::parse(in);
  Oracle o;
  o.model = j.at("model").get<std::string>();
  o.peer_max_logprob_dev = j.at("peer_max_logprob_dev").get<double>();
  for (const auto& jc : j.at("cases")) {
    OracleCase c;
    c.prompt = jc.at("prompt").get<std::string>();
    c.prompt_ids = jc.at("prompt_ids").get<std::vector<int>>();
    c.input = c.prompt_ids;
    for (const auto& top : jc.at("prompt_top")) {
      // prompt_top carries no margin; the gap between its first two entries is the same thing.
      c.expected.push_back(ParseTop(top, top[0][1].get<double>() - top[1][1].get<double>()));
    }
    for (const auto& step : jc.at("steps")) {
      c.step_tokens.push_back(step.at("token").get<int>());
      c.expected.push_back(ParseTop(step.at("top"), step.at("margin").get<double>()));
    }
    c.input.insert(c.input.end(), c.step_tokens.begin(), c.step_tokens.end() - 1);
    if (c.expected.size() != c.input.size()) {
      throw std::runtime_error("oracle case '" + c.prompt + "' has inconsistent lengths");
    }
    o.cases.push_back(std::move(c));
  }
  return o;
}

Comparison Compare(std::span<const float> logits, const OracleDistribution& expected) {
  double max = -INFINITY;
  int argmax = 0;
  for (std::size_t i = 0; i < logits.size(); ++i) {
    if (logits[i] > max) {
      max = logits[i];
      argmax = static_cast<int>(i);
    }
  }
  double sum = 0;
  for (float z : logits) sum += std::exp(static_cast<double>(z) - max);
  const double log_sum = max + std::log(sum);

  Comparison c;
  c.engine_argmax = argmax;
  for (const auto& [token, logprob] : expected.top) {
    const double deviation = std::abs(static_cast<double>(logits[token]) - log_sum - logprob);
    // NaN never compares greater, so it must be caught explicitly.
    c.worst = std::isfinite(deviation) ? std::max(c.worst, deviation) : INFINITY;
  }
  c.argmax_required = expected.margin >= 0.25;
  c.argmax_ok = !c.argmax_required || argmax == expected.top[0].first;
  return c;
}

}  // namespace kiln::model::testing
