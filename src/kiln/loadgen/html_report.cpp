#include "kiln/loadgen/html_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>

#include "kiln/base/error.h"

namespace kiln::loadgen {
namespace {

constexpr const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd"};
constexpr double kW = 560, kH = 300, kLeft = 64, kRight = 16, kTop = 34, kBottom = 44;

std::string Escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// A "nice" axis maximum (1, 2 or 5 times a power of ten) at or above `v`.
double NiceMax(double v) {
  if (!(v > 0)) return 1;
  const double p = std::pow(10.0, std::floor(std::log10(v)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * p >= v) return m * p;
  }
  return 10 * p;
}

std::string Frame(const std::string& id, const std::string& title, const std::string& y_label,
                  double y_max) {
  std::string svg = fmt::format(
      "<svg class=\"chart\" id=\"{}\" viewBox=\"0 0 {} {}\" width=\"{}\" height=\"{}\" "
      "xmlns=\"http://www.w3.org/2000/svg\">\n<text x=\"{}\" y=\"20\" class=\"title\">{}</text>\n"
      "<text x=\"14\" y=\"{}\" class=\"axis\" transform=\"rotate(-90 14 {})\">{}</text>\n",
      id, kW, kH, kW, kH, kLeft, Escape(title), (kTop + kH - kBottom) / 2,
      (kTop + kH - kBottom) / 2, Escape(y_label));
  for (int i = 0; i <= 4; ++i) {
    const double y = kH - kBottom - (kH - kBottom - kTop) * i / 4.0;
    svg += fmt::format(
        "<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" class=\"grid\"/><text x=\"{}\" "
        "y=\"{:.1f}\" class=\"tick\" text-anchor=\"end\">{:.4g}</text>\n",
        kLeft, kW - kRight, y, y, kLeft - 4, y + 4, y_max * i / 4.0);
  }
  return svg;
}

struct Series {
  std::string name;
  std::vector<double> values;
};

// Categorical x (one point per level, evenly spaced), linear y from 0.
std::string LineChart(const std::string& id, const std::string& title, const std::string& y_label,
                      const std::vector<std::string>& x_labels, const std::vector<Series>& series) {
  double top = 0;
  for (const Series& s : series) {
    for (double v : s.values) top = std::max(top, v);
  }
  const double y_max = NiceMax(top);
  std::string svg = Frame(id, title, y_label, y_max);
  const std::size_t n = x_labels.size();
  auto x_at = [&](std::size_t i) {
    const double span = kW - kLeft - kRight - 40;
    return kLeft + 20 + (n > 1 ? span * i / (n - 1) : span / 2);
  };
  auto y_at = [&](double v) { return kH - kBottom - (kH - kBottom - kTop) * v / y_max; };
  for (std::size_t i = 0; i < n; ++i) {
    svg +=
        fmt::format("<text x=\"{:.1f}\" y=\"{}\" class=\"tick\" text-anchor=\"middle\">{}</text>\n",
                    x_at(i), kH - kBottom + 16, Escape(x_labels[i]));
  }
  for (std::size_t k = 0; k < series.size(); ++k) {
    const char* color = kColors[k % std::size(kColors)];
    std::string points;
    for (std::size_t i = 0; i < series[k].values.size(); ++i) {
      points += fmt::format("{:.1f},{:.1f} ", x_at(i), y_at(series[k].values[i]));
    }
    svg += fmt::format(
        "<polyline class=\"series\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\" "
        "points=\"{}\"/>\n",
        color, points);
    for (std::size_t i = 0; i < series[k].values.size(); ++i) {
      svg += fmt::format(
          "<circle class=\"mark\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3.5\" fill=\"{}\" "
          "data-value=\"{:.6g}\"><title>{} {}: {:.4g}</title></circle>\n",
          x_at(i), y_at(series[k].values[i]), color, series[k].values[i], Escape(series[k].name),
          Escape(x_labels[i]), series[k].values[i]);
    }
    svg += fmt::format(
        "<rect x=\"{:.0f}\" y=\"{}\" width=\"10\" height=\"10\" fill=\"{}\"/>"
        "<text x=\"{:.0f}\" y=\"{}\" class=\"legend\">{}</text>\n",
        kLeft + 10 + 130.0 * k, kH - 14, color, kLeft + 24 + 130.0 * k, kH - 5,
        Escape(series[k].name));
  }
  return svg + "</svg>\n";
}

// A histogram of `values` in 20 equal bins from 0 to the maximum.
std::string Histogram(const std::string& id, const std::string& title, const std::string& x_label,
                      const std::vector<double>& values) {
  constexpr int kBins = 20;
  const double hi = values.empty() ? 1 : NiceMax(*std::max_element(values.begin(), values.end()));
  std::vector<int> counts(kBins, 0);
  for (double v : values) {
    counts[std::clamp(static_cast<int>(v / hi * kBins), 0, kBins - 1)]++;
  }
  const int top = std::max(1, *std::max_element(counts.begin(), counts.end()));
  const double y_max = NiceMax(top);
  std::string svg = Frame(id, title, "requests", y_max);
  const double bw = (kW - kLeft - kRight) / kBins;
  for (int b = 0; b < kBins; ++b) {
    const double h = (kH - kBottom - kTop) * counts[b] / y_max;
    svg += fmt::format(
        "<rect class=\"bar\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" "
        "fill=\"{}\" data-count=\"{}\"><title>{:.4g}-{:.4g} ms: {}</title></rect>\n",
        kLeft + b * bw + 1, kH - kBottom - h, bw - 2, h, kColors[0], counts[b], hi * b / kBins,
        hi * (b + 1) / kBins, counts[b]);
  }
  for (int i = 0; i <= 4; ++i) {
    svg += fmt::format(
        "<text x=\"{:.1f}\" y=\"{}\" class=\"tick\" text-anchor=\"middle\">{:.4g}</text>\n",
        kLeft + (kW - kLeft - kRight) * i / 4.0, kH - kBottom + 16, hi * i / 4.0);
  }
  svg +=
      fmt::format("<text x=\"{:.0f}\" y=\"{}\" class=\"axis\" text-anchor=\"middle\">{}</text>\n",
                  (kW + kLeft) / 2, kH - 8, Escape(x_label));
  return svg + "</svg>\n";
}

constexpr const char* kStyle = R"(
body{font-family:system-ui,sans-serif;margin:24px;color:#222;background:#fff}
h1{font-size:22px} h2{font-size:17px;margin-top:28px}
.charts{display:flex;flex-wrap:wrap;gap:16px}
svg.chart{border:1px solid #ddd;border-radius:4px;background:#fcfcfc}
.title{font-size:14px;font-weight:600} .axis{font-size:12px;fill:#444} .tick{font-size:11px;fill:#555}
.legend{font-size:11px} .grid{stroke:#e5e5e5}
table{border-collapse:collapse;font-size:13px} td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}
th{background:#f3f3f3} td.l{text-align:left}
)";

// Once laid out, records each chart's drawn marks and their size on <body data-rendered>, so a
// headless browser (the report's test) can tell that the charts really render.
constexpr const char* kRenderCheck = R"(
window.addEventListener('load', function () {
  var out = [];
  document.querySelectorAll('svg.chart').forEach(function (svg) {
    var marks = svg.querySelectorAll('.mark, .bar');
    var drawn = 0;
    marks.forEach(function (m) { var b = m.getBBox(); if (b.width > 0 && b.height > 0) drawn++; });
    var box = svg.getBoundingClientRect();
    out.push(svg.id + ':' + marks.length + ':' + drawn + ':' + Math.round(box.width) + 'x' +
             Math.round(box.height));
  });
  document.body.setAttribute('data-rendered', out.join(' '));
});
)";

}  // namespace

std::string RenderHtmlReport(const BenchReport& report) {
  std::vector<std::string> labels;
  Series req{"requests/s", {}}, out_tps{"output tok/s", {}}, tot_tps{"total tok/s", {}};
  Series t50{"TTFT p50", {}}, t90{"TTFT p90", {}}, t99{"TTFT p99", {}};
  Series p50{"TPOT p50", {}}, p90{"TPOT p90", {}}, p99{"TPOT p99", {}};
  for (const LevelResult& level : report.levels) {
    const LevelSummary& s = level.summary;
    labels.push_back(LevelLabel(s));
    req.values.push_back(s.request_throughput);
    out_tps.values.push_back(s.output_throughput);
    tot_tps.values.push_back(s.total_throughput);
    t50.values.push_back(s.ttft_ms.median);
    t90.values.push_back(s.ttft_ms.p90);
    t99.values.push_back(s.ttft_ms.p99);
    p50.values.push_back(s.tpot_ms.median);
    p90.values.push_back(s.tpot_ms.p90);
    p99.values.push_back(s.tpot_ms.p99);
  }
  const std::string model = report.settings.value("model", "");
  const std::string url = report.settings.value("url", "");
  std::string html = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>kiln bench: {}"
      "</title>\n<style>{}</style></head>\n<body>\n<h1>kiln bench serve: {} at {}</h1>\n"
      "<h2>Throughput and latency</h2>\n<div class=\"charts\">\n",
      Escape(model), kStyle, Escape(model), Escape(url));
  html += LineChart("throughput", "Throughput vs load", "tokens/s", labels, {out_tps, tot_tps});
  html += LineChart("requests", "Requests/s vs load", "requests/s", labels, {req});
  html += LineChart("ttft", "TTFT percentiles vs load", "ms", labels, {t50, t90, t99});
  html += LineChart("tpot", "TPOT percentiles vs load", "ms", labels, {p50, p90, p99});
  html += "</div>\n<h2>TTFT distribution</h2>\n<div class=\"charts\">\n";
  for (std::size_t i = 0; i < report.levels.size(); ++i) {
    std::vector<double> ttft;
    for (const RequestRecord& r : report.levels[i].records) {
      if (r.ok) ttft.push_back(r.ttft_s * 1e3);
    }
    html += Histogram(fmt::format("ttft-hist-{}", i), "TTFT at " + labels[i], "TTFT (ms)", ttft);
  }
  html +=
      "</div>\n<h2>Summary (latencies in ms)</h2>\n<table>\n<tr><th>level</th><th>ok</th>"
      "<th>failed</th><th>req/s</th><th>out tok/s</th><th>total tok/s</th><th>TTFT mean</th>"
      "<th>TTFT p50</th><th>TTFT p90</th><th>TTFT p99</th><th>TPOT mean</th><th>TPOT p99</th>"
      "<th>ITL p50</th><th>ITL p99</th><th>E2E mean</th><th>E2E p99</th><th>goodput</th></tr>\n";
  for (const LevelResult& level : report.levels) {
    const LevelSummary& s = level.summary;
    html += fmt::format(
        "<tr><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{:.2f}</td><td>{:.1f}</td>"
        "<td>{:.1f}</td><td>{:.1f}</td><td>{:.1f}</td><td>{:.1f}</td><td>{:.1f}</td><td>{:.2f}"
        "</td><td>{:.2f}</td><td>{:.2f}</td><td>{:.2f}</td><td>{:.1f}</td><td>{:.1f}</td>"
        "<td>{:.2f}</td></tr>\n",
        Escape(LevelLabel(s)), s.completed, s.failed, s.request_throughput, s.output_throughput,
        s.total_throughput, s.ttft_ms.mean, s.ttft_ms.median, s.ttft_ms.p90, s.ttft_ms.p99,
        s.tpot_ms.mean, s.tpot_ms.p99, s.itl_ms.median, s.itl_ms.p99, s.e2e_ms.mean, s.e2e_ms.p99,
        s.goodput);
  }
  html += "</table>\n<h2>Settings</h2>\n<table>\n";
  for (const auto& [key, value] : report.settings.items()) {
    html += fmt::format("<tr><td class=\"l\">{}</td><td class=\"l\">{}</td></tr>\n", Escape(key),
                        Escape(value.is_string() ? value.get<std::string>() : value.dump()));
  }
  html += fmt::format("</table>\n<script>{}</script>\n</body></html>\n", kRenderCheck);
  return html;
}

void WriteHtmlReport(const BenchReport& report, const std::string& path) {
  std::ofstream out(path);
  out << RenderHtmlReport(report);
  if (!out) Fail("cannot write HTML report '{}'", path);
}

}  // namespace kiln::loadgen
