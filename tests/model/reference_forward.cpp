#include "reference_forward.h"

#include <algorithm>
#include <cmath>

#include "kiln/kernels/dequantize.h"

namespace kiln::model::testing {
namespace {

using Vec = std::vector<double>;

// y = W x for W [rows][cols].
Vec MatVec(const Vec& w, const Vec& x) {
  const std::size_t cols = x.size(), rows = w.size() / cols;
  Vec y(rows, 0.0);
  for (std::size_t r = 0; r < rows; ++r) {
    double s = 0;
    for (std::size_t c = 0; c < cols; ++c) s += w[r * cols + c] * x[c];
    y[r] = s;
  }
  return y;
}

Vec RmsNorm(const double* x, std::size_t n, const Vec& weight, double eps) {
  double ss = 0;
  for (std::size_t i = 0; i < n; ++i) ss += x[i] * x[i];
  const double inv = 1.0 / std::sqrt(ss / n + eps);
  Vec out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = x[i] * inv * weight[i];
  return out;
}

void Rotate(double* head, const RopeConfig& rope, const Vec& freq_factors, int position) {
  const int pairs = rope.dimension_count / 2;
  const double scale = rope.scaling == RopeScaling::kLinear ? 1.0 / rope.factor : 1.0;
  for (int i = 0; i < pairs; ++i) {
    double speed = std::pow(rope.freq_base, -2.0 * i / rope.dimension_count) * scale;
    if (!freq_factors.empty()) speed /= freq_factors[i];
    const double theta = position * speed, c = std::cos(theta), s = std::sin(theta);
    const int a = rope.style == RopeStyle::kNormal ? 2 * i : i;
    const int b = rope.style == RopeStyle::kNormal ? 2 * i + 1 : i + pairs;
    const double x = head[a], y = head[b];
    head[a] = x * c - y * s;
    head[b] = x * s + y * c;
  }
}

}  // namespace

ReferenceForward::ReferenceForward(const std::string& path)
    : file_(gguf::GgufFile::Open(path)), config_(ReadModelConfig(file_)) {
  embedding_ = Load("token_embd.weight");
  output_ = file_.FindTensor("output.weight") ? Load("output.weight") : embedding_;
  output_norm_ = Load("output_norm.weight");
  rope_freqs_ = LoadOptional("rope_freqs.weight");
  for (int i = 0; i < config_.block_count; ++i) {
    auto n = [i](const char* role) { return "blk." + std::to_string(i) + "." + role; };
    Layer l;
    l.attn_norm = Load(n("attn_norm.weight"));
    l.ffn_norm = Load(n("ffn_norm.weight"));
    l.q_bias = LoadOptional(n("attn_q.bias"));
    l.k_bias = LoadOptional(n("attn_k.bias"));
    l.v_bias = LoadOptional(n("attn_v.bias"));
    l.q_norm = LoadOptional(n("attn_q_norm.weight"));
    l.k_norm = LoadOptional(n("attn_k_norm.weight"));
    l.wq = Load(n("attn_q.weight"));
    l.wk = Load(n("attn_k.weight"));
    l.wv = Load(n("attn_v.weight"));
    l.wo = Load(n("attn_output.weight"));
    l.gate = Load(n("ffn_gate.weight"));
    l.up = Load(n("ffn_up.weight"));
    l.down = Load(n("ffn_down.weight"));
    layers_.push_back(std::move(l));
  }
}

ReferenceForward::Matrix ReferenceForward::Load(const std::string& name) const {
  const gguf::TensorInfo& t = file_.RequireTensor(name);
  const std::int64_t cols = static_cast<std::int64_t>(t.shape[0]);
  const std::int64_t rows = static_cast<std::int64_t>(t.rows());
  const std::size_t row_bytes = kernels::RowSizeBytes(t.type, cols);
  std::vector<float> row(cols);
  Matrix m(static_cast<std::size_t>(rows * cols));
  for (std::int64_t r = 0; r < rows; ++r) {
    kernels::DequantizeRow(t.type, t.data + r * row_bytes, row.data(), cols);
    std::copy(row.begin(), row.end(), m.begin() + r * cols);
  }
  return m;
}

std::vector<double> ReferenceForward::LoadOptional(const std::string& name) const {
  return file_.FindTensor(name) ? Load(name) : std::vector<double>{};
}

std::vector<std::vector<double>> ReferenceForward::LogProbs(const std::vector<int>& tokens) const {
  const ModelConfig& c = config_;
  const std::size_t embd = c.embedding_length, n = tokens.size();
  const int dk = c.key_length, dv = c.value_length;
  const int group = c.head_count / c.head_count_kv;
  const double eps = c.rms_epsilon;

  std::vector<Vec> x(n);
  for (std::size_t t = 0; t < n; ++t) {
    x[t].assign(embedding_.begin() + tokens[t] * embd, embedding_.begin() + (tokens[t] + 1) * embd);
  }
  for (const Layer& l : layers_) {
    std::vector<Vec> q(n), k(n), v(n);
    for (std::size_t t = 0; t < n; ++t) {
      Vec h = RmsNorm(x[t].data(), embd, l.attn_norm, eps);
      q[t] = MatVec(l.wq, h);
      k[t] = MatVec(l.wk, h);
      v[t] = MatVec(l.wv, h);
      for (std::size_t i = 0; i < l.q_bias.size(); ++i) q[t][i] += l.q_bias[i];
      for (std::size_t i = 0; i < l.k_bias.size(); ++i) k[t][i] += l.k_bias[i];
      for (std::size_t i = 0; i < l.v_bias.size(); ++i) v[t][i] += l.v_bias[i];
      for (int h = 0; h < c.head_count; ++h) {
        double* head = q[t].data() + h * dk;
        if (!l.q_norm.empty()) std::copy_n(RmsNorm(head, dk, l.q_norm, eps).begin(), dk, head);
        Rotate(head, c.rope, rope_freqs_, static_cast<int>(t));
      }
      for (int h = 0; h < c.head_count_kv; ++h) {
        double* head = k[t].data() + h * dk;
        if (!l.k_norm.empty()) std::copy_n(RmsNorm(head, dk, l.k_norm, eps).begin(), dk, head);
        Rotate(head, c.rope, rope_freqs_, static_cast<int>(t));
      }
    }
    for (std::size_t t = 0; t < n; ++t) {
      Vec attn(static_cast<std::size_t>(c.head_count) * dv, 0.0);
      for (int h = 0; h < c.head_count; ++h) {
        const int kvh = h / group;
        Vec scores(t + 1);
        for (std::size_t s = 0; s <= t; ++s) {
          double dot = 0;
          for (int i = 0; i < dk; ++i) dot += q[t][h * dk + i] * k[s][kvh * dk + i];
          scores[s] = dot / std::sqrt(static_cast<double>(dk));
        }
        const double mx = *std::max_element(scores.begin(), scores.end());
        double sum = 0;
        for (double& s : scores) sum += (s = std::exp(s - mx));
        for (std::size_t s = 0; s <= t; ++s) {
          for (int i = 0; i < dv; ++i) attn[h * dv + i] += scores[s] / sum * v[s][kvh * dv + i];
        }
      }
      Vec o = MatVec(l.wo, attn);
      for (std::size_t i = 0; i < embd; ++i) x[t][i] += o[i];
      Vec h = RmsNorm(x[t].data(), embd, l.ffn_norm, eps);
      Vec g = MatVec(l.gate, h), u = MatVec(l.up, h);
      for (std::size_t i = 0; i < g.size(); ++i) g[i] = g[i] / (1.0 + std::exp(-g[i])) * u[i];
      Vec d = MatVec(l.down, g);
      for (std::size_t i = 0; i < embd; ++i) x[t][i] += d[i];
    }
  }
  std::vector<Vec> out(n);
  for (std::size_t t = 0; t < n; ++t) {
    Vec logits = MatVec(output_, RmsNorm(x[t].data(), embd, output_norm_, eps));
    const double mx = *std::max_element(logits.begin(), logits.end());
    double sum = 0;
    for (double z : logits) sum += std::exp(z - mx);
    const double log_sum = mx + std::log(sum);
    for (double& z : logits) z -= log_sum;
    out[t] = std::move(logits);
  }
  return out;
}

}  // namespace kiln::model::testing
